// The lean and the full web entry in workerd (miniflare): every golden
// vector of the record path (validate, map, classify; text and bytes in),
// and mapMany in each input shape, give the answers the node entry gives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as nodeFull from '../pkg/node.js';
import { ROOT, subsetMatch } from './support.mjs';
import { recordCases } from './record-vectors.mjs';
import { mapManyShapes } from './fixtures/record-runner.js';

const PKG = process.env.INCWO_WASM_PKG ?? path.join(ROOT, 'wasm/pkg');
const FIXTURES = path.join(ROOT, 'wasm/test/fixtures');
const { Miniflare } = createRequire(path.join(ROOT, 'wasm/package.json'))('miniflare');
const file = (name, type, source) => ({ type, path: path.join(FIXTURES, name), contents: fs.readFileSync(source) });

let mf;
let url;
before(async () => {
  mf = new Miniflare({
    modules: [
      { type: 'ESModule', path: path.join(FIXTURES, 'records-worker.js') },
      { type: 'ESModule', path: path.join(FIXTURES, 'record-runner.js') },
      file('incwo-connector-wasm/lean', 'ESModule', path.join(PKG, 'lean-web.js')),
      file('incwo-connector-wasm/web', 'ESModule', path.join(PKG, 'web.js')),
      file('incwo-connector-wasm/layer.js', 'ESModule', path.join(PKG, 'layer.js')),
      file('incwo-connector-wasm/lean-web/incwo_lean.js', 'ESModule', path.join(PKG, 'lean-web/incwo_lean.js')),
      file('incwo-connector-wasm/web/incwo_wasm.js', 'ESModule', path.join(PKG, 'web/incwo_wasm.js')),
      file('incwo-connector-wasm/lean.wasm', 'CompiledWasm', path.join(PKG, 'lean-web/incwo_lean_bg.wasm')),
      file('incwo-connector-wasm/incwo.wasm', 'CompiledWasm', path.join(PKG, 'web/incwo_wasm_bg.wasm')),
    ],
    modulesRoot: FIXTURES,
    compatibilityDate: '2025-01-01',
  });
  url = await mf.ready;
});
after(() => mf?.dispose());

async function post(pathname, body) {
  const res = await fetch(new URL(pathname, url), { method: 'POST', body: JSON.stringify(body) });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

const cases = recordCases();

for (const build of ['lean', 'full']) {
  for (const bytes of [false, true]) {
    test(`workerd, ${build} module, ${bytes ? 'bytes' : 'text'} in: every record-path vector`, async () => {
      assert.ok(cases.length >= 80, `only ${cases.length} vectors`);
      const actuals = await post('/run', { build, bytes, cases: cases.map(({ expected, ...c }) => c) });
      assert.equal(actuals.length, cases.length);
      cases.forEach((c, i) => {
        const diff = subsetMatch(c.expected, actuals[i]);
        assert.equal(diff, null, `${c.name}: ${diff}\n  actual: ${JSON.stringify(actuals[i])}`);
      });
    });
  }

  test(`workerd, ${build} module: mapMany in each input shape gives node's results`, async () => {
    const records = ['order.json', 'order-missing-price.json'].map((f) => fs.readFileSync(path.join(ROOT, 'examples/data', f), 'utf8'));
    const shapes = await post('/many', { build, kind: 'order', records });
    const expected = mapManyShapes(nodeFull, 'order', records);
    assert.ok(shapes.texts[0].xml.startsWith('<proposal_sheet>') && shapes.texts[1].error.code === 'contract.invalid');
    assert.deepEqual(shapes, JSON.parse(JSON.stringify(expected)));
  });
}
