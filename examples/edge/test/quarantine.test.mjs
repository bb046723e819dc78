// The quarantine workflow of the edge example in workerd (through
// miniflare), over the Worker's real loopback socket against incwo-sim: a
// contract-violating order is answered 400 and quarantined, listed, shown
// with its violation path and runbook line, fixed, replayed
// (`replay_total{reason="manual"}` = 1) and synced exactly once (counted in
// the simulator's state); another is dropped with its reason, kept; one
// fixed under a new number is settled all the same. The replay's rules are
// the core's (`usage.quarantine_*` codes). The admin endpoints answer only
// the admin secret (401 without, 403 wrong).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simAndEdge, shopExamples, socketFetch, ADMIN_SECRET, WEBHOOK_SECRET, ORDER_SECRET } from './harness.mjs';

const { order: shopOrder, customer, product } = shopExamples();

/** An order of the customer; without a price (a contract violation) unless `price` is given. */
function order(number, price) {
  const line = { sku: 'KIT-API-01', description: 'Kit, ask jane.doe@example.com', qty: 2, taxCode: 'TVA20' };
  if (price !== undefined) line.unitPriceExclTax = price;
  return { orderNumber: number, customerExternalId: customer.externalId, orderDate: '2026-04-11', currency: 'EUR', lines: [line] };
}

const ctx = simAndEdge();

/** An admin request over the socket: `{status, body, res}` (`token: null`: no Authorization). */
function admin(method, path, { body, token = ADMIN_SECRET } = {}) {
  return socketFetch(ctx.edge, method, path, { body, token });
}

/** The simulator's orders titled `number` (and no duplicate anywhere). */
async function ordersInIncwo(number) {
  const state = await ctx.sim.state();
  assert.deepEqual(state.duplicates, []);
  return (state.objects.proposal_sheets ?? []).filter((o) => o.title === number).length;
}

test('the quarantine endpoints need the admin secret: 401 without a token, 403 with a wrong one', async () => {
  const calls = [
    ['GET', '/admin/quarantine'],
    ['GET', '/admin/quarantine/q-0'],
    ['POST', '/admin/quarantine/replay', { ids: ['q-0'], record: {} }],
    ['POST', '/admin/quarantine/q-0/drop', { reason: 'x' }],
  ];
  // 9 failed authentications: under the throttle's 10 a minute.
  const wrongTokens = [WEBHOOK_SECRET, ORDER_SECRET, `${ADMIN_SECRET}x`, 'guessed'];
  for (const [i, [method, path, body]] of calls.entries()) {
    const missing = await admin(method, path, { body, token: null });
    assert.equal(missing.status, 401, `${method} ${path}`);
    assert.equal(missing.body.error.code, 'admin.auth_missing');
    assert.equal(missing.res.headers.get('www-authenticate'), 'Bearer');
    const wrong = await admin(method, path, { body, token: wrongTokens[i] });
    assert.equal(wrong.status, 403, `${method} ${path} ${wrongTokens[i]}`);
    assert.equal(wrong.body.error.code, 'admin.auth_invalid');
  }
  // Never through the webhook's URL secret.
  const viaUrl = await admin('GET', `/admin/quarantine?token=${WEBHOOK_SECRET}`, { token: null });
  assert.equal(viaUrl.status, 401);
});

