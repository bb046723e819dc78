// The lean module (`incwo-connector-wasm/lean`, node entry): every golden
// vector of the record path (validate, map, classify), with text and with
// bytes in, gives the vector's answer and the full module's; mapBytes and
// mapMany (arrays of texts / bytes / objects, JSON array and JSON Lines
// buffers) give map's results; bad batches are refused with their code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as lean from '../pkg/lean-node.js';
import * as full from '../pkg/node.js';
import { ROOT, subsetMatch } from './support.mjs';
import { recordCases } from './record-vectors.mjs';
import { runCase, mapManyShapes } from './fixtures/record-runner.js';

const cases = recordCases();
const ORDER = fs.readFileSync(path.join(ROOT, 'examples/data/order.json'), 'utf8');
const MISSING = fs.readFileSync(path.join(ROOT, 'examples/data/order-missing-price.json'), 'utf8');
const encoder = new TextEncoder();

test('the record path has its golden vectors (validate, map, classify)', () => {
  for (const call of ['validate', 'map', 'classify']) {
    assert.ok(cases.filter((c) => c.call === call).length >= 10, `too few ${call} vectors`);
  }
});

test('the lean module holds the record path only, and shares the typed errors', () => {
  assert.equal(typeof lean.classify, 'function');
  assert.equal(lean.call, undefined);
  assert.equal(lean.Flow, undefined);
  assert.equal(lean.createConnector, undefined);
  assert.equal(lean.IncwoError, full.IncwoError);
  assert.equal(lean.version(), full.version());
});

for (const c of cases) {
  test(`lean: vector ${c.name} (text and bytes), as the full module answers`, () => {
    for (const bytes of [false, true]) {
      const actual = runCase(lean, c, { bytes });
      const diff = subsetMatch(c.expected, actual);
      assert.equal(diff, null, `${bytes ? 'bytes' : 'text'}: ${diff}\n  actual: ${JSON.stringify(actual)}`);
      assert.deepEqual(actual, runCase(full, c, { bytes }));
    }
    if (c.call === 'classify') {
      // The full module's classify is the façade's call('classify').
      let viaCall;
      try {
        viaCall = full.call('classify', c.args);
      } catch (error) {
        viaCall = { error: error.toJSON() };
      }
      assert.deepEqual(runCase(full, c), viaCall);
    }
  });
}

test('mapBytes gives map\'s result with the XML as UTF-8 bytes; bytes in are read as UTF-8', () => {
  for (const api of [lean, full]) {
    const text = api.map('order', ORDER);
    const bytes = api.mapBytes('order', encoder.encode(ORDER));
    assert.ok(bytes.xml instanceof Uint8Array);
    assert.deepEqual(Buffer.from(bytes.xml), Buffer.from(text.xml, 'utf8'));
    assert.deepEqual({ ...bytes, xml: text.xml }, text);
    assert.throws(() => api.mapBytes('order', MISSING), (e) => e instanceof api.ContractError && e.violations.length > 0);
    // A batch's XMLs are views into one buffer, each the bytes mapBytes gives.
    const batch = api.mapMany('order', [ORDER, MISSING, ORDER], null, { bytes: true });
    assert.equal(batch[1].error.code, 'contract.invalid');
    for (const i of [0, 2]) {
      assert.deepEqual({ ...batch[i], xml: Buffer.from(batch[i].xml) }, { ...bytes, xml: Buffer.from(bytes.xml) });
    }
    assert.equal(batch[0].xml.buffer, batch[2].xml.buffer);
    const invalid = new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]);
    assert.throws(
      () => api.map('order', invalid),
      (e) => e instanceof api.UsageError && e.code === 'usage.bad_arguments',
    );
  }
});

test('mapMany gives one result per record, in order, in every input shape', () => {
  const records = [ORDER, MISSING, ...cases.filter((c) => c.call === 'map' && !c.profile).map((c) => c.input)];
  const one = (api, text) => {
    try {
      return api.map('order', text);
    } catch (error) {
      return { error: error.toJSON() };
    }
  };
  for (const api of [lean, full]) {
    const expected = records.map((r) => one(api, r));
    assert.ok(expected.some((r) => r.error) && expected.some((r) => r.xml), 'valid and invalid records');
    const shapes = mapManyShapes(api, 'order', records);
    for (const [shape, results] of Object.entries(shapes)) assert.deepEqual(results, expected, shape);
    assert.deepEqual(api.mapMany('order', `[${records.join(',')}]`), expected, 'JSON array text');
    assert.deepEqual(api.mapMany('order', records.map((r) => JSON.parse(r))), records.map((r) => one(api, JSON.parse(r))), 'objects');
    assert.deepEqual(api.mapMany('order', `\r\n${JSON.stringify(JSON.parse(ORDER))}\r\n\r\n`), [expected[0]], 'blank lines');
    assert.deepEqual(api.mapMany('order', []), []);
  }
});

test('mapMany refuses a batch it cannot read, and reports a bad kind per record', () => {
  for (const api of [lean, full]) {
    assert.throws(() => api.mapMany('order', '[{"a": 1},'), (e) => e instanceof api.UsageError && e.code === 'usage.malformed_json');
    assert.throws(() => api.mapMany('order', 42), (e) => e instanceof api.UsageError && e.code === 'usage.bad_arguments');
    assert.throws(
      () => api.mapMany('order', new Uint8Array([0xc3])),
      (e) => e instanceof api.UsageError && e.code === 'usage.bad_arguments',
    );
    assert.throws(
      () => api.mapMany('order', [ORDER, undefined]),
      (e) => e instanceof api.UsageError && e.code === 'usage.bad_arguments',
    );
    const [unknown] = api.mapMany('orders', [ORDER]);
    assert.equal(unknown.error.code, 'usage.unknown_kind');
  }
});
