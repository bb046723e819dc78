// A panic inside the core, through the package: `call('debug.panic')` (the
// self-test of the panic barrier) traps the WebAssembly instance; the JS
// layer turns the trap into a typed UsageError and refuses every later call
// of that instance with the same error, without entering the module again.
// In its own file: the instances are unusable afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as node from '../pkg/node.js';
import * as web from '../pkg/web.js';
import { ROOT } from './support.mjs';

const ORDER = fs.readFileSync(path.join(ROOT, 'examples/data/order.json'), 'utf8');
const CONFIG = { server: 'http://127.0.0.1:9', businessFileId: '123456', auth: { type: 'basic', login: 'api@example.fr', password: 'secret' } };

function isPanic(pkg) {
  return (e) =>
    e instanceof pkg.UsageError &&
    e instanceof pkg.IncwoError &&
    e.class === 'usage' &&
    e.code === 'usage.internal_panic' &&
    /panicked/.test(e.message) &&
    /must be reloaded/.test(e.message) &&
    typeof e.hint === 'string' &&
    e.toJSON().code === 'usage.internal_panic';
}

test('node: a panic is a typed UsageError, then every call of the trapped instance throws it', async () => {
  assert.equal(node.validate('order', ORDER).valid, true);
  const flow = node.Flow.start({ config: CONFIG, records: [], now: 0 });

  assert.throws(() => node.call('debug.panic', { message: 'self-test from JS' }), isPanic(node));

  // The instance is not entered again: the same typed error, at once.
  assert.throws(() => node.validate('order', ORDER), isPanic(node));
  assert.throws(() => node.call('telemetry.redact', { text: 'x' }), isPanic(node));
  assert.throws(() => node.version(), isPanic(node));
  assert.throws(() => flow.poll(1), isPanic(node));
  assert.throws(() => node.Flow.start({ config: CONFIG, records: [], now: 0 }), isPanic(node));
  flow.free(); // lets go of the session without entering the module
  const connector = node.createConnector({ fetch, config: CONFIG });
  await assert.rejects(connector.sync([]), isPanic(node));
  // The typed errors that do not come from the module are unchanged.
  assert.throws(() => node.createConnector({}), (e) => e instanceof node.UsageError && e.code === 'usage.bad_arguments');
});

test('web: its own instance works until its own panic, then refuses every call the same way', () => {
  web.initSync(fs.readFileSync(path.join(ROOT, 'wasm/pkg/web/incwo_wasm_bg.wasm')));
  assert.equal(web.validate('order', ORDER).valid, true);
  assert.throws(() => web.call('debug.panic', { message: 'self-test from JS (web)' }), isPanic(web));
  assert.throws(() => web.schema('order'), isPanic(web));
  // Initialising again does not bring a trapped instance back (init is idempotent).
  web.initSync(fs.readFileSync(path.join(ROOT, 'wasm/pkg/web/incwo_wasm_bg.wasm')));
  assert.throws(() => web.schema('order'), isPanic(web));
});
