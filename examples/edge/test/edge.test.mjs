// The edge example in workerd (through miniflare): orders posted to the
// Worker are validated and synced to a real incwo-sim over loopback HTTP;
// the answers, the simulator's state and the Durable Objects' ledger are
// checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { simAndEdge, shopExamples, example, PKG, WEBHOOK_SECRET } from './harness.mjs';

// The node build of the same package: writes the ledger an earlier version kept in KV.
const { createConnector } = await import(path.join(PKG, 'node.js'));

const brief = example('order.json');
const { order, customer, product } = shopExamples();
const missingPrice = example('order-missing-price.json');
const quote = example('quote.json');

const ctx = simAndEdge();

const post = (body, headers) => ctx.edge.post(body, headers);

test('a valid order with its customer and product is synced to incwo', async () => {
  await ctx.reset();
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
  const state = await ctx.sim.state();
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
  const after = await ctx.sim.state();
  assert.equal(after.counts.proposal_sheets, 1);
  assert.deepEqual(after.duplicates, []);
});

test('an invalid order is refused with 400 and its violations; nothing is sent', async () => {
  await ctx.reset();
  const res = await post({ order: missingPrice, customer, products: [product] });
  assert.equal(res.status, 400);
  assert.equal(res.body.valid, false);
  const violation = res.body.violations.find((v) => v.path === '/lines/0/unitPriceExclTax');
  assert.ok(violation, JSON.stringify(res.body.violations));
  assert.equal(violation.record, 'order');
  assert.equal(violation.code, 'required');
  const state = await ctx.sim.state();
  assert.deepEqual(state.counters.requests, {});
});

test('an order naming a quote incwo does not hold is quarantined: 409 with the business error', async () => {
  await ctx.reset();
  const res = await post({ order: brief, customer, products: [product] });
  assert.equal(res.status, 409, JSON.stringify(res.body));
  assert.equal(res.body.outcome.outcome, 'quarantined');
  assert.equal(res.body.outcome.error.class, 'business');
  assert.equal(res.body.outcome.error.code, 'business.unknown_quote');
  assert.ok(res.body.published.some((p) => p.queue === 'erp.incwo.order.acme.eur.quarantine'));
  const state = await ctx.sim.state();
  assert.equal(state.counts.proposal_sheets, 0);
});

test('a body that is not JSON is refused with 400', async () => {
  const res = await post('{not json');
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'webhook.malformed_json');
});

test('an order whose create is dropped after commit is reconciled: one order in incwo', async () => {
  await ctx.reset();
  await ctx.sim.addFaults([
    { method: 'POST', resource: 'proposal_sheets', times: 1, fault: { kind: 'drop_after_commit' } },
  ]);
  const res = await post({ order, customer, products: [product] });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.outcome.outcome, 'synced');
  const state = await ctx.sim.state();
  assert.equal(state.counters.faults_fired.drop_after_commit, 1);
  assert.equal(state.counts.proposal_sheets, 1);
  assert.equal(state.counters.requests.proposal_sheets.POST, 1);
  assert.deepEqual(state.duplicates, []);
});

