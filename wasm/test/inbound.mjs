// The inbound side of a scenario (tests/scenarios/README.md, "Inbound"), as
// the Rust runner (examples/cli/src/scenario.rs, listen.rs) and the PHP one
// (bindings/php/tests/InboundHost.php) run it: a real webhook endpoint on
// loopback (node's http.createServer) that answers at once with the status
// of `inbound.webhook` and queues the target, registered with the simulator;
// changes "from the incwo UI"; forged webhooks; and the webhook / poll modes
// through `inbound.fetch` + `inbound.detect` and `inbound.poll`.
//
// Marshalling only: every decision (what to accept, what to re-read, what
// changed, the cursor) comes from the core's calls.
import http from 'node:http';
import { call, InboundError } from '../pkg/node.js';

/** Path prefix of the webhook endpoint; the secret, if any, follows it. */
export const WEBHOOK_PATH = '/incwo/webhook';
/** Largest body read (the core refuses anything over 64 KiB anyway). */
const MAX_BODY = 64 * 1024 + 1;

/** An admin call to the simulator with a raw (text) body; resolves to its JSON. */
async function admin(sim, method, p, body) {
  const res = await fetch(`${sim.base}${p}`, {
    method,
    headers: { connection: 'close', 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** The id of the object whose marker (title, reference…) is `marker`. */
async function idOf(sim, resource, marker) {
  const state = await sim.state();
  const field = state.marker_fields?.[resource] ?? 'title';
  const found = (state.objects?.[resource] ?? []).find((o) => String(o[field] ?? '').trim() === marker);
  if (!found) throw new Error(`no ${resource} with ${field} ${marker} in the simulator`);
  return found.id;
}

/** Replaces `{{id:RESOURCE:MARKER}}` by the object's id. */
async function substitute(sim, text) {
  let out = '';
  let rest = text;
  for (;;) {
    const start = rest.indexOf('{{id:');
    if (start < 0) break;
    out += rest.slice(0, start);
    const after = rest.slice(start + 5);
    const end = after.indexOf('}}');
    if (end < 0) throw new Error('unclosed {{id:…}} placeholder');
    const inner = after.slice(0, end);
    const colon = inner.indexOf(':');
    if (colon < 0) throw new Error('{{id:RESOURCE:MARKER}} expected');
    out += String(await idOf(sim, inner.slice(0, colon), inner.slice(colon + 1)));
    rest = after.slice(end + 2);
  }
  return out + rest;
}

/**
 * The core's intake: `inbound.webhook`'s answer, a refusal included (an
 * `InboundError` carries the core's `{status, error}` as `document`).
 */
export function intake(args) {
  try {
    return call('inbound.webhook', args);
  } catch (error) {
    if (error instanceof InboundError && error.document) return error.document;
    if (error?.document && typeof error.document.status === 'number') return error.document;
    throw error;
  }
}

/** The webhook endpoint: a loopback HTTP server queueing accepted targets. */
class Endpoint {
  constructor(settings) {
    this.settings = settings;
    this.queue = [];
    this.server = http.createServer((req, res) => this.serve(req, res));
  }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
  }

  /** The URL to register in incwo (the secret is a path segment). */
  url(secret) {
    const base = `http://127.0.0.1:${this.port}${WEBHOOK_PATH}`;
    return typeof secret === 'string' ? `${base}/${secret}` : base;
  }

  /** Takes the targets queued so far (the host's message queue). */
  take() {
    return this.queue.splice(0, this.queue.length);
  }

  /** Reads one request, asks the core, answers at once; queues the target. */
  serve(req, res) {
    const answer = (status, body) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' });
      res.end(text);
    };
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      if (size < MAX_BODY) chunks.push(chunk);
      size += chunk.length;
    });
    req.on('error', () => answer(400, { error: 'unreadable request' }));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (!url.pathname.startsWith(WEBHOOK_PATH)) return answer(404, { error: 'not found' });
      if (req.method !== 'POST') return answer(405, { error: 'POST only' });
      const fromPath = url.pathname.slice(WEBHOOK_PATH.length).replace(/^\/+/, '');
      const presentedSecret = fromPath !== '' ? decodeURIComponent(fromPath) : url.searchParams.get('token');
      const body = Buffer.concat(chunks).subarray(0, MAX_BODY);
      let result;
      try {
        result = intake({
          bodyBase64: body.toString('base64'),
          contentType: req.headers['content-type'] ?? null,
          remoteAddr: req.socket.remoteAddress ?? null,
          presentedSecret: presentedSecret ?? null,
          settings: this.settings,
        });
      } catch (error) {
        return answer(500, { error: String(error?.code ?? 'error') });
      }
      if (result.target) this.queue.push(result.target);
      const status = typeof result.status === 'number' ? result.status : 500;
      if (result.error) return answer(status, { error: result.error.code, message: result.error.message });
      return answer(status, { accepted: true });
    });
  }

  async stop() {
    await new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections?.();
    });
  }
}

