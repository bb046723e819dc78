// Types of the lean module of incwo-connector-wasm (`incwo-connector-wasm/lean`):
// validate, map, mapBytes, mapMany and classify, the same from the node and
// the web entry points. The full module (`incwo-connector-wasm`) has all of
// it too (see api.d.ts).
import type {
  ErrorPayload,
  MapBytesResult,
  MapManyError,
  MapResult,
  ValidationReport,
} from './lean-web/incwo_lean.js';
import type { HttpResponse, Method, Operation, TransportFailure, Violation } from './flow-messages.js';

export type { ErrorPayload, MapBytesResult, MapManyError, MapResult, ValidationReport };

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

/** A record as the API takes it: its JSON text, the UTF-8 bytes of that text, or an object. */
export type RecordInput = string | Uint8Array | object;

/** Checks a record against the contract. */
export declare function validate(kind: string, input: RecordInput, profile?: string | object | null): ValidationReport;
/** Maps a record to incwo XML; throws `ContractError` when invalid. */
export declare function map(kind: string, input: RecordInput, profile?: string | object | null): MapResult;
/** `map` with the XML as UTF-8 bytes (no JS string made of it); throws `ContractError` when invalid. */
export declare function mapBytes(kind: string, input: RecordInput, profile?: string | object | null): MapBytesResult;
/** `mapMany` options. */
export interface MapManyOptions {
  /**
   * Each `xml` as a `Uint8Array` (UTF-8) instead of a string: views into one buffer holding the batch's XML
   * (copied out of the module once); `slice()` one to keep it without the others.
   */
  bytes?: boolean;
}
/**
 * Maps N records of one kind in one call into the module: one result per record, in order, each `map`'s
 * result or `{error}` (one bad record does not stop the others). `records`: an array, or one text /
 * `Uint8Array` holding a JSON array of records or JSON Lines (one record per line, blank lines skipped).
 */
export declare function mapMany(
  kind: string,
  records: RecordInput[] | string | Uint8Array,
  profile?: string | object | null,
  options?: MapManyOptions & { bytes?: false },
): Array<MapResult | MapManyError>;
export declare function mapMany(
  kind: string,
  records: RecordInput[] | string | Uint8Array,
  profile: string | object | null | undefined,
  options: MapManyOptions & { bytes: true },
): Array<MapBytesResult | MapManyError>;
/** `classify` arguments: the call and what came back (a response, or the transport failure). */
export interface ClassifyArgs {
  method: Method;
  endpoint: string;
  operation?: Operation;
  correlationId?: string;
  nowMs?: number;
  response?: HttpResponse;
  transport?: TransportFailure;
  table?: { overrides: Record<string, unknown> };
}
/** Classifies an HTTP answer or a transport failure: the classified error, or `null` for a 2xx response. */
export declare function classify(args: ClassifyArgs | string): Record<string, unknown> | null;
/** The core's version. */
export declare function version(): string;

/** Initialises the WebAssembly module (needed once with the web entry; a no-op in node). */
export declare function init(moduleOrPath?: WebAssembly.Module | BufferSource | Response | URL | string): Promise<void>;
/** Synchronous `init` from a compiled module or bytes. */
export declare function initSync(module: WebAssembly.Module | BufferSource): void;
