// Test harness of the edge example: the Worker in workerd through
// miniflare (Durable Objects, KV and a real loopback socket), talking real
// HTTP to incwo-sim.
import { before, after } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const EDGE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = path.resolve(EDGE, '../..');
// The package under test: the build in wasm/pkg, or an installed copy
// (INCWO_WASM_PKG, set by the install suite to node_modules/incwo-connector-wasm).
export const PKG = process.env.INCWO_WASM_PKG ?? path.join(ROOT, 'wasm/pkg');
// miniflare (and the workerd binary inside it) is installed with the wasm tooling.
const { Miniflare } = createRequire(path.join(ROOT, 'wasm/package.json'))('miniflare');
export const { startSim } = await import(path.join(ROOT, 'wasm/test/support.mjs'));

export const WEBHOOK_SECRET = 'whsec-edge-test';
export const ORDER_SECRET = 'ordsec-edge-test';
export const ADMIN_SECRET = 'admsec-edge-test';

/** A JSON file of examples/data. */
export function example(name) {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'examples/data', name), 'utf8'));
}

/** The Worker's modules and the package's, named as the Worker imports them. */
function modules() {
  const file = (name, type, source) => ({ type, path: path.join(EDGE, name), contents: fs.readFileSync(source) });
  return [
    { type: 'ESModule', path: path.join(EDGE, 'worker.js') },
    { type: 'ESModule', path: path.join(EDGE, 'settings.js') },
    { type: 'ESModule', path: path.join(EDGE, 'security.js') },
    { type: 'ESModule', path: path.join(EDGE, 'ledger-object.js') },
    { type: 'ESModule', path: path.join(EDGE, 'throttle-object.js') },
    { type: 'ESModule', path: path.join(EDGE, 'metrics-object.js') },
    { type: 'ESModule', path: path.join(EDGE, 'admin.js') },
    { type: 'ESModule', path: path.join(EDGE, 'quarantine-object.js') },
    { type: 'ESModule', path: path.join(EDGE, 'quarantine-admin.js') },
    { type: 'ESModule', path: path.join(EDGE, 'index-object.js') },
    file('incwo-connector-wasm/web', 'ESModule', path.join(PKG, 'web.js')),
    file('incwo-connector-wasm/layer.js', 'ESModule', path.join(PKG, 'layer.js')),
    file('incwo-connector-wasm/web/incwo_wasm.js', 'ESModule', path.join(PKG, 'web/incwo_wasm.js')),
    file('incwo-connector-wasm/incwo.wasm', 'CompiledWasm', path.join(PKG, 'web/incwo_wasm_bg.wasm')),
  ];
}

/**
 * Starts the Worker against `sim`. `bindings` override the defaults (a
 * value `undefined` removes the binding). Resolves to `{mf, url, logs,
 * post, entriesOf, indexStats, stop}`; `logs` collects the Worker's log lines.
 */
export async function startEdge(sim, bindings = {}) {
  const logs = [];
  const all = {
    INCWO_SERVER: sim.base,
    INCWO_BUSINESS_FILE_ID: '123456',
    INCWO_LOGIN: 'api@example.fr',
    INCWO_PASSWORD: 'secret',
    INCWO_COMPANY: 'acme',
    INCWO_TIMEOUT_MS: '5000',
    // Short backoffs so the faulted run ends within the test's time.
    INCWO_FLOW_OPTIONS: JSON.stringify({ retry: { baseDelayMs: 50, maxDelayMs: 200 } }),
    INCWO_WEBHOOK_SECRET: WEBHOOK_SECRET,
    INCWO_ORDER_SECRET: ORDER_SECRET,
    INCWO_ADMIN_SECRET: ADMIN_SECRET,
    INCWO_WEBHOOK_ALLOW: '127.0.0.1/32,185.16.44.0/24',
    ...bindings,
  };
  for (const [key, value] of Object.entries(all)) if (value === undefined) delete all[key];
  const mf = new Miniflare({
    modules: modules(),
    modulesRoot: EDGE,
    compatibilityDate: '2025-01-01',
    kvNamespaces: ['LEDGER'],
    durableObjects: {
      CUSTOMERS: { className: 'CustomerLedger', useSQLite: true },
      DIRECTORY: { className: 'LedgerDirectory', useSQLite: true },
      THROTTLE: { className: 'AuthThrottle', useSQLite: true },
      METRICS: { className: 'OperationsMetrics', useSQLite: true },
      QUARANTINE: { className: 'QuarantineStore', useSQLite: true },
      INDEX: { className: 'MarkerIndexStore', useSQLite: true },
    },
    // A real socket on loopback: the simulator posts its webhooks there.
    host: '127.0.0.1',
    port: 0,
    handleStructuredLogs: ({ message }) => {
      logs.push(message);
    },
    bindings: all,
  });
  const url = await mf.ready;
  /** POSTs `body` to /orders with `headers` (the order secret as bearer unless given). */
  async function post(body, headers = { authorization: `Bearer ${ORDER_SECRET}` }) {
    const res = await mf.dispatchFetch('http://edge.test/orders', {
      method: 'POST',
      // Else undici's fetch turns a 401 to a streamed body into a network error.
      credentials: 'omit',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  }
  /** The ledger entries stored by the object of `partitionKey`. */
  async function entriesOf(partitionKey) {
    const ns = await mf.getDurableObjectNamespace('CUSTOMERS');
    const res = await ns.get(ns.idFromName(partitionKey)).fetch('http://ledger/entries');
    return (await res.json()).entries;
  }
  /** What the marker index object stores: `{facts, bytes, coverage}`. */
  async function indexStats() {
    const ns = await mf.getDurableObjectNamespace('INDEX');
    const res = await ns.get(ns.idFromName('index')).fetch('http://index/stats');
    return res.json();
  }
  return { mf, url, logs, post, entriesOf, indexStats, stop: () => mf.dispose() };
}

/**
 * Registers the file's `before` and `after` hooks: a simulator and the
 * Worker against it, both stopped at the end. Returns the context
 * `{sim, edge, reset}`, filled in `before` (`reset` replaces `edge`).
 */
export function simAndEdge() {
  const ctx = {
    sim: undefined,
    edge: undefined,
    /** A fresh simulator and a fresh Worker (empty Durable Objects and KV). */
    async reset() {
      await ctx.sim.reset();
      await ctx.edge.stop();
      ctx.edge = await startEdge(ctx.sim);
    },
  };
  before(async () => {
    ctx.sim = await startSim();
    ctx.edge = await startEdge(ctx.sim);
  });
  after(async () => {
    await ctx.edge?.stop();
    await ctx.sim?.stop();
  });
  return ctx;
}

/** The brief's order as a shop sends it (no incwo quote behind it), its customer and its product. */
export function shopExamples() {
  const { sourceQuote: _quote, ...order } = example('order.json');
  return { order, customer: example('customer.json'), product: example('product.json') };
}

/**
 * A request to `worker` over its real socket, `token` (unless null or
 * undefined) as bearer and `body` as JSON: `{status, type, text, body, res}`
 * (`body` parsed when the answer is JSON).
 */
export async function socketFetch(worker, method, urlPath, { body, token } = {}) {
  const headers = token == null ? {} : { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(urlPath, worker.url), {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, text, body: type.startsWith('application/json') ? JSON.parse(text) : null, res };
}
