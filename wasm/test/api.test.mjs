// The package's JS layer: typed errors, the flow class, createConnector's
// transport against the simulator (refused connection, timeout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import * as incwo from '../pkg/node.js';
import { ROOT } from './support.mjs';

const ORDER = fs.readFileSync(path.join(ROOT, 'examples/data/order.json'), 'utf8');
const MISSING = fs.readFileSync(path.join(ROOT, 'examples/data/order-missing-price.json'), 'utf8');

test('errors are typed by class and carry code, message, hint and violations', () => {
  assert.throws(
    () => incwo.map('order', MISSING),
    (e) =>
      e instanceof incwo.ContractError &&
      e instanceof incwo.IncwoError &&
      e.class === 'contract' &&
      e.code === 'contract.invalid' &&
      e.violations[0].path === '/lines/0/unitPriceExclTax' &&
      typeof e.hint === 'string',
  );
  assert.throws(() => incwo.validate('orders', '{}'), (e) => e instanceof incwo.UsageError && e.code === 'usage.unknown_kind');
  assert.throws(() => incwo.checkProfile('{}'), (e) => e instanceof incwo.UsageError && Array.isArray(e.problems));
});

test('validate and map take text or objects; money stays exact', () => {
  assert.equal(incwo.validate('order', ORDER).valid, true);
  const mapped = incwo.map('order', JSON.parse(ORDER));
  assert.equal(mapped.totals.inclTax, '598.80');
  assert.match(mapped.xml, /<unit_price>49.90<\/unit_price>/);
});

test('createConnector needs a fetch', () => {
  assert.throws(() => incwo.createConnector({}), (e) => e instanceof incwo.UsageError);
});

function config(port) {
  return { server: `http://127.0.0.1:${port}`, businessFileId: '123456', auth: { type: 'basic', login: 'api@example.fr', password: 'secret' } };
}

test('a refused connection is reported as connect_refused, not sent', async () => {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  const connector = incwo.createConnector({ fetch, config: config(port), timeoutMs: 2000 });
  const answer = await connector.send({ method: 'GET', url: `http://127.0.0.1:${port}/123456/firms.xml`, headers: [], body: '', bodyEncoding: 'utf8' });
  assert.deepEqual(answer.failure, { kind: 'connect_refused', phase: 'connect' });
});

test('a server that never answers is reported as a timeout of unknown phase (may have been sent)', async () => {
  const sockets = [];
  const server = net.createServer((s) => sockets.push(s));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  try {
    const connector = incwo.createConnector({ fetch, config: config(port), timeoutMs: 300 });
    const answer = await connector.send({ method: 'POST', url: `http://127.0.0.1:${port}/123456/firms.xml`, headers: [], body: '<firm/>', bodyEncoding: 'utf8' });
    assert.deepEqual(answer.failure, { kind: 'timeout' });
  } finally {
    sockets.forEach((s) => s.destroy());
    await new Promise((r) => server.close(r));
  }
});

test('a flow run against a closed port defers the record and keeps the password out of the checkpoint', async () => {
  const connector = incwo.createConnector({
    fetch,
    config: { ...config(9), auth: { type: 'basic', login: 'api@example.fr', password: 'p4ss-never-shown' } },
    options: { retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 } },
    timeoutMs: 500,
  });
  const saved = [];
  const result = await connector.sync([{ kind: 'order', record: JSON.parse(ORDER) }], { seed: 1, save: (c) => saved.push(c) });
  assert.equal(result.status, 'done');
  assert.equal(result.summary.total, 1);
  assert.notEqual(result.outcomes[0].outcome, 'synced');
  assert.ok(saved.length >= 2);
  assert.ok(saved.every((c) => !c.includes('p4ss-never-shown')));
  assert.ok(!result.metrics.includes('p4ss-never-shown'));
});

test('an inbound.webhook refusal is an InboundError carrying the status to answer and the whole document', () => {
  let thrown;
  try {
    incwo.call('inbound.webhook', {
      body: '{"zname":"bill_sheets","zid":1}',
      presentedSecret: 'guess',
      settings: { secret: 'whsec-0123456789' },
    });
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof incwo.InboundError, String(thrown));
  assert.ok(thrown instanceof incwo.IncwoError);
  assert.equal(thrown.class, 'inbound');
  assert.equal(thrown.code, 'inbound.bad_secret');
  assert.equal(thrown.status, 403);
  assert.equal(thrown.document.status, 403);
  assert.equal(thrown.document.error.code, 'inbound.bad_secret');
  assert.equal(thrown.toJSON().code, 'inbound.bad_secret');
  // An accepted ping is an answer, not an error.
  const accepted = incwo.call('inbound.webhook', {
    body: '{"zname":"bill_sheets","zid":1}',
    presentedSecret: 'whsec-0123456789',
    settings: { secret: 'whsec-0123456789' },
  });
  assert.equal(accepted.status, 202);
  assert.deepEqual(accepted.target, { resource: 'bill_sheets', id: 1 });
});

test('a flow used after free() is refused with usage.invalid_handle; freeing twice is a no-op', () => {
  const flow = incwo.Flow.start({ config: config(9), records: [{ kind: 'order', record: JSON.parse(ORDER) }], now: 1, seed: 1 });
  assert.equal(flow.poll(1).action, 'send');
  flow.free();
  flow.free();
  assert.throws(
    () => flow.poll(2),
    (e) => e instanceof incwo.UsageError && e.code === 'usage.invalid_handle' && typeof e.hint === 'string',
  );
  assert.throws(() => flow.checkpoint(), (e) => e.code === 'usage.invalid_handle');
  assert.equal(incwo.validate('order', ORDER).valid, true);
});

