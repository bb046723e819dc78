// Types of incwo-connector-wasm: the same surface from the node and the web entry points.
import type {
  BatchRecord,
  ConnectionConfig,
  ErrorPayload,
  FlowStartArgs,
  IndexChanges,
  IndexProgress,
  MapResult,
  ValidationReport,
} from './web/incwo_wasm.js';
// The flow's messages, generated from the core's types (`cargo run -p incwo-schema-gen`).
import type {
  Action,
  ChangedEntries,
  FlowEvent,
  FlowReport,
  HttpRequest,
  HttpResponse,
  LedgerEntry,
  Outcome,
  Summary,
  TransportFailure,
  Violation,
} from './flow-messages.js';

export type * from './flow-messages.js';
export type { BatchRecord, ConnectionConfig, ErrorPayload, FlowStartArgs, IndexChanges, IndexProgress, MapResult, ValidationReport };

/** Base class of every error thrown by the connector. */
export declare class IncwoError extends Error {
  constructor(payload: ErrorPayload, document?: Record<string, unknown>);
  /** `usage` | `contract` | `technical` | `business`. */
  readonly class: ErrorPayload['class'];
  /** Stable code, e.g. `contract.invalid`. */
  readonly code: string;
  readonly hint?: string;
  /** Contract violations (`[]` when none). */
  readonly violations: Violation[];
  readonly problems?: unknown[];
  readonly details?: unknown;
  /** The HTTP status of the core's answer, when it carried one (an `inbound.webhook` refusal). */
  readonly status?: number;
  /** The core's whole answer (`{status, error}`), when it held more than the error. */
  readonly document?: Record<string, unknown>;
  /** The core's JSON payload. */
  toJSON(): ErrorPayload;
}
/** Misuse of the API (bad JSON, unknown kind, unknown request id). */
export declare class UsageError extends IncwoError {}
/** The record breaks the contract; see `violations`. */
export declare class ContractError extends IncwoError {}
/** Transport failures, timeouts, 429, 5xx, authentication. */
export declare class TechnicalError extends IncwoError {}
/** Forbidden by the business state. */
export declare class BusinessError extends IncwoError {}
/** An inbound webhook refused by the core's intake; `status` is the HTTP status to answer. */
export declare class InboundError extends IncwoError {}

/** The typed error for a core error payload. */
export declare function errorFromPayload(payload: ErrorPayload, document?: Record<string, unknown>): IncwoError;
/** What the caller of `fetch` saw of a failed request. */
export interface FailureContext {
  /** Its own timeout (abort) fired. */
  timedOut?: boolean;
  /** The response had begun (headers received): the request was sent. */
  responded?: boolean;
  /** The request's URL (its scheme tells a TLS handshake from a TCP connect). */
  url?: string;
}
/**
 * Maps a failed `fetch` to the core's transport failure `{kind, phase?}` from
 * error codes and the context, never from a message; no phase means `unknown`
 * (may have been sent).
 */
export declare function transportFailure(error: unknown, context?: FailureContext): TransportFailure;
/** Records `error` as raised while connecting (before any byte left); node's entry point does it from undici's diagnostics channel. */
export declare function noteConnectFailure(error: unknown): void;
/** Encodes bytes for the core's `bodyBase64` fields (raw bodies that may not be UTF-8). */
export declare function bytesToBase64(bytes: Uint8Array): string;

/** Checks a record against the contract. */
export declare function validate(kind: string, input: string | object, profile?: string | object | null): ValidationReport;
/** Maps a record to incwo XML; throws `ContractError` when invalid. */
export declare function map(kind: string, input: string | object, profile?: string | object | null): MapResult;
/** Reads an incwo XML document into its typed view. */
export declare function parse(resource: string, xml: string | Uint8Array): Record<string, unknown>;
/** The JSON Schema of a kind. */
export declare function schema(kind: string, profile?: string | object | null): Record<string, unknown>;
/** Checks a mapping profile (throws `UsageError` with `problems`). */
export declare function checkProfile(profile: string | object): Record<string, unknown>;
/**
 * `request`, `classify`, `retry`, `retry.decide`, `inbound.*`, `telemetry.*` calls (an `inbound.webhook` refusal throws an `InboundError` with its `status`).
 * `debug.panic` (`{message}`) is the self-test of the panic barrier: the module traps and the call throws a `UsageError`
 * with code `usage.internal_panic`; from then on every call of this instance throws the same error (reload the module:
 * a new process or worker). Never use it in production.
 */
export declare function call(name: string, args?: string | object): any;
/** The core's version. */
export declare function version(): string;

