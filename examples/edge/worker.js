// Edge function (Cloudflare Worker module, runs in workerd): an order
// webhook. POST /orders with `{"order": {...}, "customer"?: {...},
// "products"?: [...]}`: every record is validated by the connector core
// (400 with the violations when one breaks the contract), then the flow
// syncs them to the configured incwo server and the answer carries the
// outcome.
//
// Configuration (wrangler.toml vars / secrets): INCWO_SERVER,
// INCWO_BUSINESS_FILE_ID, INCWO_LOGIN, INCWO_PASSWORD (a secret),
// optional INCWO_PROFILE (mapping profile JSON), INCWO_COMPANY,
// INCWO_FLOW_OPTIONS (JSON), INCWO_TIMEOUT_MS, and an optional Queue
// binding EVENTS that receives the confirmation events. The KV binding
// LEDGER keeps the flow's checkpoint (its idempotency ledger) between
// deliveries, so a webhook delivered twice never creates a second order.
//
// POST /incwo/webhook/:secret is incwo's own webhook (its "Webhooks" app):
// the core's intake (`inbound.webhook`) checks the ping (secret, source
// network from CF-Connecting-IP, business file, body) and the Worker answers
// at once with the status it gives; an accepted ping is re-read after the
// answer (`ctx.waitUntil`: `inbound.fetch`, fetch, `inbound.detect` against
// the ledger in LEDGER) and each change event (`quote.accepted`,
// `invoice.paid`…) goes to EVENTS when bound, and to the log as a JSON line.
// Settings: INCWO_WEBHOOK_SECRET (the URL's last segment), optional
// INCWO_WEBHOOK_ALLOW (comma-separated networks, e.g. 185.16.44.0/24).
import { initSync, validate, createConnector, call, IncwoError, bytesToBase64 } from 'incwo-connector-wasm/web';
import wasmModule from 'incwo-connector-wasm/incwo.wasm';

const LEDGER_KEY = 'incwo-flow-checkpoint';

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body, null, 2), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

function connectionConfig(env) {
  return {
    server: env.INCWO_SERVER,
    businessFileId: String(env.INCWO_BUSINESS_FILE_ID ?? ''),
    auth: { type: 'basic', login: env.INCWO_LOGIN, password: env.INCWO_PASSWORD },
    allowInsecureHttp: env.INCWO_ALLOW_INSECURE_HTTP === 'true',
  };
}

/** The webhook's records, in the order the flow needs them. */
function recordsOf(payload) {
  const records = [];
  if (payload.customer !== undefined) records.push({ kind: 'customer', record: payload.customer });
  for (const product of payload.products ?? []) records.push({ kind: 'product', record: product });
  records.push({ kind: 'order', record: payload.order });
  return records;
}

/** The HTTP status answering an order's outcome. */
function statusOf(outcome, summary) {
  if (summary.stopped) return 502;
  switch (outcome?.outcome) {
    case 'synced':
    case 'skipped':
      return 200;
    case 'deferred':
      return 503;
    case 'quarantined':
      return outcome.error?.class === 'contract' ? 422 : 409;
    default:
      return 500;
  }
}

async function handleOrder(request, env) {
  let payload;
  try {
    payload = JSON.parse(await request.text());
  } catch {
    return json(400, { error: { class: 'usage', code: 'webhook.malformed_json', message: 'the body is not JSON' } });
  }
  if (payload === null || typeof payload !== 'object' || typeof payload.order !== 'object' || payload.order === null) {
    return json(400, {
      error: { class: 'usage', code: 'webhook.no_order', message: 'the body must be {"order": {...}, "customer"?, "products"?}' },
    });
  }
  const profile = env.INCWO_PROFILE;
  const records = recordsOf(payload);
  const violations = [];
  for (const { kind, record } of records) {
    const report = validate(kind, JSON.stringify(record), profile ?? null);
    if (!report.valid) violations.push(...report.violations.map((v) => ({ record: kind, ...v })));
  }
  if (violations.length > 0) return json(400, { valid: false, violations });

  const connector = createConnector({
    fetch: (url, init) => fetch(url, init),
    config: connectionConfig(env),
    profile,
    options: { company: env.INCWO_COMPANY ?? 'default', ...(env.INCWO_FLOW_OPTIONS ? JSON.parse(env.INCWO_FLOW_OPTIONS) : {}) },
    timeoutMs: Number(env.INCWO_TIMEOUT_MS ?? 10000),
  });
  // The ledger of earlier deliveries: saved before every request leaves.
  const checkpoint = env.LEDGER ? await env.LEDGER.get(LEDGER_KEY) : null;
  const result = await connector.sync(records, {
    checkpoint,
    save: env.LEDGER ? (text) => env.LEDGER.put(LEDGER_KEY, text) : undefined,
    // The jitter seed is the host's choice; the core draws no randomness.
    seed: Date.now(),
    publish: env.EVENTS ? (queue, event) => env.EVENTS.send({ queue, event }) : undefined,
  });
  const outcome = result.outcomes[result.outcomes.length - 1];
  const status = statusOf(outcome, result.summary);
  const headers = {};
  if (outcome?.outcome === 'deferred') {
    headers['retry-after'] = String(Math.max(1, Math.ceil((outcome.notBefore - Date.now()) / 1000)));
  }
  return json(
    status,
    {
      outcome,
      records: records.map(({ kind }, i) => ({ kind, outcome: result.outcomes[i] })),
      summary: result.summary,
      published: result.published,
    },
    headers,
  );
}

