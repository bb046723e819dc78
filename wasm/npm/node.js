// Node entry point of incwo-connector-wasm: the module built with
// `wasm-bindgen --target nodejs` is loaded synchronously, so every export
// is ready on import.
import { createRequire } from 'node:module';
import { bind } from './layer.js';

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
  bytesToBase64,
} from './layer.js';
export const { validate, map, parse, schema, checkProfile, call, version, Flow, createConnector } = api;

/** Nothing to do in node (the module is loaded on import); kept so code can call `init()` everywhere. */
export async function init() {}
/** Nothing to do in node; see `init`. */
export function initSync() {}
