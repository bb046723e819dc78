// GET /metrics of the edge example in workerd (through miniflare), over the
// Worker's real loopback socket: behind INCWO_ADMIN_SECRET only (503 when it
// is not configured or reuses another endpoint's secret, 401 without a
// token, 403 with a wrong one, the webhook and order secrets included), and
// the running totals of every flow run (quarantine, retries, breaker, last
// sync) plus the webhook backlog while incwo's pings are re-read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simAndEdge, startEdge, shopExamples, example, socketFetch, ADMIN_SECRET, WEBHOOK_SECRET, ORDER_SECRET } from './harness.mjs';

const brief = example('order.json');
const { order, customer, product } = shopExamples();

const ctx = simAndEdge();

/** GET /metrics over the socket: `{status, type, text, body}` (`body` parsed when JSON). */
function scrape(worker, token, method = 'GET') {
  return socketFetch(worker, method, '/metrics', { token });
}

/** The value of the sample `series` (name and labels exactly as rendered), or undefined. */
function sample(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('without INCWO_ADMIN_SECRET, or with one equal to another secret, /metrics answers 503 admin.not_configured', async () => {
  for (const bindings of [{ INCWO_ADMIN_SECRET: undefined }, { INCWO_ADMIN_SECRET: WEBHOOK_SECRET }, { INCWO_ADMIN_SECRET: ORDER_SECRET }]) {
    const worker = await startEdge(ctx.sim, bindings);
    try {
      const res = await scrape(worker, WEBHOOK_SECRET);
      assert.equal(res.status, 503, res.text);
      assert.equal(res.body.error.code, 'admin.not_configured');
      assert.match(res.body.error.message, /INCWO_ADMIN_SECRET/);
      assert.ok(!res.text.includes(WEBHOOK_SECRET) && !res.text.includes(ORDER_SECRET));
    } finally {
      await worker.stop();
    }
  }
});

test('/metrics needs the admin secret: 401 without a token, 403 with a wrong one (the webhook and order secrets too), 405 for POST', async () => {
  const missing = await scrape(ctx.edge, undefined);
  assert.equal(missing.status, 401);
  assert.equal(missing.body.error.code, 'admin.auth_missing');
  assert.equal(missing.res.headers.get('www-authenticate'), 'Bearer');
  for (const token of ['guessed', WEBHOOK_SECRET, ORDER_SECRET, `${ADMIN_SECRET}x`]) {
    const wrong = await scrape(ctx.edge, token);
    assert.equal(wrong.status, 403, token);
    assert.equal(wrong.body.error.code, 'admin.auth_invalid');
  }
  assert.equal((await scrape(ctx.edge, ADMIN_SECRET, 'POST')).status, 405);
});

test('/metrics serves the totals of every run: quarantine, retries, breaker, last sync, and the webhook backlog', async () => {
  await ctx.reset();
  const empty = await scrape(ctx.edge, ADMIN_SECRET);
  assert.equal(empty.status, 200, empty.text);
  assert.equal(empty.type, 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(sample(empty.text, 'webhook_backlog_size'), 0);
  assert.match(empty.text, /^# TYPE quarantined_records_total counter$/m);

  const before = Math.floor(Date.now() / 1000);
  await ctx.sim.addFaults([{ method: 'POST', resource: 'proposal_sheets', times: 1, fault: { kind: 'http_error', status: 503 } }]);
  const synced = await ctx.edge.post({ order, customer, products: [product] });
  assert.equal(synced.status, 200, JSON.stringify(synced.body));
  // An order on a quote incwo does not hold: quarantined (business).
  const refused = await ctx.edge.post({ order: { ...brief, orderNumber: 'CMD-EDGE-QUOTE' }, customer });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));

  const { status, text } = await scrape(ctx.edge, ADMIN_SECRET);
  assert.equal(status, 200, text);
  const host = `host="${new URL(ctx.sim.base).host}"`;
  assert.equal(sample(text, `quarantined_records_total{class="business",code="${refused.body.outcome.error.code}",resource="order"}`), 1, text);
  assert.equal(sample(text, 'retry_total{endpoint="/proposal_sheets.xml"}'), 1, text);
  assert.equal(sample(text, `circuit_breaker_state{${host}}`), 0, text);
  assert.equal(sample(text, `retry_budget_capacity{${host}}`), 500, text);
  assert.ok(sample(text, 'last_successful_sync_timestamp_seconds') >= before, text);
  assert.equal(sample(text, 'api_call_duration_ms_count{endpoint="/proposal_sheets.xml",operation="create"}'), 2, text);
  for (const secret of [ADMIN_SECRET, WEBHOOK_SECRET, ORDER_SECRET, 'secret"', 'api@example.fr']) assert.ok(!text.includes(secret), secret);

  // A ping whose re-read is slow counts in the backlog until the re-read ends.
  await ctx.sim.addFaults([{ method: 'GET', resource: 'proposal_sheets', times: 1, fault: { kind: 'latency', ms: 1500 } }]);
  const ping = await ctx.edge.mf.dispatchFetch(`http://edge.test/incwo/webhook/${WEBHOOK_SECRET}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ zname: 'proposal_sheets', zid: synced.body.outcome.incwoId }),
  });
  await ping.arrayBuffer();
  assert.equal(ping.status, 202);
  const seen = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const size = sample((await scrape(ctx.edge, ADMIN_SECRET)).text, 'webhook_backlog_size');
    if (seen.at(-1) !== size) seen.push(size);
    if (seen.includes(1) && size === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(seen.includes(1), `backlog seen: ${seen}`);
  assert.equal(seen.at(-1), 0, `backlog seen: ${seen}`);
});
