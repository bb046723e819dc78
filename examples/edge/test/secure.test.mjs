// Secure defaults of the edge example in workerd: the order endpoint's own
// secret (bearer or HMAC of the body), 503 when a secret is not configured,
// 413 over 1 MiB, and no secret in any log line the Worker writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { simAndEdge, startEdge, shopExamples, ORDER_SECRET, WEBHOOK_SECRET } from './harness.mjs';

const { order, customer } = shopExamples();
const body = JSON.stringify({ order, customer });

const ctx = simAndEdge();

async function proposalSheets() {
  return (await ctx.sim.state()).counts.proposal_sheets;
}

test('an order without credentials is refused with 401 and nothing reaches incwo', async () => {
  await ctx.sim.reset();
  const res = await ctx.edge.post(body, {});
  assert.equal(res.status, 401, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'webhook.auth_missing');
  assert.equal(res.headers.get('www-authenticate'), 'Bearer');
  assert.deepEqual((await ctx.sim.state()).counters.requests, {});
});

test('a wrong bearer, the webhook secret as bearer and a bad signature are refused with 401', async () => {
  await ctx.sim.reset();
  for (const headers of [
    { authorization: 'Bearer guessed' },
    { authorization: `Bearer ${WEBHOOK_SECRET}` },
    { authorization: `Basic ${btoa(`x:${ORDER_SECRET}`)}` },
    { 'x-incwo-signature': createHmac('sha256', 'guessed').update(body).digest('hex') },
    { 'x-incwo-signature': createHmac('sha256', ORDER_SECRET).update(`${body} `).digest('hex') },
    { 'x-incwo-signature': 'sha256=not-hex' },
  ]) {
    const res = await ctx.edge.post(body, headers);
    assert.equal(res.status, 401, `${JSON.stringify(headers)}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'webhook.auth_invalid');
  }
  assert.deepEqual((await ctx.sim.state()).counters.requests, {});
});

test('the order secret as bearer, or an HMAC-SHA256 of the body, is accepted', async () => {
  await ctx.sim.reset();
  const bearer = await ctx.edge.post(body);
  assert.equal(bearer.status, 200, JSON.stringify(bearer.body));
  const signature = createHmac('sha256', ORDER_SECRET).update(body).digest('hex');
  const signed = await ctx.edge.post(body, { 'x-incwo-signature': `sha256=${signature}` });
  assert.equal(signed.status, 200, JSON.stringify(signed.body));
  assert.equal(signed.body.outcome.outcome, 'skipped');
  assert.equal(await proposalSheets(), 1);
});

test('a body over 1 MiB is refused with 413, announced or not', async () => {
  const big = JSON.stringify({ order, customer, padding: 'x'.repeat(1024 * 1024) });
  const announced = await ctx.edge.post(big);
  assert.equal(announced.status, 413, JSON.stringify(announced.body));
  assert.equal(announced.body.error.code, 'webhook.too_large');
  // Streamed without a Content-Length: refused while reading.
  const chunks = [new TextEncoder().encode(big.slice(0, 600_000)), new TextEncoder().encode(big.slice(600_000))];
  const stream = new ReadableStream({
    pull(controller) {
      if (chunks.length > 0) controller.enqueue(chunks.shift());
      else controller.close();
    },
  });
  const res = await ctx.edge.mf.dispatchFetch('http://edge.test/orders', {
    method: 'POST',
    headers: { authorization: `Bearer ${ORDER_SECRET}`, 'content-type': 'application/json' },
    body: stream,
    duplex: 'half',
  });
  assert.equal(res.status, 413, await res.text());
  const hook = await ctx.edge.mf.dispatchFetch(`http://edge.test/incwo/webhook/${WEBHOOK_SECRET}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: big,
  });
  await hook.arrayBuffer();
  assert.equal(hook.status, 413);
});

test('the secrets never appear in a log line the Worker writes', async () => {
  for (const url of [
    `http://edge.test/incwo/webhook/${WEBHOOK_SECRET}`,
    `http://edge.test/incwo/webhook/guessed-${WEBHOOK_SECRET}`,
    `http://edge.test/incwo/webhook?token=${WEBHOOK_SECRET}`,
    `http://edge.test/orders?token=${ORDER_SECRET}`,
  ]) {
    const res = await ctx.edge.mf.dispatchFetch(url, { method: 'POST', credentials: 'omit', body: '{"zname": "proposal_sheets", "zid": 1}' });
    await res.arrayBuffer();
  }
  await ctx.edge.post(body, { authorization: `Bearer ${ORDER_SECRET}-wrong` });
  const lines = ctx.edge.logs.join('\n');
  assert.ok(lines.includes('/incwo/webhook/[redacted]'), lines);
  assert.ok(lines.includes('token=%5Bredacted%5D') || lines.includes('token=[redacted]'), lines);
  assert.ok(!lines.includes(WEBHOOK_SECRET), lines);
  assert.ok(!lines.includes(ORDER_SECRET), lines);
});

test('without secrets both endpoints answer 503 and log why', async () => {
  const bare = await startEdge(ctx.sim, { INCWO_ORDER_SECRET: undefined, INCWO_WEBHOOK_SECRET: undefined });
  try {
    const res = await bare.post(body);
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'webhook.not_configured');
    const hook = await bare.mf.dispatchFetch('http://edge.test/incwo/webhook/anything', {
      method: 'POST',
      body: '{"zname": "proposal_sheets", "zid": 1}',
    });
    assert.equal(hook.status, 503);
    assert.equal((await hook.json()).error.code, 'inbound.no_secret', "the core's refusal");
    assert.equal(hook.headers.get('retry-after'), '60');
    const lines = bare.logs.join('\n');
    assert.ok(lines.includes('"missing":"INCWO_ORDER_SECRET"'), lines);
    assert.ok(lines.includes('"missing":"INCWO_WEBHOOK_SECRET"'), lines);
  } finally {
    await bare.stop();
  }
  // The webhook secret reused as the order secret is a configuration error too.
  const reused = await startEdge(ctx.sim, { INCWO_ORDER_SECRET: WEBHOOK_SECRET });
  try {
    const res = await reused.post(body, { authorization: `Bearer ${WEBHOOK_SECRET}` });
    assert.equal(res.status, 503, JSON.stringify(res.body));
  } finally {
    await reused.stop();
  }
});
