// Node entry point of incwo-connector-wasm: the module built with
// `wasm-bindgen --target nodejs` is loaded synchronously, so every export
// is ready on import.
import diagnostics from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import { bind, noteConnectFailure } from './layer.js';

// fetch (undici) publishes the errors of the connections it could not open
// (TCP or TLS): a failure seen here happened before any request byte left.
diagnostics.subscribe('undici:client:connectError', (message) => noteConnectFailure(message?.error));

const raw = createRequire(import.meta.url)('./node/incwo_wasm.js');
const api = bind(raw);

export {
  IncwoError,
  UsageError,
  ContractError,
  TechnicalError,
  BusinessError,
  InboundError,
  errorFromPayload,
  transportFailure,
  noteConnectFailure,
  bytesToBase64,
} from './layer.js';
export const { validate, map, mapBytes, mapMany, classify, parse, schema, checkProfile, call, version, Flow, createConnector } = api;

/** Nothing to do in node (the module is loaded on import); kept so code can call `init()` everywhere. */
export async function init() {}
/** Nothing to do in node; see `init`. */
export function initSync() {}
