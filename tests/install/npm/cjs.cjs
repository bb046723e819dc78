// The installed npm package required from CommonJS (node 20.19+ loads the
// ES module graph synchronously through require): the same README example as
// esm.mjs, the sync against incwo-sim included, with the package's exports
// as require() returns them, and the lean entry. Run by `./scripts/test install`.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const lib = require('incwo-connector-wasm');

if (typeof lib.createConnector !== 'function') {
  throw new Error('require("incwo-connector-wasm") has no createConnector');
}
const lean = require('incwo-connector-wasm/lean');
const order = fs.readFileSync(path.join(process.env.INCWO_REPO_ROOT, 'examples/data/order.json'), 'utf8');
assert.equal(lean.map('order', order).xml, lib.map('order', order).xml);
import(pathToFileURL(path.join(__dirname, 'readme.mjs')).href)
  .then(({ readmeExample }) => readmeExample(lib, 'cjs'))
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
