// Node entry point of the lean module of incwo-connector-wasm
// (`incwo-connector-wasm/lean`): validate, map, mapBytes, mapMany and
// classify only, without the flow. Built with `wasm-bindgen --target
// nodejs`, loaded synchronously, so every export is ready on import.
import diagnostics from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import { bindLean, noteConnectFailure } from './layer.js';

// As in node.js: connect failures seen by fetch (undici), for transportFailure.
diagnostics.subscribe('undici:client:connectError', (message) => noteConnectFailure(message?.error));

const raw = createRequire(import.meta.url)('./lean-node/incwo_lean.js');
const api = bindLean(raw);

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
export const { validate, map, mapBytes, mapMany, classify, version } = api;

/** Nothing to do in node (the module is loaded on import); kept so code can call `init()` everywhere. */
export async function init() {}
/** Nothing to do in node; see `init`. */
export function initSync() {}