const WEBHOOK_PATH = '/incwo/webhook';

/** The core's intake answer, a refusal included (its document carries the status). */
function intake(args) {
  try {
    return call('inbound.webhook', args);
  } catch (error) {
    if (error instanceof IncwoError && error.document && typeof error.document.status === 'number') return error.document;
    throw error;
  }
}

/**
 * After the answer: re-reads the object the ping named and compares it with
 * the ledger; the updated checkpoint goes back to LEDGER and each change
 * event is handed on.
 */
async function reread(env, config, target) {
  const { request } = call('inbound.fetch', { config, target });
  const connector = createConnector({ fetch: (url, init) => fetch(url, init), config, timeoutMs: Number(env.INCWO_TIMEOUT_MS ?? 10000) });
  const sent = await connector.send(request);
  if (sent.failure) throw Object.assign(new Error(`the re-read did not complete (${sent.failure.kind})`), { code: `transport.${sent.failure.kind}` });
  const checkpoint = env.LEDGER ? await env.LEDGER.get(LEDGER_KEY) : null;
  const args = {
    config,
    target,
    response: sent.response,
    options: { company: env.INCWO_COMPANY ?? 'default' },
    now: Date.now(),
    source: 'webhook',
  };
  if (env.INCWO_PROFILE) args.profile = env.INCWO_PROFILE;
  if (checkpoint !== null) args.checkpoint = checkpoint;
  else args.entries = [];
  const result = call('inbound.detect', args);
  if (env.LEDGER && typeof result.checkpoint === 'string') await env.LEDGER.put(LEDGER_KEY, result.checkpoint);
  for (const { queue, event } of result.events ?? []) {
    console.log(JSON.stringify({ incwoInbound: { queue, event } }));
    if (env.EVENTS) await env.EVENTS.send({ queue, event });
  }
}

/** `POST /incwo/webhook/:secret`: answered at once with the core's status. */
async function handleIncwoWebhook(request, env, ctx, presentedSecret) {
  const config = connectionConfig(env);
  const result = intake({
    bodyBase64: bytesToBase64(new Uint8Array(await request.arrayBuffer())),
    contentType: request.headers.get('content-type'),
    remoteAddr: request.headers.get('CF-Connecting-IP'),
    presentedSecret,
    settings: {
      secret: env.INCWO_WEBHOOK_SECRET,
      allowNetworks: (env.INCWO_WEBHOOK_ALLOW ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    },
    config,
  });
  if (result.target) {
    ctx.waitUntil(
      reread(env, config, result.target).catch((error) => {
        // A failed re-read is not lost for good: incwo's next ping or a poll finds the change.
        console.error(JSON.stringify({ incwoInbound: { target: result.target, error: error?.code ?? 'error', message: error?.message } }));
      }),
    );
  }
  return new Response(null, { status: typeof result.status === 'number' ? result.status : 500 });
}

export default {
  async fetch(request, env, ctx) {
    initSync(wasmModule);
    const url = new URL(request.url);
    if (url.pathname === WEBHOOK_PATH || url.pathname.startsWith(`${WEBHOOK_PATH}/`)) {
      if (request.method !== 'POST') return new Response(null, { status: 405, headers: { allow: 'POST' } });
      const segment = url.pathname.slice(WEBHOOK_PATH.length).replace(/^\/+/, '');
      try {
        return await handleIncwoWebhook(request, env, ctx, segment !== '' ? decodeURIComponent(segment) : url.searchParams.get('token'));
      } catch {
        return new Response(null, { status: 500 });
      }
    }
    if (url.pathname !== '/orders') return json(404, { error: { class: 'usage', code: 'webhook.not_found', message: 'POST /orders' } });
    if (request.method !== 'POST') return json(405, { error: { class: 'usage', code: 'webhook.method', message: 'POST /orders' } }, { allow: 'POST' });
    try {
      return await handleOrder(request, env);
    } catch (error) {
      if (error instanceof IncwoError) return json(error.class === 'usage' ? 500 : 400, { error: error.toJSON() });
      return json(500, { error: { class: 'technical', code: 'webhook.internal', message: 'internal error' } });
    }
  },
};
