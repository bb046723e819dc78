// The installed package's web build in workerd (through miniflare): a Worker
// that imports it validates and maps an order. The modules are the files of
// node_modules/incwo-connector-wasm, named as the Worker imports them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const ROOT = process.env.INCWO_REPO_ROOT;
const APP = process.cwd();
const PKG = path.join(APP, 'node_modules/incwo-connector-wasm');
const { Miniflare } = createRequire(path.join(ROOT, 'wasm/package.json'))('miniflare');
const file = (name, type, source) => ({ type, path: path.join(APP, name), contents: fs.readFileSync(source) });
const mf = new Miniflare({
  modules: [
    { type: 'ESModule', path: path.join(APP, 'worker.mjs') },
    file('incwo-connector-wasm/web', 'ESModule', path.join(PKG, 'web.js')),
    file('incwo-connector-wasm/layer.js', 'ESModule', path.join(PKG, 'layer.js')),
    file('incwo-connector-wasm/web/incwo_wasm.js', 'ESModule', path.join(PKG, 'web/incwo_wasm.js')),
    file('incwo-connector-wasm/incwo.wasm', 'CompiledWasm', path.join(PKG, 'web/incwo_wasm_bg.wasm')),
  ],
  modulesRoot: APP,
  compatibilityDate: '2025-01-01',
});
try {
  const order = fs.readFileSync(path.join(ROOT, 'examples/data/order.json'), 'utf8');
  const res = await mf.dispatchFetch('http://worker/map', { method: 'POST', body: order });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.valid, true);
  assert.equal(body.inclTax, '598.80');
  assert.equal(body.version, process.env.INCWO_EXPECTED_VERSION);
  console.log('workerd: the installed web build validated and mapped an order');
} finally {
  await mf.dispose();
}
