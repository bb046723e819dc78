// The npm package as a user installs it (npm pack → npm install in a fresh
// project), imported as an ES module: the README's node example, synced
// against incwo-sim over loopback HTTP. Run by `./scripts/test install`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { validate, map, createConnector, version, ContractError } from 'incwo-connector-wasm';
import * as lean from 'incwo-connector-wasm/lean';

const ROOT = process.env.INCWO_REPO_ROOT;
const { startSim } = await import(path.join(ROOT, 'wasm/test/support.mjs'));
const installed = createRequire(import.meta.url)('incwo-connector-wasm/package.json');
assert.equal(installed.version, process.env.INCWO_EXPECTED_VERSION, 'the installed package carries the workspace version');
assert.equal(version(), process.env.INCWO_EXPECTED_VERSION, 'the core inside it too');

const orderText = fs.readFileSync(path.join(ROOT, 'examples/data/order.json'), 'utf8');
const report = validate('order', orderText);
assert.equal(report.valid, true);
assert.match(map('order', orderText).xml, /<unit_price>49.90<\/unit_price>/);
assert.throws(() => map('order', fs.readFileSync(path.join(ROOT, 'examples/data/order-missing-price.json'), 'utf8')), ContractError);
// The lean entry (validate, map, classify; its own, smaller module): bytes in and out, batches.
const leanXml = lean.mapBytes('order', new TextEncoder().encode(orderText)).xml;
assert.equal(new TextDecoder().decode(leanXml), map('order', orderText).xml);
assert.deepEqual(lean.mapMany('order', [orderText, orderText]).map((r) => r.totals.inclTax), ['598.80', '598.80']);
assert.equal(lean.Flow, undefined, 'the lean module has no flow');
assert.throws(() => lean.map('order', '{}'), ContractError, 'one set of error classes');

const sim = await startSim();
try {
  const saved = [];
  const connector = createConnector({ fetch, config: sim.config, options: { company: 'acme' }, timeoutMs: 10_000 });
  const records = fs.readFileSync(path.join(ROOT, 'examples/data/batch.jsonl'), 'utf8');
  const result = await connector.sync(records, { seed: 42, save: (checkpoint) => saved.push(checkpoint), publish: () => {} });
  assert.equal(result.status, 'done', JSON.stringify(result.summary));
  assert.equal(result.summary.quarantined, 0);
  assert.ok(saved.length > 0, 'the checkpoint is saved before requests leave');
  const state = await sim.state();
  // The batch: customer, product, quote, order, invoice.
  assert.deepEqual([state.counts.firms, state.counts.proposal_sheets, state.counts.bill_sheets], [1, 2, 1], JSON.stringify(state.counts));
  assert.deepEqual(state.duplicates, [], 'no document twice');
  console.log(`esm: ${result.summary.synced} records synced, requests ${JSON.stringify(result.requests)}`);
} finally {
  await sim.stop();
}