test('a contract-violating order is quarantined, listed, shown, fixed, replayed once; another is dropped with its reason', async () => {
  // A fresh Worker (its throttle's window too) and simulator.
  await ctx.reset();
  // The customer and its product are in incwo; then two orders without a price.
  const synced = await ctx.edge.post({ order: shopOrder, customer, products: [product] });
  assert.equal(synced.status, 200, JSON.stringify(synced.body));
  const ids = [];
  for (const number of ['CMD-EDGE-Q1', 'CMD-EDGE-Q2']) {
    const refused = await ctx.edge.post({ order: order(number), customer });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.ok(refused.body.violations.some((v) => v.path === '/lines/0/unitPriceExclTax'), JSON.stringify(refused.body));
    assert.equal(refused.body.quarantined.length, 1, JSON.stringify(refused.body));
    ids.push(refused.body.quarantined[0]);
  }
  const [first, second] = ids;
  assert.equal(await ordersInIncwo('CMD-EDGE-Q1'), 0);

  // Listed, with the core's filters.
  const listed = await admin('GET', '/admin/quarantine');
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  assert.deepEqual(listed.body.entries.map((e) => e.externalId).sort(), ['CMD-EDGE-Q1', 'CMD-EDGE-Q2']);
  const count = async (query) => {
    const res = await admin('GET', `/admin/quarantine?${query}`);
    assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
    return res.body.entries.length;
  };
  assert.equal(await count('code=contract.&class=contract&resource=order'), 2);
  assert.equal(await count('code=business.'), 0);
  assert.equal(await count('resource=invoice'), 0);
  assert.equal(await count('olderThanSeconds=3600'), 0);
  const badAge = await admin('GET', '/admin/quarantine?olderThanSeconds=1h');
  assert.equal(badAge.status, 400);
  assert.equal(badAge.body.error.code, 'quarantine.bad_filter');

  // Shown: the violation's path, the runbook line, the record redacted.
  const shown = await admin('GET', `/admin/quarantine/${first}`);
  assert.equal(shown.status, 200, JSON.stringify(shown.body));
  assert.equal(shown.body.id, first);
  assert.equal(shown.body.state, 'open');
  assert.equal(shown.body.error.code, 'contract.invalid');
  assert.ok(shown.body.error.violations.some((v) => v.path === '/lines/0/unitPriceExclTax'), JSON.stringify(shown.body.error));
  assert.ok(shown.body.runbook.startsWith('contract.invalid (contract): '), shown.body.runbook);
  const record = JSON.stringify(shown.body.record);
  assert.ok(record.includes('[email]') && !record.includes('jane.doe'), record);
  const unknown = await admin('GET', '/admin/quarantine/q-0');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'quarantine.not_found');

  // Replay refusals: no ids, no fix, a bare record for two entries.
  assert.equal((await admin('POST', '/admin/quarantine/replay', { body: {} })).body.error.code, 'quarantine.no_ids');
  assert.equal((await admin('POST', '/admin/quarantine/replay', { body: { ids: [first] } })).body.error.code, 'quarantine.no_fix');
  const two = await admin('POST', '/admin/quarantine/replay', { body: { ids: [first, second], record: order('CMD-EDGE-Q1', 49.9) } });
  assert.equal(two.status, 400);
  assert.equal(two.body.error.code, 'usage.quarantine_bare_record');
  assert.equal((await admin('POST', '/admin/quarantine/replay', { body: '{not json' })).body.error.code, 'admin.malformed_json');
  assert.equal(await ordersInIncwo('CMD-EDGE-Q1'), 0);

  // Fixed and replayed: synced once, counted as a manual replay.
  const replay = { ids: [first], record: order('CMD-EDGE-Q1', 49.9) };
  const replayed = await admin('POST', '/admin/quarantine/replay', { body: replay });
  assert.equal(replayed.status, 200, JSON.stringify(replayed.body));
  assert.deepEqual(replayed.body.replayed, [first]);
  assert.deepEqual(replayed.body.stillOpen, []);
  assert.deepEqual(replayed.body.metrics, ['replay_total{reason="manual"} 1']);
  assert.equal(replayed.body.summary.synced, 1);
  assert.equal(await ordersInIncwo('CMD-EDGE-Q1'), 1);

  // A replayed entry is closed: replaying it again is refused; nothing more in incwo.
  const again = await admin('POST', '/admin/quarantine/replay', { body: replay });
  assert.equal(again.status, 409, JSON.stringify(again.body));
  assert.equal(again.body.error.code, 'usage.quarantine_not_open');
  const closed = await admin('GET', '/admin/quarantine?status=replayed');
  assert.deepEqual(closed.body.entries.map((e) => e.id), [first]);
  assert.equal(await ordersInIncwo('CMD-EDGE-Q1'), 1);

  // The other one is dropped with its reason (required), kept.
  const noReason = await admin('POST', `/admin/quarantine/${second}/drop`, { body: {} });
  assert.equal(noReason.status, 400, JSON.stringify(noReason.body));
  assert.match(noReason.body.error.code, /^usage\./);
  const dropped = await admin('POST', `/admin/quarantine/${second}/drop`, {
    body: { reason: 'cancelled by the shop, told jane.doe@example.com' },
  });
  assert.equal(dropped.status, 200, JSON.stringify(dropped.body));
  assert.equal(dropped.body.state, 'dropped');
  assert.equal(dropped.body.dropReason, 'cancelled by the shop, told [email]');
  assert.deepEqual((await admin('GET', '/admin/quarantine')).body.entries, []);
  const kept = await admin('GET', '/admin/quarantine?status=dropped');
  assert.deepEqual(kept.body.entries.map((e) => [e.id, e.dropReason]), [[second, 'cancelled by the shop, told [email]']]);
  assert.equal(await ordersInIncwo('CMD-EDGE-Q2'), 0);

  // The Worker's running totals count the manual replay too.
  const metrics = await fetch(new URL('/metrics', ctx.edge.url), { headers: { authorization: `Bearer ${ADMIN_SECRET}` } });
  assert.match(await metrics.text(), /^replay_total\{reason="manual"\} 1$/m);
});

test('a single entry replayed with a new external id settles; a batch without its line is refused', async () => {
  await ctx.reset();
  const synced = await ctx.edge.post({ order: shopOrder, customer, products: [product] });
  assert.equal(synced.status, 200, JSON.stringify(synced.body));
  const refused = await ctx.edge.post({ order: order('CMD-EDGE-Q3'), customer });
  assert.equal(refused.status, 400, JSON.stringify(refused.body));
  const [id] = refused.body.quarantined;

  // A batch holding no line of the entry: the core refuses it, nothing runs.
  const other = `${JSON.stringify({ kind: 'order', record: order('CMD-EDGE-OTHER', 49.9) })}\n`;
  const missing = await admin('POST', '/admin/quarantine/replay', { body: { ids: [id], jsonl: other } });
  assert.equal(missing.status, 400, JSON.stringify(missing.body));
  assert.equal(missing.body.error.code, 'usage.quarantine_not_in_batch');
  assert.equal(await ordersInIncwo('CMD-EDGE-OTHER'), 0);

  // The fixed order carries a new number: the only entry replayed is settled.
  const replayed = await admin('POST', '/admin/quarantine/replay', { body: { ids: [id], record: order('CMD-EDGE-Q3-B', 49.9) } });
  assert.equal(replayed.status, 200, JSON.stringify(replayed.body));
  assert.deepEqual(replayed.body.replayed, [id]);
  assert.deepEqual(replayed.body.stillOpen, []);
  assert.equal(await ordersInIncwo('CMD-EDGE-Q3-B'), 1);
  assert.equal(await ordersInIncwo('CMD-EDGE-Q3'), 0);
  const shown = await admin('GET', `/admin/quarantine/${id}`);
  assert.equal(shown.body.state, 'replayed', JSON.stringify(shown.body));
});