/** The scenario's inbound side. */
export class InboundHost {
  /**
   * `sim` as startSim returns it; `connector` sends the requests the core
   * builds; `options` the scenario's flow options; `profile` its profile text.
   */
  constructor({ sim, scenario, connector, options, profile }) {
    this.sim = sim;
    this.connector = connector;
    this.spec = scenario.inbound ?? {};
    this.secret = typeof this.spec.secret === 'string' ? this.spec.secret : undefined;
    this.profile = profile;
    this.options = {};
    for (const key of ['tenant', 'company']) if (options?.[key] !== undefined) this.options[key] = options[key];
    this.pollState = null;
    this.endpoint = null;
  }

  /** After the reset: the endpoint, registered with the simulator, when the scenario asks for webhooks. */
  async start() {
    if (this.spec.webhooks !== true) return;
    const settings = { businessFileId: String(this.sim.config.businessFileId) };
    if (this.secret !== undefined) settings.secret = this.secret;
    if (Array.isArray(this.spec.allowNetworks)) settings.allowNetworks = this.spec.allowNetworks;
    this.endpoint = new Endpoint(settings);
    await this.endpoint.start();
    await admin(this.sim, 'PUT', '/_sim/webhooks', JSON.stringify({ url: this.endpoint.url(this.secret), retryMs: 20 }));
  }

  async stop() {
    if (this.endpoint) {
      await admin(this.sim, 'DELETE', '/_sim/webhooks').catch(() => {});
      await this.endpoint.stop();
      this.endpoint = null;
    }
  }

  /** The arguments every inbound call shares, with the ledger as the host keeps it. */
  args(checkpoint, extra) {
    const args = { ...extra, config: this.sim.config, options: this.options, now: Date.now() };
    if (this.profile !== undefined) args.profile = this.profile;
    if (typeof checkpoint === 'string') args.checkpoint = checkpoint;
    else args.entries = [];
    return args;
  }