test('a flow loads a saved marker index, gives its changes and its passes; a bad one is usage.bad_index', () => {
  const flow = incwo.Flow.start({ config: config(9), records: [], now: 1, seed: 1 });
  const saved = { entries: [{ resource: 'firms', marker: 'C-1', found: [{ id: 7 }] }], coverage: {} };
  assert.deepEqual(flow.loadIndex(saved), { ok: true });
  assert.deepEqual(flow.loadIndex(JSON.stringify(saved)), { ok: true });
  assert.deepEqual(flow.takeIndexChanges(), { entries: [], coverage: {} });
  assert.deepEqual(flow.indexProgress(), { passes: [] });
  assert.throws(
    () => flow.loadIndex('{'),
    (e) => e instanceof incwo.UsageError && e.code === 'usage.bad_index' && /rebuilds/.test(e.hint),
  );
  flow.free();
});

test('saveEntries receives changed ledger entries, a create pending before its request leaves; ledger resumes from them', async () => {
  const { startSim } = await import('./support.mjs');
  const sim = await startSim();
  try {
    const { sourceQuote: _quote, ...order } = JSON.parse(ORDER);
    const customer = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples/data/customer.json'), 'utf8'));
    const records = [
      { kind: 'customer', record: customer },
      { kind: 'order', record: order },
    ];
    const stored = new Map();
    let pendingAtSend = null;
    // A fetch that looks at the store when the order's create leaves.
    const watching = (url, init) => {
      if (init.method === 'POST' && url.includes('proposal_sheets')) {
        pendingAtSend = [...stored.values()].find((e) => e.domain === 'order' && e.step === 'create')?.state ?? null;
      }
      return fetch(url, init);
    };
    const connector = incwo.createConnector({ fetch: watching, config: sim.config, options: { company: 'acme' }, timeoutMs: 2000 });
    const batches = [];
    const first = await connector.sync(records, {
      seed: 1,
      saveEntries: (entries) => {
        batches.push(entries.length);
        for (const e of entries) stored.set(e.key, e);
      },
    });
    assert.equal(first.status, 'done');
    assert.deepEqual(first.outcomes.map((o) => o.outcome), ['synced', 'synced']);
    assert.equal(pendingAtSend, 'pending');
    assert.ok(batches.every((n) => n > 0));
    assert.ok([...stored.values()].every((e) => e.state === 'done'));
    assert.ok(first.checkpoint.includes(order.orderNumber));
    // A second delivery resumed from the stored entries creates nothing.
    const again = await connector.sync(records, { seed: 2, ledger: [...stored.values()], saveEntries: () => {} });
    assert.deepEqual(again.outcomes.map((o) => o.outcome), ['skipped', 'skipped']);
    assert.equal(again.requests.POST ?? 0, 0);
    assert.equal((await sim.state()).counts.proposal_sheets, 1);
  } finally {
    await sim.stop();
  }
});

test('sync loads index and hands its changes to saveIndex; a second sync from them reads only the newest pages', async () => {
  const { startSim } = await import('./support.mjs');
  const sim = await startSim();
  try {
    await sim.seed({ firms: 100, prefix: 'OLD' });
    const connector = incwo.createConnector({ fetch, config: sim.config, timeoutMs: 2000 });
    const customer = (id) => ({ kind: 'customer', record: { externalId: id, name: id, kind: 'client' } });
    // The saved index: facts by resource and marker, coverage by resource (a store's merge).
    const facts = new Map();
    const coverage = {};
    const saveIndex = (changes) => {
      assert.ok(changes.entries.length > 0 || Object.keys(changes.coverage).length > 0, 'never empty');
      for (const e of changes.entries) facts.set(`${e.resource}\u0000${e.marker}`, e);
      Object.assign(coverage, changes.coverage);
    };
    await sim.resetRequests();
    const first = await connector.sync([customer('NEW-1')], { seed: 1, saveEntries: () => {}, saveIndex });
    assert.deepEqual(first.outcomes.map((o) => o.outcome), ['synced']);
    assert.ok((await sim.requests()).byResourceMethod.firms.GET >= 5, 'the first sync sweeps the firms');
    assert.ok(facts.size >= 101 && coverage.firms.watermark > 0, `${facts.size} facts, ${JSON.stringify(coverage)}`);

    await sim.resetRequests();
    const index = { entries: [...facts.values()], coverage };
    const second = await connector.sync([customer('NEW-2')], { seed: 2, index, saveEntries: () => {}, saveIndex });
    assert.deepEqual(second.outcomes.map((o) => o.outcome), ['synced']);
    // The newest page or two (the first sync's create is above its watermark), never the 6 of a sweep.
    assert.ok((await sim.requests()).byResourceMethod.firms.GET <= 3, 'the loaded index spares the sweep');
    assert.throws(
      () => connector.start([customer('NEW-3')], { index: '{' }),
      (e) => e instanceof incwo.UsageError && e.code === 'usage.bad_index',
    );
  } finally {
    await sim.stop();
  }
});