/** A flow session: drain `poll`, answer every `send`, save `checkpoint()` before sending. */
export declare class Flow {
  static start(args: FlowStartArgs): Flow;
  poll(now: number): Action;
  onResponse(requestId: number, response: HttpResponse, now: number): { ok: true };
  onTransportError(requestId: number, failure: TransportFailure, now: number): { ok: true };
  checkpoint(): string;
  /** The ledger entries changed since the last call (a create's pending entry before its send). */
  takeChangedEntries(): ChangedEntries;
  /** Loads the marker index saved beside the ledger (before the first poll); throws `UsageError` `usage.bad_index`. */
  loadIndex(index: string | IndexChanges): { ok: true };
  /** What changed in the marker index since the last call, saved in the same transaction as the ledger entries. */
  takeIndexChanges(): IndexChanges;
  /** The marker index passes in progress, for a progress display. */
  indexProgress(): IndexProgress;
  metrics(): string;
  summary(): FlowReport;
  /** Releases the session's wasm memory (idempotent); later calls throw `UsageError` `usage.invalid_handle`. */
  free(): void;
}

/** The part of a fetch `Response` the connector reads. */
export interface FetchResponseLike {
  status: number;
  headers: { forEach(callback: (value: string, name: string) => void): void };
  arrayBuffer(): Promise<ArrayBuffer>;
}
/** Any `fetch` (the global one in node 20 and in workers). */
export type FetchLike = (url: string, init?: any) => Promise<FetchResponseLike>;

/** `createConnector` settings. */
export interface ConnectorSettings {
  fetch: FetchLike;
  config: ConnectionConfig;
  profile?: string | Record<string, unknown>;
  options?: Record<string, unknown>;
  /** Per-request timeout (ms, default 30000); a timeout is reported as `{kind: "timeout"}` (phase unknown: may have been sent). */
  timeoutMs?: number;
  /** ms since the epoch (default `Date.now`). */
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Send `connection: close` so no connection is reused (default true). */
  freshConnections?: boolean;
  /** Longest single sleep on a `wait` action (ms, default 120000). */
  maxWaitMs?: number;
}

/** Hooks of a run. */
export interface DriveHooks {
  /** Receives the checkpoint before every send and after every action. */
  save?: (checkpoint: string) => void | Promise<void>;
  /** Receives the ledger entries changed since its last call (never empty), at the same points as `save`. */
  saveEntries?: (entries: LedgerEntry[]) => void | Promise<void>;
  publish?: (queue: string, event: FlowEvent) => void | Promise<void>;
  onAction?: (action: Action) => void | Promise<void>;
  /** Asked after every action; `true` stops the run (`'interrupted'`). */
  shouldStop?: (actions: number) => boolean | Promise<boolean>;
  /** Simulates a crash at this (1-based) action. */
  interruptAtAction?: number;
}

/** `sync` options. */
export interface SyncOptions extends DriveHooks {
  /** Resume from (or keep the ledger of) this checkpoint. */
  checkpoint?: string | null;
  /** Start with these ledger entries (from a per-entry store) when there is no checkpoint. */
  ledger?: LedgerEntry[] | string | null;
  /** Jitter seed (the host's choice). */
  seed?: number;
}

/** `sync` result. */
export interface SyncResult {
  status: 'done' | 'interrupted';
  summary: Summary;
  outcomes: Array<Outcome | null>;
  published: Array<{ queue: string; event: FlowEvent }>;
  requests: Record<string, number>;
  actions: number;
  /** The last checkpoint saved. */
  checkpoint: string | null;
  metrics: string;
}

/** Drives flows over `fetch`. */
export interface Connector {
  send(request: HttpRequest): Promise<{ response: HttpResponse } | { failure: TransportFailure }>;
  drive(flow: Flow, hooks?: DriveHooks): Promise<'done' | 'interrupted'>;
  start(
    batch: BatchRecord[] | string,
    options?: { checkpoint?: string | null; seed?: number; ledger?: LedgerEntry[] | string | null },
  ): Flow;
  sync(batch: BatchRecord[] | string, options?: SyncOptions): Promise<SyncResult>;
}

/** A connector driving the flow loop with `settings.fetch`. */
export declare function createConnector(settings: ConnectorSettings): Connector;

/** Initialises the WebAssembly module (needed once with the web entry; a no-op in node). */
export declare function init(moduleOrPath?: WebAssembly.Module | BufferSource | Response | URL | string): Promise<void>;
/** Synchronous `init` from a compiled module or bytes. */
export declare function initSync(module: WebAssembly.Module | BufferSource): void;
