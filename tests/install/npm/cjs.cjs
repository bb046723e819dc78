// The installed npm package required from CommonJS (node 20.19+ loads the
// ES module graph synchronously through require).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { validate, map, version } = require('incwo-connector-wasm');

const root = process.env.INCWO_REPO_ROOT;
const order = fs.readFileSync(path.join(root, 'examples/data/order.json'), 'utf8');
assert.equal(validate('order', order).valid, true);
assert.equal(map('order', order).totals.inclTax, '598.80');
assert.equal(version(), process.env.INCWO_EXPECTED_VERSION);
const lean = require('incwo-connector-wasm/lean');
assert.equal(lean.map('order', order).xml, map('order', order).xml);
console.log('cjs: validate and map from require(), the full and the lean entry');
