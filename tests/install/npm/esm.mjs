// The npm package as a user installs it (npm pack → npm install in a fresh
// project), imported as an ES module: the README's node example, synced
// against incwo-sim over loopback HTTP (readme.mjs), then the lean entry.
// Run by `./scripts/test install`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as lib from 'incwo-connector-wasm';
import * as lean from 'incwo-connector-wasm/lean';
import { readmeExample } from './readme.mjs';

const installed = createRequire(import.meta.url)('incwo-connector-wasm/package.json');
assert.equal(installed.version, process.env.INCWO_EXPECTED_VERSION, 'the installed package carries the workspace version');
await readmeExample(lib, 'esm');

// The lean entry (validate, map, classify; its own, smaller module): bytes in and out, batches.
const orderText = fs.readFileSync(path.join(process.env.INCWO_REPO_ROOT, 'examples/data/order.json'), 'utf8');
const leanXml = lean.mapBytes('order', new TextEncoder().encode(orderText)).xml;
assert.equal(new TextDecoder().decode(leanXml), lib.map('order', orderText).xml);
assert.deepEqual(lean.mapMany('order', [orderText, orderText]).map((r) => r.totals.inclTax), ['598.80', '598.80']);
assert.equal(lean.Flow, undefined, 'the lean module has no flow');
assert.throws(() => lean.map('order', '{}'), lib.ContractError, 'one set of error classes');
console.log('esm: the lean entry maps as the full one');
