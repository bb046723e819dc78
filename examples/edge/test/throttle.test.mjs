// The failed-authentication throttle of the edge example in workerd: 10
// wrong secrets a minute from one address (CF-Connecting-IP), sent at once,
// then 429 with Retry-After on the webhook and on the order endpoint, even
// with the right secret; another address is unaffected; once the window is
// over the right secret works again. The count lives in one Durable Object
// per address, so concurrent requests are all counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { simAndEdge, shopExamples, ORDER_SECRET, WEBHOOK_SECRET } from './harness.mjs';

const { order, customer } = shopExamples();
const ORDER = JSON.stringify({ order, customer });
const PING = '{"zname": "proposal_sheets", "zid": 1}';
// Both in the harness's allow-list (185.16.44.0/24), so the secret is what is checked.
const GUESSER = '185.16.44.7';
const NEIGHBOUR = '185.16.44.8';
const ORDER_GUESSER = '198.51.100.9';

/** When the window of each refused address ends (ms). */
const reopens = [];

const ctx = simAndEdge();

async function hook(secret, address) {
  const res = await ctx.edge.mf.dispatchFetch(`http://edge.test/incwo/webhook/${secret}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'CF-Connecting-IP': address },
    body: PING,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

function orderFrom(address, secret) {
  return ctx.edge.post(ORDER, { authorization: `Bearer ${secret}`, 'CF-Connecting-IP': address });
}

function assertRefused(res, what) {
  assert.equal(res.status, 429, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error.code, 'inbound.too_many_failures', what);
  const seconds = Number(res.headers.get('retry-after'));
  assert.ok(seconds >= 1 && seconds <= 60, `${what}: Retry-After ${res.headers.get('retry-after')}`);
  reopens.push(Date.now() + seconds * 1000);
}

test('10 wrong webhook secrets at once, then 429 with Retry-After, even with the right secret', async () => {
  const guesses = await Promise.all(Array.from({ length: 10 }, (_, i) => hook(`guess-${i}`, GUESSER)));
  assert.deepEqual(
    guesses.map((r) => r.status),
    Array(10).fill(403),
  );
  assertRefused(await hook('guess-10', GUESSER), 'the 11th guess');
  assertRefused(await hook(WEBHOOK_SECRET, GUESSER), 'the right secret from the guesser');
  // Another address is unaffected.
  assert.equal((await hook(WEBHOOK_SECRET, NEIGHBOUR)).status, 202);
  assert.equal((await hook('guess', NEIGHBOUR)).status, 403);
});

test('10 wrong order secrets, then 429 before authentication; nothing reaches incwo', async () => {
  await ctx.sim.reset();
  for (let i = 0; i < 10; i++) {
    const res = await orderFrom(ORDER_GUESSER, `guess-${i}`);
    assert.equal(res.status, 401, JSON.stringify(res.body));
  }
  assertRefused(await orderFrom(ORDER_GUESSER, ORDER_SECRET), 'the right order secret from the guesser');
  assert.deepEqual((await ctx.sim.state()).counters.requests, {});
  // The webhook endpoint refuses the same address: one count per address.
  assertRefused(await hook(WEBHOOK_SECRET, ORDER_GUESSER), 'the webhook from the order guesser');
  // Another address is unaffected.
  const other = await orderFrom('198.51.100.10', ORDER_SECRET);
  assert.equal(other.status, 200, JSON.stringify(other.body));
});

test('once the window is over, the right secret works again', async () => {
  const wait = Math.max(...reopens) - Date.now();
  assert.ok(wait <= 61_000, `${wait} ms`);
  await sleep(Math.max(0, wait) + 500);
  assert.equal((await hook(WEBHOOK_SECRET, GUESSER)).status, 202);
  await ctx.sim.reset();
  const res = await orderFrom(ORDER_GUESSER, ORDER_SECRET);
  assert.equal(res.status, 200, JSON.stringify(res.body));
});
