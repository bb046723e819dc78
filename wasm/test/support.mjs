// Test support: the vectors' subset matching rule, and the simulator
// (incwo-sim) started as a child process on a free loopback port.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The matching rule of tests/vectors/README.md: an object matches when
 * every key it names matches; an array when it has the same length and each
 * element matches; scalars when equal. Returns null or the first difference.
 */
export function subsetMatch(expected, actual, at = '') {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return `${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
    }
    for (const [key, value] of Object.entries(expected)) {
      if (!Object.prototype.hasOwnProperty.call(actual, key)) return `${at}/${key}: missing`;
      const diff = subsetMatch(value, actual[key], `${at}/${key}`);
      if (diff) return diff;
    }
    return null;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${at}: expected an array, got ${JSON.stringify(actual)}`;
    if (expected.length !== actual.length) return `${at}: expected ${expected.length} items, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const diff = subsetMatch(expected[i], actual[i], `${at}/${i}`);
      if (diff) return diff;
    }
    return null;
  }
  return expected === actual ? null : `${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

/** A fetch that never reuses a connection (admin calls). */
export function adminFetch(url, init = {}) {
  return fetch(url, { ...init, headers: { connection: 'close', 'content-type': 'application/json', ...(init.headers ?? {}) } });
}

/**
 * Starts incwo-sim on a free port; resolves to `{base, stop, reset, state, faults}`. With `tlsDir`,
 * in TLS mode: HTTPS only, its test CA written to `tlsDir/ca.pem` (the admin calls need a fetch
 * that trusts it, e.g. NODE_EXTRA_CA_CERTS).
 */
export async function startSim({ tlsDir } = {}) {
  const bin = process.env.INCWO_SIM_BIN ?? path.join(ROOT, 'target/debug/incwo-sim');
  const args = ['--port', '0', ...(tlsDir ? ['--tls-dir', tlsDir] : [])];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (l) => resolve(l));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`incwo-sim exited with ${code}`)));
  });
  const match = /listening on (https?:\/\/127\.0\.0\.1:\d+)/.exec(line);
  if (!match) throw new Error(`unexpected first line from incwo-sim: ${line}`);
  const base = match[1];
  const admin = async (method, p, body) => {
    const res = await adminFetch(`${base}/_sim/${p}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} /_sim/${p}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return {
    base,
    config: {
      server: base,
      businessFileId: '123456',
      auth: { type: 'basic', login: 'api@example.fr', password: 'secret' },
      allowInsecureHttp: false,
    },
    reset: () => admin('POST', 'reset'),
    state: () => admin('GET', 'state'),
    clearFaults: () => admin('DELETE', 'faults'),
    addFaults: (rules) => admin('POST', 'faults', rules),
    /** `POST /_sim/seed`: bulk pre-existing objects, e.g. `{firms: 400, prefix: 'OLD'}`. */
    seed: (seed) => admin('POST', 'seed', seed),
    /** `GET /_sim/counts`: objects by resource and `duplicatesTotal`. */
    counts: () => admin('GET', 'counts'),
    /** `GET /_sim/requests`: API requests since the last reset (`byResourceMethod`…). */
    requests: () => admin('GET', 'requests'),
    resetRequests: () => admin('POST', 'requests/reset'),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill();
      }),
  };
}
