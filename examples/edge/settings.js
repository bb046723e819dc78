// The Worker's settings (wrangler vars and secrets), read the same way by
// the Worker and its Durable Objects.
import { initSync, createConnector } from 'incwo-connector-wasm/web';
import wasmModule from 'incwo-connector-wasm/incwo.wasm';

/** Initialises the core once per isolate (idempotent). */
export function ready() {
  initSync(wasmModule);
}

/** The incwo connection (`INCWO_SERVER`, `INCWO_BUSINESS_FILE_ID`, `INCWO_LOGIN`, `INCWO_PASSWORD`). */
export function connectionConfig(env) {
  return {
    server: env.INCWO_SERVER,
    businessFileId: String(env.INCWO_BUSINESS_FILE_ID ?? ''),
    auth: { type: 'basic', login: env.INCWO_LOGIN, password: env.INCWO_PASSWORD },
    allowInsecureHttp: env.INCWO_ALLOW_INSECURE_HTTP === 'true',
  };
}

/** The flow options: `INCWO_FLOW_OPTIONS` (JSON) over `{company: INCWO_COMPANY}`. */
export function flowOptions(env) {
  return { company: env.INCWO_COMPANY ?? 'default', ...(env.INCWO_FLOW_OPTIONS ? JSON.parse(env.INCWO_FLOW_OPTIONS) : {}) };
}

/**
 * A connector over the runtime's `fetch`, with the configured timeout.
 * `extra`: flow options over the configured ones (`manualReplay` for a
 * quarantine replay).
 */
export function connectorFor(env, withFlow = true, extra = {}) {
  return createConnector({
    fetch: (url, init) => fetch(url, init),
    config: connectionConfig(env),
    ...(withFlow ? { profile: env.INCWO_PROFILE, options: { ...flowOptions(env), ...extra } } : {}),
    timeoutMs: Number(env.INCWO_TIMEOUT_MS ?? 10000),
  });
}
