// Entry point of incwo-connector-wasm for bundlers and edge runtimes
// (Cloudflare Workers / workerd, browsers): built with `wasm-bindgen
// --target web`, so the module must be initialised explicitly once, with
// `await init(wasm)` or `initSync(wasm)`, before any other call.
//
// In a Worker module: `import wasm from 'incwo-connector-wasm/incwo.wasm';`
// (a compiled WebAssembly.Module) then `initSync(wasm)` or `await init(wasm)`.
import initRaw, * as raw from './web/incwo_wasm.js';
import { bind, UsageError } from './layer.js';

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

let api = null;

function ready() {
  if (!api) {
    throw new UsageError({
      class: 'usage',
      code: 'usage.not_initialised',
      message: 'the incwo WebAssembly module is not initialised',
      hint: 'call `await init(wasmModuleOrUrl)` (or `initSync(wasmModule)`) once before using the connector',
    });
  }
  return api;
}

/**
 * Initialises the module from a `WebAssembly.Module`, bytes, a `Response`,
 * a URL, or nothing (the .wasm next to this file, fetched by URL).
 * Idempotent.
 */
export async function init(moduleOrPath) {
  if (!api) {
    await initRaw(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath });
    api = bind(raw);
  }
}

/** Synchronous `init` from a `WebAssembly.Module` or bytes. Idempotent. */
export function initSync(module) {
  if (!api) {
    raw.initSync({ module });
    api = bind(raw);
  }
}

export const validate = (...args) => ready().validate(...args);
export const map = (...args) => ready().map(...args);
export const mapBytes = (...args) => ready().mapBytes(...args);
export const mapMany = (...args) => ready().mapMany(...args);
export const classify = (...args) => ready().classify(...args);
export const parse = (...args) => ready().parse(...args);
export const schema = (...args) => ready().schema(...args);
export const checkProfile = (...args) => ready().checkProfile(...args);
export const call = (...args) => ready().call(...args);
export const version = () => ready().version();
export const createConnector = (settings) => ready().createConnector(settings);
/** The flow session (see `Flow` in the node entry). */
export const Flow = {
  start: (args) => ready().Flow.start(args),
};
