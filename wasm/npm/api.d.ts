// Types of incwo-connector-wasm: the same surface from the node and the web entry points.
import type { BatchRecord, ConnectionConfig, FlowStartArgs, IndexChanges, IndexProgress } from './web/incwo_wasm.js';
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
} from './flow-messages.js';

export type * from './flow-messages.js';
export type { BatchRecord, ConnectionConfig, FlowStartArgs, IndexChanges, IndexProgress };
// The record path and the error classes: the same declarations as the lean module's.
export * from './lean.js';

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
  /** Receives the marker index's changes since its last call (never empty), at the same points, after `saveEntries`. */
  saveIndex?: (changes: IndexChanges) => void | Promise<void>;
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
  /** The marker index saved beside the ledger, loaded before the first poll. */
  index?: IndexChanges | string | null;
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
    options?: { checkpoint?: string | null; seed?: number; ledger?: LedgerEntry[] | string | null; index?: IndexChanges | string | null },
  ): Flow;
  sync(batch: BatchRecord[] | string, options?: SyncOptions): Promise<SyncResult>;
}

/** A connector driving the flow loop with `settings.fetch`. */
export declare function createConnector(settings: ConnectorSettings): Connector;

/** Initialises the WebAssembly module (needed once with the web entry; a no-op in node). */
export declare function init(moduleOrPath?: WebAssembly.Module | BufferSource | Response | URL | string): Promise<void>;
/** Synchronous `init` from a compiled module or bytes. */
export declare function initSync(module: WebAssembly.Module | BufferSource): void;
