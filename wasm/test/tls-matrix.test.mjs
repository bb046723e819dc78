// The TLS fault matrix (tests/tls/order-create.json) with node's fetch and
// with workerd's fetch (miniflare): over HTTPS against incwo-sim in TLS mode,
// the order create meets each TLS fault once, and the simulator holds exactly
// one order, no duplicate, and the record ended synced. node reads
// NODE_EXTRA_CA_CERTS only at start, so this file starts the simulator (which
// writes its test CA), then runs itself again in a node process trusting that
// CA; workerd trusts it through its outbound network's
// `tlsOptions.trustedCertificates`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createConnector } from '../pkg/node.js';
import { ROOT, startSim, adminFetch } from './support.mjs';

const MATRIX = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/tls/order-create.json'), 'utf8'));
const SIM_BASE = process.env.INCWO_TLS_SIM_BASE;

if (SIM_BASE === undefined) {
  test('the TLS fault matrix runs in a node process that trusts the test CA', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'incwo-js-tls-'));
    const sim = await startSim({ tlsDir: path.join(dir, 'ca') });
    try {
      assert.match(sim.base, /^https:/);
      // A plain `node file` run (node:test reports and sets the exit code); without the parent's
      // NODE_TEST_CONTEXT, which would make the child skip its tests.
      const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
        env: { ...env, NODE_EXTRA_CA_CERTS: path.join(dir, 'ca', 'ca.pem'), INCWO_TLS_SIM_BASE: sim.base },
        stdio: 'inherit',
        timeout: 120_000,
      });
      assert.equal(child.status, 0, 'the TLS fault matrix failed (see above)');
    } finally {
      await sim.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
} else {
  const admin = async (method, p, body) => {
    const res = await adminFetch(`${SIM_BASE}/_sim/${p}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    assert.ok(res.status < 400, `${method} /_sim/${p}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const config = {
    server: SIM_BASE,
    businessFileId: '123456',
    auth: { type: 'basic', login: 'api@example.fr', password: 'secret' },
    allowInsecureHttp: false,
  };

  /** Runs the order-create scenario under `rule` with `sync(records, checkpoint, seed)`. */
  async function orderCreate(rule, sync) {
    await admin('POST', 'reset');
    const setup = await sync(MATRIX.setup, null, 1);
    assert.deepEqual(setup.outcomes.map((o) => o?.outcome), ['synced', 'synced']);
    await admin('POST', 'faults', [rule]);
    // No admin call until the order is synced: a handshake fault strikes the next new connection.
    const result = await sync(MATRIX.order, setup.checkpoint, 2);
    const state = await admin('GET', 'state');
    assert.equal(state.counters.faults_fired[rule.fault.kind], 1, JSON.stringify(state.counters));
    assert.deepEqual(state.duplicates, []);
    assert.equal(state.counts.proposal_sheets, 1, 'exactly one order');
    assert.equal(state.objects.proposal_sheets[0].sheet_type, 'order');
    assert.deepEqual(result.outcomes.map((o) => o?.outcome), ['synced'], JSON.stringify(result.outcomes));
  }

  for (const [name, rule] of Object.entries(MATRIX.faults)) {
    test(`node fetch, ${name}: exactly one order, synced`, async () => {
      const connector = createConnector({ fetch: globalThis.fetch, config, options: MATRIX.options, timeoutMs: 2000 });
      await orderCreate(rule, (records, checkpoint, seed) => connector.sync(records, { checkpoint, seed }));
    });
  }

  const PKG = path.join(ROOT, 'wasm/pkg');
  const { Miniflare } = createRequire(path.join(ROOT, 'wasm/package.json'))('miniflare');
  const file = (name, type, source) => ({ type, path: path.join(ROOT, 'wasm/test/fixtures', name), contents: fs.readFileSync(source) });
  const options = {
    modules: [
      { type: 'ESModule', path: path.join(ROOT, 'wasm/test/fixtures/tls-worker.js') },
      file('incwo-connector-wasm/web', 'ESModule', path.join(PKG, 'web.js')),
      file('incwo-connector-wasm/layer.js', 'ESModule', path.join(PKG, 'layer.js')),
      file('incwo-connector-wasm/web/incwo_wasm.js', 'ESModule', path.join(PKG, 'web/incwo_wasm.js')),
      file('incwo-connector-wasm/incwo.wasm', 'CompiledWasm', path.join(PKG, 'web/incwo_wasm_bg.wasm')),
    ],
    modulesRoot: path.join(ROOT, 'wasm/test/fixtures'),
    compatibilityDate: '2025-01-01',
    host: '127.0.0.1',
    port: 0,
    // workerd's own TLS client, trusting the simulator's test CA (and only loopback).
    outboundService: {
      network: { allow: ['local'], tlsOptions: { trustedCertificates: [fs.readFileSync(process.env.NODE_EXTRA_CA_CERTS, 'utf8')] } },
    },
    bindings: { INCWO_CONFIG: JSON.stringify(config), INCWO_OPTIONS: JSON.stringify(MATRIX.options) },
  };

  /**
   * One sync in a fresh workerd: workerd keeps its outbound connections alive whatever the
   * request's `connection` header says, and a handshake fault strikes only a new connection.
   */
  async function workerdSync(records, checkpoint, seed) {
    const mf = new Miniflare(options);
    try {
      const url = await mf.ready;
      const res = await fetch(new URL('/sync', url), { method: 'POST', body: JSON.stringify({ records, checkpoint, seed }) });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      return JSON.parse(text);
    } finally {
      await mf.dispose();
    }
  }

  for (const [name, rule] of Object.entries(MATRIX.faults)) {
    test(`workerd fetch, ${name}: exactly one order, synced`, () => orderCreate(rule, workerdSync));
  }
}