  /**
   * Applies the step's `incwoChanges` and forged `webhooks`, then runs its
   * `inbound` mode. Resolves to `{events, checkpoint}`: the change events
   * received (`{queue, ...event}`) and the checkpoint to resume from.
   */
  async step(step, checkpoint, label, failures) {
    for (const change of step.incwoChanges ?? []) {
      const { resource, marker } = change;
      if (typeof resource !== 'string' || typeof marker !== 'string') throw new Error('incwoChanges: resource and marker are required');
      const id = await idOf(this.sim, resource, marker);
      if (change.progressId !== undefined) {
        await admin(this.sim, 'PUT', `/_sim/documents/${resource}/${id}/progress`, JSON.stringify({ progress_id: change.progressId }));
      }
      if (typeof change.xml === 'string') await admin(this.sim, 'PUT', `/_sim/objects/${resource}/${id}`, change.xml);
      if (change.delete === true) await admin(this.sim, 'DELETE', `/_sim/objects/${resource}/${id}`);
    }
    for (const [i, hook] of (step.webhooks ?? []).entries()) {
      if (!this.endpoint) throw new Error('webhooks need "inbound": {"webhooks": true} in the scenario');
      const raw = typeof hook.body === 'string' ? hook.body : JSON.stringify(hook.body);
      const body = await substitute(this.sim, raw);
      const secret = Object.prototype.hasOwnProperty.call(hook, 'secret')
        ? typeof hook.secret === 'string'
          ? hook.secret
          : undefined
        : this.secret;
      const res = await fetch(this.endpoint.url(secret), {
        method: 'POST',
        headers: { connection: 'close', 'content-type': hook.contentType ?? 'application/json' },
        body,
      });
      await res.arrayBuffer();
      if (typeof hook.expectStatus === 'number' && res.status !== hook.expectStatus) {
        failures.push(`${label}: webhook ${i + 1} answered ${res.status}, expected ${hook.expectStatus}`);
      }
    }
    const mode = typeof step.inbound === 'string' ? step.inbound : step.inbound?.mode;
    if (mode === undefined || mode === null) return { events: [], checkpoint };
    let publications;
    if (mode === 'webhook') {
      if (!this.endpoint) throw new Error('inbound webhook mode needs "inbound": {"webhooks": true} in the scenario');
      // The simulator delivers in the background: wait until none is pending.
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const log = await admin(this.sim, 'GET', '/_sim/webhooks');
        if ((log?.pending ?? 0) === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      ({ publications, checkpoint } = await this.process(this.endpoint.take(), checkpoint, label, failures));
    } else if (mode === 'poll') {
      const budget = typeof step.inbound?.pageBudget === 'number' ? step.inbound.pageBudget : 10;
      ({ publications, checkpoint } = await this.poll(budget, checkpoint, label, failures));
    } else {
      throw new Error(`${label}: unknown inbound mode ${JSON.stringify(mode)} (webhook or poll)`);
    }
    return { events: publications.map((p) => ({ ...p.event, queue: p.queue })), checkpoint };
  }

  /** The worker: re-reads each queued target and compares it with the ledger. */
  async process(targets, checkpoint, label, failures) {
    const publications = [];
    for (const target of targets) {
      const what = JSON.stringify(target);
      let request;
      try {
        ({ request } = call('inbound.fetch', this.args(checkpoint, { target })));
      } catch (error) {
        failures.push(`${label}: ${what}: inbound.fetch: ${error.message}`);
        continue;
      }
      const sent = await this.connector.send(request);
      if (!sent.response) {
        failures.push(`${label}: ${what}: re-reading failed in transport (${sent.failure?.kind})`);
        continue;
      }
      let result;
      try {
        result = call('inbound.detect', this.args(checkpoint, { target, response: sent.response, source: 'webhook' }));
      } catch (error) {
        failures.push(`${label}: ${what}: inbound.detect: ${error.code} ${error.message}`);
        continue;
      }
      if (typeof result.checkpoint === 'string') checkpoint = result.checkpoint;
      publications.push(...(result.events ?? []));
    }
    return { publications, checkpoint };
  }

  /** One polling run; the poll state is kept for the next step. */
  async poll(pageBudget, checkpoint, label, failures) {
    const publications = [];
    let result = call('inbound.poll', this.args(checkpoint, { state: this.pollState, pageBudget }));
    for (;;) {
      if (typeof result.checkpoint === 'string') checkpoint = result.checkpoint;
      publications.push(...(result.events ?? []));
      this.pollState = result.state ?? this.pollState;
      if (result.stopped) {
        failures.push(`${label}: polling stopped: ${JSON.stringify(result.stopped)}`);
        break;
      }
      if (result.done === true || !result.request) break;
      const sent = await this.connector.send(result.request);
      if (!sent.response) {
        failures.push(`${label}: a list page could not be read (transport: ${sent.failure?.kind})`);
        break;
      }
      result = call('inbound.poll', this.args(checkpoint, { state: result.state, response: sent.response }));
    }
    return { publications, checkpoint };
  }
}
