// Entry point of the lean module of incwo-connector-wasm
// (`incwo-connector-wasm/lean`) for bundlers and edge runtimes (Cloudflare
// Workers / workerd, browsers): validate, map, mapBytes, mapMany and
// classify only, without the flow. Built with `wasm-bindgen --target web`:
// initialise it once, with `await init(wasm)` or `initSync(wasm)`, before
// any other call.
//
// In a Worker module: `import wasm from 'incwo-connector-wasm/lean.wasm';`
// then `initSync(wasm)` or `await init(wasm)`.
import initRaw, * as raw from './lean-web/incwo_lean.js';
import { bindLean, UsageError } from './layer.js';

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
      message: 'the incwo WebAssembly module (lean) is not initialised',
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
    api = bindLean(raw);
  }
}

/** Synchronous `init` from a `WebAssembly.Module` or bytes. Idempotent. */
export function initSync(module) {
  if (!api) {
    raw.initSync({ module });
    api = bindLean(raw);
  }
}

export const validate = (...args) => ready().validate(...args);
export const map = (...args) => ready().map(...args);
export const mapBytes = (...args) => ready().mapBytes(...args);
export const mapMany = (...args) => ready().mapMany(...args);
export const classify = (...args) => ready().classify(...args);
export const version = () => ready().version();
