// Two (many) writers at the edge: concurrent deliveries to the Worker in
// workerd, 1,350 records in all (50 customers, 8 orders each with its
// customer and a product shared with other customers: 1,200 distinct; one
// order per customer delivered a second time in the same wave), 100
// requests in flight at once. The simulator must hold each
// document once, and the Durable Objects an entry, done, for every record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simAndEdge, shopExamples } from './harness.mjs';

const CUSTOMERS = 50;
const ORDERS_PER_CUSTOMER = 8;
const SKUS = 5;
/** Requests in flight at once. */
const CONCURRENCY = 100;

const { order: orderTemplate, customer: customerTemplate, product: productTemplate } = shopExamples();

const customerId = (c) => `CLI-EDGE-${String(c).padStart(3, '0')}`;
const sku = (s) => `KIT-EDGE-${s}`;
const orderNumber = (c, o) => `CMD-EDGE-${String(c).padStart(3, '0')}-${o}`;

/** The delivery of order `o` of customer `c`: the order, its customer and its product. */
function delivery(c, o) {
  const s = (c + o) % SKUS;
  return {
    customer: { ...customerTemplate, externalId: customerId(c), name: `Client ${c}` },
    products: [{ ...productTemplate, sku: sku(s), name: `Kit ${s}` }],
    order: {
      ...orderTemplate,
      orderNumber: orderNumber(c, o),
      customerExternalId: customerId(c),
      lines: [{ ...orderTemplate.lines[0], sku: sku(s), qty: 1 + o }],
    },
  };
}

/** Runs `tasks` (functions returning promises) with at most `limit` in flight. */
async function pool(tasks, limit) {
  const results = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

const ctx = simAndEdge();

test('1,350 records (1,200 distinct) delivered concurrently: no duplicate in incwo, no ledger entry lost', { timeout: 240_000 }, async () => {
  const deliveries = [];
  for (let o = 0; o < ORDERS_PER_CUSTOMER; o++) {
    for (let c = 0; c < CUSTOMERS; c++) deliveries.push(delivery(c, o));
  }
  // Each customer's first order is delivered a second time, in the same wave.
  for (let c = 0; c < CUSTOMERS; c++) deliveries.splice(c * 2 + 1, 0, delivery(c, 0));
  const records = deliveries.reduce((n, d) => n + 2 + d.products.length, 0);
  assert.ok(records >= 1000, `${records} records`);

  const started = Date.now();
  const answers = await pool(
    deliveries.map((d) => () => ctx.edge.post(d)),
    CONCURRENCY,
  );
  const seconds = (Date.now() - started) / 1000;
  console.log(`${deliveries.length} deliveries (${records} records) in ${seconds.toFixed(1)} s`);
  for (const [i, res] of answers.entries()) {
    assert.equal(res.status, 200, `${deliveries[i].order.orderNumber}: ${JSON.stringify(res.body)}`);
    assert.ok(['synced', 'skipped'].includes(res.body.outcome.outcome), JSON.stringify(res.body));
  }

  // incwo (the simulator): every document once.
  const state = await ctx.sim.state();
  assert.deepEqual(state.duplicates, []);
  assert.equal(state.counts.proposal_sheets, CUSTOMERS * ORDERS_PER_CUSTOMER);
  assert.equal(state.counts.firms, CUSTOMERS);
  assert.equal(state.counts.customer_products, SKUS);
  const sheetOf = new Map(state.objects.proposal_sheets.map((s) => [s.title, s.id]));
  const firmIds = new Set(state.objects.firms.map((f) => f.id));

  // The ledger (the Durable Objects' storage): an entry, done, for every record.
  let lost = 0;
  let entries = 0;
  for (let c = 0; c < CUSTOMERS; c++) {
    const stored = await ctx.edge.entriesOf(`customer/${customerId(c)}`);
    entries += stored.length;
    const firm = stored.find((e) => e.domain === 'customer' && e.externalId === customerId(c));
    if (!(firm?.state === 'done' && firmIds.has(firm.incwoId))) lost += 1;
    for (let o = 0; o < ORDERS_PER_CUSTOMER; o++) {
      const entry = stored.find((e) => e.domain === 'order' && e.externalId === orderNumber(c, o) && e.step === 'create');
      if (!(entry?.state === 'done' && entry.incwoId === sheetOf.get(orderNumber(c, o)))) lost += 1;
    }
    assert.ok(
      stored.every((e) => e.state === 'done'),
      `customer ${c}: ${JSON.stringify(stored.filter((e) => e.state !== 'done'))}`,
    );
  }
  const productIds = new Set(state.objects.customer_products.map((p) => p.id));
  for (let s = 0; s < SKUS; s++) {
    const stored = await ctx.edge.entriesOf(`product/${sku(s)}`);
    entries += stored.length;
    const entry = stored.find((e) => e.domain === 'product' && e.externalId === sku(s));
    if (!(entry?.state === 'done' && productIds.has(entry.incwoId))) lost += 1;
  }
  assert.equal(lost, 0, 'ledger entries lost');
  assert.equal(entries, CUSTOMERS * (1 + ORDERS_PER_CUSTOMER) + SKUS);
});
