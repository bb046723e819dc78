// The README's node example (wasm/npm/README.md, "Node 20") run from the
// installed package as the caller loaded it (`import` in esm.mjs, `require`
// in cjs.cjs): validate, map, a contract error, then the connector's sync of
// the example batch against incwo-sim over loopback HTTP.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Runs the example with `lib` (the package's exports); `label` names the check. */
export async function readmeExample(lib, label) {
  const { validate, map, createConnector, version, ContractError } = lib;
  const ROOT = process.env.INCWO_REPO_ROOT;
  const { startSim } = await import(pathToFileURL(path.join(ROOT, 'wasm/test/support.mjs')).href);
  assert.equal(version(), process.env.INCWO_EXPECTED_VERSION, 'the core inside the package carries the workspace version');

  const orderText = fs.readFileSync(path.join(ROOT, 'examples/data/order.json'), 'utf8');
  assert.equal(validate('order', orderText).valid, true);
  assert.match(map('order', orderText).xml, /<unit_price>49.90<\/unit_price>/);
  assert.equal(map('order', orderText).totals.inclTax, '598.80');
  assert.throws(() => map('order', fs.readFileSync(path.join(ROOT, 'examples/data/order-missing-price.json'), 'utf8')), ContractError);

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
    console.log(`${label}: ${result.summary.synced} records synced, requests ${JSON.stringify(result.requests)}`);
  } finally {
    await sim.stop();
  }
}
