// The edge example in workerd (through miniflare): orders posted to the
// Worker are validated and synced to a real incwo-sim over loopback HTTP;
// the answers and the simulator's state are checked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const EDGE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.resolve(EDGE, '../..');
const PKG = path.join(ROOT, 'wasm/pkg');
// miniflare (and the workerd binary inside it) is installed with the wasm tooling.
const { Miniflare } = createRequire(path.join(ROOT, 'wasm/package.json'))('miniflare');
const { startSim } = await import(path.join(ROOT, 'wasm/test/support.mjs'));

const brief = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples/data/order.json'), 'utf8'));
// A shop's order: no incwo quote behind it.
const { sourceQuote: _quote, ...order } = brief;
const customer = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples/data/customer.json'), 'utf8'));
const product = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples/data/product.json'), 'utf8'));
const missingPrice = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples/data/order-missing-price.json'), 'utf8'));

let sim;
let mf;

/** The Worker and the package modules, named as the Worker imports them. */
function modules() {
  const file = (name, type, source) => ({
    type,
    path: path.join(EDGE, name),
    contents: fs.readFileSync(source),
  });
  return [
    { type: 'ESModule', path: path.join(EDGE, 'worker.js') },
    file('incwo-connector-wasm/web', 'ESModule', path.join(PKG, 'web.js')),
    file('incwo-connector-wasm/layer.js', 'ESModule', path.join(PKG, 'layer.js')),
    file('incwo-connector-wasm/web/incwo_wasm.js', 'ESModule', path.join(PKG, 'web/incwo_wasm.js')),
    file('incwo-connector-wasm/incwo.wasm', 'CompiledWasm', path.join(PKG, 'web/incwo_wasm_bg.wasm')),
  ];
}

before(async () => {
  sim = await startSim();
  mf = new Miniflare({
    modules: modules(),
    modulesRoot: EDGE,
    compatibilityDate: '2025-01-01',
    kvNamespaces: ['LEDGER'],
    bindings: {
      INCWO_SERVER: sim.base,
      INCWO_BUSINESS_FILE_ID: '123456',
      INCWO_LOGIN: 'api@example.fr',
      INCWO_PASSWORD: 'secret',
      INCWO_COMPANY: 'acme',
      INCWO_TIMEOUT_MS: '2000',
      // Short backoffs so the faulted run ends within the test's time.
      INCWO_FLOW_OPTIONS: JSON.stringify({ retry: { baseDelayMs: 50, maxDelayMs: 200 } }),
    },
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await sim?.stop();
});

async function post(body) {
  const res = await mf.dispatchFetch('http://edge.test/orders', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

async function resetAll() {
  await sim.reset();
  const kv = await mf.getKVNamespace('LEDGER');
  await kv.delete('incwo-flow-checkpoint');
}

test('a valid order with its customer and product is synced to incwo', async () => {
  await resetAll();
  const res = await post({ order, customer, products: [product] });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.outcome.outcome, 'synced');
  assert.deepEqual(
    res.body.records.map((r) => [r.kind, r.outcome.outcome]),
    [
      ['customer', 'synced'],
      ['product', 'synced'],
      ['order', 'synced'],
    ],
  );
  const state = await sim.state();
  assert.equal(state.counts.firms, 1);
  assert.equal(state.counts.customer_products, 1);
  assert.equal(state.counts.proposal_sheets, 1);
  const sheet = state.objects.proposal_sheets[0];
  assert.equal(sheet.sheet_type, 'order');
  assert.equal(sheet.title, order.orderNumber);
  assert.equal(sheet.id, res.body.outcome.incwoId);
  assert.equal(sheet.vat_inc_total, '598.80');
  assert.deepEqual(state.duplicates, []);

  // The same webhook delivered again (a retry by the sender) changes nothing in incwo.
  const again = await post({ order, customer, products: [product] });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.outcome.incwoId, sheet.id);
  const after = await sim.state();
  assert.equal(after.counts.proposal_sheets, 1);
  assert.deepEqual(after.duplicates, []);
});

test('an invalid order is refused with 400 and its violations; nothing is sent', async () => {
  await resetAll();
  const res = await post({ order: missingPrice, customer, products: [product] });
  assert.equal(res.status, 400);
  assert.equal(res.body.valid, false);
  const violation = res.body.violations.find((v) => v.path === '/lines/0/unitPriceExclTax');
  assert.ok(violation, JSON.stringify(res.body.violations));
  assert.equal(violation.record, 'order');
  assert.equal(violation.code, 'required');
  const state = await sim.state();
  assert.deepEqual(state.counters.requests, {});
});

test('an order naming a quote incwo does not hold is quarantined: 409 with the business error', async () => {
  await resetAll();
  const res = await post({ order: brief, customer, products: [product] });
  assert.equal(res.status, 409, JSON.stringify(res.body));
  assert.equal(res.body.outcome.outcome, 'quarantined');
  assert.equal(res.body.outcome.error.class, 'business');
  assert.equal(res.body.outcome.error.code, 'business.unknown_quote');
  assert.ok(res.body.published.some((p) => p.queue === 'erp.incwo.order.acme.eur.quarantine'));
  const state = await sim.state();
  assert.equal(state.counts.proposal_sheets, 0);
});

test('a body that is not JSON is refused with 400', async () => {
  const res = await post('{not json');
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'webhook.malformed_json');
});

test('an order whose create is dropped after commit is reconciled: one order in incwo', async () => {
  await resetAll();
  await sim.addFaults([
    { method: 'POST', resource: 'proposal_sheets', times: 1, fault: { kind: 'drop_after_commit' } },
  ]);
  const res = await post({ order, customer, products: [product] });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.outcome.outcome, 'synced');
  const state = await sim.state();
  assert.equal(state.counters.faults_fired.drop_after_commit, 1);
  assert.equal(state.counts.proposal_sheets, 1);
  assert.equal(state.counters.requests.proposal_sheets.POST, 1);
  assert.deepEqual(state.duplicates, []);
});

test('incwo failing on every order create defers the order: 503 with Retry-After, nothing created', async () => {
  await resetAll();
  await sim.addFaults([{ method: 'POST', resource: 'proposal_sheets', fault: { kind: 'http_error', status: 503 } }]);
  const res = await post({ order, customer, products: [product] });
  assert.equal(res.status, 503, JSON.stringify(res.body));
  assert.equal(res.body.outcome.outcome, 'deferred');
  assert.equal(res.body.outcome.error.class, 'technical');
  assert.ok(Number(res.headers.get('retry-after')) >= 1);
  const state = await sim.state();
  assert.equal(state.counts.proposal_sheets, 0);
  assert.ok(state.counters.requests.proposal_sheets.POST >= 1);
  assert.deepEqual(state.duplicates, []);
  await sim.clearFaults();
});
