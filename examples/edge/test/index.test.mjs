// The marker index at the edge: on an account already holding 400 firms,
// the first delivery pays the sweep of the firm list; the following ones,
// run by other partitions' Durable Objects (some at the same time), read
// the index the first one saved in the MarkerIndexStore object and only
// the newest list pages. The simulator must hold each customer once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simAndEdge, shopExamples } from './harness.mjs';

const FIRMS = 400;
const NEW = 12;

const { order: orderTemplate, customer: customerTemplate, product: productTemplate } = shopExamples();

function delivery(c) {
  const customer = `CLI-IDX-${String(c).padStart(3, '0')}`;
  return {
    customer: { ...customerTemplate, externalId: customer, name: `Client ${c}` },
    products: [{ ...productTemplate, sku: 'KIT-IDX', name: 'Kit' }],
    order: { ...orderTemplate, orderNumber: `CMD-IDX-${c}`, customerExternalId: customer, lines: [{ ...orderTemplate.lines[0], sku: 'KIT-IDX' }] },
  };
}

const ctx = simAndEdge();

async function firmGets() {
  return (await ctx.sim.requests()).byResourceMethod?.firms?.GET ?? 0;
}

test('the first delivery sweeps the firms, later ones (other partitions, some concurrent) read the shared index', { timeout: 120_000 }, async () => {
  const seeded = await ctx.sim.seed({ firms: FIRMS, prefix: 'OLD' });
  assert.equal(seeded.firms.count, FIRMS);
  await ctx.sim.resetRequests();
  const first = await ctx.edge.post(delivery(0));
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const sweep = await firmGets();
  assert.ok(sweep >= FIRMS / 20, `the first delivery sweeps the firms (${sweep} pages)`);
  const stats = await ctx.edge.indexStats();
  assert.ok(stats.facts >= FIRMS + 1, `${stats.facts} facts stored`);
  assert.ok(stats.coverage.firms.watermark > 0, JSON.stringify(stats.coverage));

  await ctx.sim.resetRequests();
  // Three waves of four deliveries at once, each customer in its own object.
  for (let wave = 0; wave < NEW / 4; wave++) {
    const answers = await Promise.all([1, 2, 3, 4].map((i) => ctx.edge.post(delivery(wave * 4 + i))));
    for (const res of answers) assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  const gets = await firmGets();
  const after = await ctx.edge.indexStats();
  console.log(
    `edge: sweep ${sweep} list pages; then ${gets} for ${NEW} new customers (${(gets / NEW).toFixed(2)} each); ` +
      `${(after.bytes / after.facts).toFixed(1)} bytes stored per index entry (key and value)`,
  );
  assert.ok(gets <= 2 * NEW, `no second sweep: ${gets} firm list pages for ${NEW} new customers`);

  const counts = await ctx.sim.counts();
  assert.equal(counts.duplicatesTotal, 0);
  assert.equal(counts.counts.firms, FIRMS + 1 + NEW);
  assert.ok(after.coverage.firms.watermark >= stats.coverage.firms.watermark, 'the watermark never moves back');
});