test("the order's pending entry is in its customer's Durable Object before the create leaves", async () => {
  await ctx.reset();
  await ctx.sim.addFaults([{ method: 'POST', resource: 'proposal_sheets', times: 1, fault: { kind: 'latency', ms: 1500 } }]);
  const delivery = post({ order, customer, products: [product] });
  const isCreate = (e) => e.domain === 'order' && e.externalId === order.orderNumber && e.step === 'create';
  let seen;
  const deadline = Date.now() + 5000;
  while (!seen && Date.now() < deadline) {
    seen = (await ctx.edge.entriesOf(`customer/${order.customerExternalId}`)).find(isCreate);
    if (!seen) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(seen, 'the order create entry was stored while the run was under way');
  assert.equal(seen.state, 'pending');
  const res = await delivery;
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const done = (await ctx.edge.entriesOf(`customer/${order.customerExternalId}`)).find(isCreate);
  assert.equal(done.state, 'done');
  assert.equal(done.incwoId, res.body.outcome.incwoId);
  await ctx.sim.clearFaults();
});

test('incwo failing on every order create defers the order: 503 with Retry-After, nothing created', async () => {
  await ctx.reset();
  await ctx.sim.addFaults([{ method: 'POST', resource: 'proposal_sheets', fault: { kind: 'http_error', status: 503 } }]);
  const res = await post({ order, customer, products: [product] });
  assert.equal(res.status, 503, JSON.stringify(res.body));
  assert.equal(res.body.outcome.outcome, 'deferred');
  assert.equal(res.body.outcome.error.class, 'technical');
  assert.ok(Number(res.headers.get('retry-after')) >= 1);
  const state = await ctx.sim.state();
  assert.equal(state.counts.proposal_sheets, 0);
  assert.ok(state.counters.requests.proposal_sheets.POST >= 1);
  assert.deepEqual(state.duplicates, []);
  await ctx.sim.clearFaults();
});

/** The change events the Worker handed on (its JSON log lines). */
function inboundEvents() {
  const events = [];
  for (const message of ctx.edge.logs) {
    const start = message.indexOf('{"incwoInbound"');
    if (start < 0) continue;
    try {
      const { incwoInbound } = JSON.parse(message.slice(start));
      if (incwoInbound?.event) events.push(incwoInbound);
    } catch {
      // not one of ours
    }
  }
  return events;
}

async function simAdmin(method, p, body) {
  const res = await fetch(`${ctx.sim.base}${p}`, {
    method,
    headers: { connection: 'close', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.status < 300, `${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function webhook(secret, body) {
  const res = await ctx.edge.mf.dispatchFetch(`http://edge.test/incwo/webhook/${secret}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

test('a quote accepted in incwo reaches the Worker as a webhook and becomes quote.accepted (ledger imported from KV)', async () => {
  await ctx.reset();
  // The connector wrote the quote (its ledger is what the Worker compares with).
  const connector = createConnector({
    fetch: globalThis.fetch,
    config: ctx.sim.config,
    options: { company: 'acme' },
    timeoutMs: 2000,
  });
  const written = await connector.sync(
    [
      { kind: 'customer', record: customer },
      { kind: 'product', record: product },
      { kind: 'quote', record: quote },
    ],
    { seed: 1 },
  );
  assert.equal(written.status, 'done');
  assert.deepEqual(
    written.outcomes.map((o) => o.outcome),
    ['synced', 'synced', 'synced'],
  );
  // The ledger as an earlier version of the Worker kept it: one checkpoint in KV.
  const kv = await ctx.edge.mf.getKVNamespace('LEDGER');
  await kv.put('incwo-flow-checkpoint', written.checkpoint);

  // incwo's Webhooks app posts to the Worker's real socket.
  await simAdmin('PUT', '/_sim/webhooks', { url: new URL(`incwo/webhook/${WEBHOOK_SECRET}`, ctx.edge.url).href, retryMs: 20 });
  try {
    const state = await ctx.sim.state();
    const sheet = state.objects.proposal_sheets.find((o) => o.title === quote.quoteNumber);
    assert.ok(sheet, 'the quote is in incwo');
    // The sales team accepts the quote in incwo.
    await simAdmin('PUT', `/_sim/documents/proposal_sheets/${sheet.id}/progress`, { progress_id: 557 });
    const deadline = Date.now() + 10_000;
    let log;
    let found;
    while (Date.now() < deadline) {
      log = await simAdmin('GET', '/_sim/webhooks');
      found = inboundEvents().find((e) => e.event.type === 'quote.accepted');
      if (log.pending === 0 && found) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(log.pending, 0, JSON.stringify(log));
    assert.ok(
      log.deliveries.every((d) => d.lastStatus === 202),
      `every ping answered 202: ${JSON.stringify(log.deliveries)}`,
    );
    assert.ok(found, `no quote.accepted among ${JSON.stringify(inboundEvents())}; log: ${JSON.stringify(ctx.edge.logs)}`);
    assert.equal(found.queue, 'erp.incwo.quote.acme');
    assert.equal(found.event.externalId, quote.quoteNumber);
    assert.equal(found.event.status, 'accepted');
    assert.equal(found.event.source, 'webhook');
    assert.equal(inboundEvents().length, 1, JSON.stringify(inboundEvents()));
    // The customer's Durable Object imported its entries from KV once and now knows the
    // quote is accepted (KV is left as it was): a redelivered ping reports nothing again.
    assert.equal(await kv.get('incwo-flow-checkpoint'), written.checkpoint);
    const before = Object.values(JSON.parse(written.checkpoint).ledger.entries).find(
      (e) => e.domain === 'quote' && e.externalId === quote.quoteNumber,
    );
    const entries = await ctx.edge.entriesOf(`customer/${quote.customerExternalId}`);
    const now = entries.find((e) => e.key === before.key);
    assert.ok(now, `the quote's entry was imported: ${JSON.stringify(entries)}`);
    assert.notDeepEqual(now, before);
    assert.ok(entries.some((e) => e.domain === 'customer' && e.externalId === quote.customerExternalId));
    assert.equal(await webhook(WEBHOOK_SECRET, { zname: 'proposal_sheets', zid: sheet.id }), 202);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(inboundEvents().length, 1, JSON.stringify(inboundEvents()));
  } finally {
    await simAdmin('DELETE', '/_sim/webhooks');
  }
});

test('a webhook with a wrong secret is refused with 403; the right secret is accepted (202)', async () => {
  assert.equal(await webhook('guessed', { zname: 'proposal_sheets', zid: 999999 }), 403);
  assert.equal(await webhook(WEBHOOK_SECRET, { zname: 'proposal_sheets', zid: 999999 }), 202);
  // A body that is not a ping is refused by the core's intake.
  const res = await ctx.edge.mf.dispatchFetch(`http://edge.test/incwo/webhook/${WEBHOOK_SECRET}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"zname": ',
  });
  await res.arrayBuffer();
  assert.equal(res.status, 400);
});
