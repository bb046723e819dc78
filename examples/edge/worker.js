// Edge function (Cloudflare Worker module, runs in workerd): an order
// webhook. POST /orders with `{"order": {...}, "customer"?: {...},
// "products"?: [...]}`, authenticated with its own secret
// (`Authorization: Bearer <INCWO_ORDER_SECRET>`, or `x-incwo-signature:
// sha256=<hex HMAC-SHA256 of the body>`): every record is validated by the
// connector core (400 with the violations when one breaks the contract),
// then the flow syncs them to the configured incwo server and the answer
// carries the outcome.
//
// State: the flow's ledger lives in Durable Objects (ledger-object.js), one
// per partition key the core computes (`partition.route`: the customer's,
// or a product's SKU for product records), so one customer's records are
// serialised while different customers run in parallel. Products run first
// in their own objects; the customer and the order then run in the
// customer's object with the products' entries.
//
// Configuration (wrangler.toml vars / secrets): INCWO_SERVER,
// INCWO_BUSINESS_FILE_ID, INCWO_LOGIN, INCWO_PASSWORD (a secret),
// INCWO_ORDER_SECRET (a secret; without it POST /orders answers 503),
// optional INCWO_PROFILE (mapping profile JSON), INCWO_COMPANY,
// INCWO_FLOW_OPTIONS (JSON), INCWO_TIMEOUT_MS, an optional Queue binding
// EVENTS that receives the confirmation events, the Durable Object
// bindings CUSTOMERS (class CustomerLedger), DIRECTORY (class
// LedgerDirectory) and THROTTLE (class AuthThrottle), and an optional KV
// binding LEDGER: the checkpoint an earlier version kept there is imported
// once by each object.
//
// POST /incwo/webhook/:secret is incwo's own webhook (its "Webhooks" app):
// the core's intake (`inbound.webhook`) checks the ping (secret, source
// network from CF-Connecting-IP, business file, body) and the Worker answers
// at once with the status it gives; an accepted ping is re-read after the
// answer (`ctx.waitUntil`) by the object holding the object's entry
// (`inbound.fetch`, fetch, `inbound.detect`) and each change event
// (`quote.accepted`, `invoice.paid`…) goes to EVENTS when bound, and to the
// log as a JSON line. Settings: INCWO_WEBHOOK_SECRET (the URL's last
// segment; without it the core answers every call 503 inbound.no_secret),
// optional INCWO_WEBHOOK_ALLOW (comma-separated networks, e.g.
// 185.16.44.0/24).
//
// GET /metrics serves the running metric totals (every flow run's, added up
// in the OperationsMetrics Durable Object, binding METRICS, and the webhook
// backlog) in the Prometheus text format, behind INCWO_ADMIN_SECRET (a
// secret of its own, `Authorization: Bearer`; 503 admin.not_configured
// without it or when it equals another endpoint's secret, 401/403 otherwise).
//
// The quarantine (records the flow ended quarantined, kept in the
// QuarantineStore Durable Object, binding QUARANTINE) is read and acted on
// under /admin/quarantine, behind the same admin secret (quarantine-admin.js:
// list, show, replay with the fixed record or batch, drop with a reason). An
// order whose records break the contract is answered 400 with the
// violations and those records are quarantined (`quarantined`: their ids).
//
// Bodies over 1 MiB are refused with 413; an address (CF-Connecting-IP)
// that failed to authenticate 10 times in a minute, on either endpoint, is
// answered 429 with Retry-After until the minute ends (the core's
// `inbound.throttle`, its state in the address's AuthThrottle object); log
// lines never carry the webhook secret, a `token` parameter or a credential.
import { validate, call, IncwoError, bytesToBase64 } from 'incwo-connector-wasm/web';
import { ready, connectionConfig, flowOptions } from './settings.js';
import { OLD_LEDGER_KEY, entriesOfCheckpoint } from './ledger-object.js';
import { BodyTooLarge, readCapped, authenticateOrder, loggablePath, logLine } from './security.js';
import { throttleOf } from './throttle-object.js';
import { metricsOf, countedInBacklog } from './metrics-object.js';
import { authorizeAdmin } from './admin.js';
import { QUARANTINE_PATH, handleQuarantine } from './quarantine-admin.js';

export { CustomerLedger, LedgerDirectory } from './ledger-object.js';
export { AuthThrottle } from './throttle-object.js';
export { OperationsMetrics } from './metrics-object.js';
export { QuarantineStore } from './quarantine-object.js';
export { MarkerIndexStore } from './index-object.js';

const WEBHOOK_PATH = '/incwo/webhook';
const decoder = new TextDecoder();

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body, null, 2), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

function refusal(status, code, message, headers = {}) {
  return json(status, { error: { class: 'usage', code, message } }, headers);
}

/** The Durable Object bindings both endpoints need, named when missing (else null). */
function missingObjects(env) {
  const missing = ['CUSTOMERS', 'DIRECTORY', 'THROTTLE'].filter((name) => !env[name]);
  return missing.length > 0 ? `the ${missing.join(', ')} Durable Object binding(s)` : null;
}

/**
 * The core's 429 (with Retry-After) when the client's address made too
 * many failed authentications this minute, else null.
 */
async function throttled(throttle) {
  const decision = await throttle?.check();
  if (!decision || decision.allowed) return null;
  const { class: kind, code, message } = decision.error;
  return json(decision.status, { error: { class: kind, code, message } }, { 'retry-after': String(decision.retryAfterSeconds) });
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

/** The object of a partition key. */
function ledgerOf(env, partitionKey) {
  return env.CUSTOMERS.get(env.CUSTOMERS.idFromName(partitionKey));
}

function directoryOf(env) {
  return env.DIRECTORY.get(env.DIRECTORY.idFromName('directory'));
}

/**
 * The records grouped by the partition key the core gives them, in order of
 * first appearance: `{partitionKey, customer, indexes, records, refs}`.
 */
function partitionsOf(records, tenant) {
  const groups = new Map();
  records.forEach((envelope, index) => {
    const route = call('partition.route', { record: envelope, tenant });
    let group = groups.get(route.partitionKey);
    if (!group) {
      group = { partitionKey: route.partitionKey, customer: route.customer ?? null, indexes: [], records: [], refs: [] };
      groups.set(route.partitionKey, group);
    }
    group.indexes.push(index);
    group.records.push(envelope);
    group.refs.push(...route.ledgerRefs);
  });
  return [...groups.values()];
}

/** The outcome counts of several runs added up (`stopped`: the first run's that stopped). */
function mergeSummaries(summaries) {
  const total = { total: 0, finished: 0, synced: 0, skipped: 0, quarantined: 0, deferred: 0, errorsByCode: {} };
  for (const s of summaries) {
    for (const key of ['total', 'finished', 'synced', 'skipped', 'quarantined', 'deferred']) total[key] += s[key] ?? 0;
    for (const [code, n] of Object.entries(s.errorsByCode ?? {})) total.errorsByCode[code] = (total.errorsByCode[code] ?? 0) + n;
    if (s.stopped && !total.stopped) total.stopped = s.stopped;
  }
  return total;
}

/**
 * Runs every partition's records in its object: products first (each SKU
 * in its own object, in parallel), then the other partitions in order, with
 * the products' entries. Stops after a run that stopped (credentials, API
 * access). `manualReplay`: a quarantine replay. Resolves to `{outcomes,
 * summary, published, done, metrics}` over `records` (`done`: every run's
 * `recordDone` actions; `metrics`: the runs' metrics added up, Prometheus text).
 */
async function runPartitions(env, records, { manualReplay = false } = {}) {
  const groups = partitionsOf(records, flowOptions(env).tenant ?? '');
  const isProducts = (g) => g.records.every((r) => r.kind === 'product');
  const outcomes = new Array(records.length).fill(null);
  const summaries = [];
  const published = [];
  const foreign = [];
  const done = [];
  let metrics = null;
  const settle = async (group, result) => {
    group.indexes.forEach((index, i) => {
      outcomes[index] = result.outcomes[i] ?? null;
    });
    summaries.push(result.summary);
    published.push(...result.published);
    done.push(...result.done);
    metrics = call('telemetry.accumulate', { total: metrics, run: result.metrics }).text;
    if (result.incwoIds.length > 0) {
      await directoryOf(env).remember({ partitionKey: group.partitionKey, customer: group.customer, incwoIds: result.incwoIds });
    }
  };
  const run = (group, extra) =>
    ledgerOf(env, group.partitionKey).sync({ records: group.records, customer: group.customer, refs: group.refs, foreign: extra, manualReplay });
  const products = groups.filter(isProducts);
  const results = await Promise.all(products.map((group) => run(group, [])));
  for (const [i, result] of results.entries()) {
    await settle(products[i], result);
    foreign.push(...result.entries);
  }
  for (const group of groups.filter((g) => !isProducts(g))) {
    if (summaries.some((s) => s.stopped)) break;
    await settle(group, await run(group, foreign));
  }
  return { outcomes, summary: mergeSummaries(summaries), published, done, metrics };
}

/** `POST /orders`: authenticated, capped, validated, synced. */
async function handleOrder(request, env) {
  if (!env.INCWO_ORDER_SECRET || missingObjects(env)) {
    const missing = !env.INCWO_ORDER_SECRET ? 'INCWO_ORDER_SECRET' : missingObjects(env);
    logLine('error', { event: 'orders.not_configured', missing });
    return refusal(503, 'webhook.not_configured', 'the order endpoint is not configured');
  }
  if (env.INCWO_ORDER_SECRET === env.INCWO_WEBHOOK_SECRET) {
    logLine('error', { event: 'orders.not_configured', missing: 'an order secret distinct from INCWO_WEBHOOK_SECRET' });
    return refusal(503, 'webhook.not_configured', 'the order endpoint is not configured');
  }
  const throttle = throttleOf(env, request);
  const refused = await throttled(throttle);
  if (refused) return refused;
  let body;
  const readBody = async () => (body ??= await readCapped(request));
  const auth = await authenticateOrder(request, env.INCWO_ORDER_SECRET, readBody);
  if (!auth.ok) {
    logLine('error', { event: 'orders.unauthenticated', reason: auth.reason, from: request.headers.get('CF-Connecting-IP') });
    await throttle?.check({ failed: true });
    return refusal(401, `webhook.auth_${auth.reason}`, 'authenticate with Authorization: Bearer <order secret> or x-incwo-signature', {
      'www-authenticate': 'Bearer',
    });
  }
  let payload;
  try {
    payload = JSON.parse(decoder.decode(await readBody()));
  } catch (error) {
    if (error instanceof BodyTooLarge) throw error;
    return refusal(400, 'webhook.malformed_json', 'the body is not JSON');
  }
  if (payload === null || typeof payload !== 'object' || typeof payload.order !== 'object' || payload.order === null) {
    return refusal(400, 'webhook.no_order', 'the body must be {"order": {...}, "customer"?, "products"?}');
  }
  const profile = env.INCWO_PROFILE;
  const records = recordsOf(payload);
  const violations = [];
  const invalid = [];
  for (const envelope of records) {
    const report = validate(envelope.kind, JSON.stringify(envelope.record), profile ?? null);
    if (report.valid) continue;
    violations.push(...report.violations.map((v) => ({ record: envelope.kind, ...v })));
    invalid.push(envelope);
  }
  if (violations.length > 0) {
    // Only the invalid records run: the flow quarantines them before any
    // request (an operator can fix and replay them, see quarantine-admin.js).
    const kept = await runPartitions(env, invalid);
    const quarantined = kept.done.filter((d) => d.quarantineId).map((d) => d.quarantineId);
    return json(400, { valid: false, violations, quarantined });
  }

  const result = await runPartitions(env, records);
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
 * The partitions holding the entry of `target`: the directory's, else (an
 * object synced before the Durable Objects) its customer's in the KV
 * checkpoint of earlier versions.
 */
async function partitionsHolding(env, target) {
  const known = await directoryOf(env).locate({ incwoId: target.id });
  if (known.length > 0 || !env.LEDGER) return known;
  const text = await env.LEDGER.get(OLD_LEDGER_KEY);
  if (text === null) return [];
  const tenant = flowOptions(env).tenant ?? '';
  const customers = new Set(entriesOfCheckpoint(env, text).filter((e) => e.incwoId === target.id && e.customer).map((e) => e.customer));
  const found = [...customers].map((customer) => ({
    partitionKey: call('partition.route', { record: { kind: 'customer', record: { externalId: customer } }, tenant }).partitionKey,
    customer,
  }));
  for (const { partitionKey, customer } of found) await directoryOf(env).remember({ partitionKey, customer, incwoIds: [target.id] });
  return found;
}

/**
 * After the answer: the object holding the entry re-reads the object the
 * ping named and compares it with its ledger; each change event is handed on.
 */
async function reread(env, target) {
  const partitions = await partitionsHolding(env, target);
  if (partitions.length === 0) logLine('info', { event: 'inbound.not_tracked', target });
  for (const { partitionKey, customer } of partitions) {
    const result = await ledgerOf(env, partitionKey).detect({ target, customer });
    for (const { queue, event } of result.events) {
      console.log(JSON.stringify({ incwoInbound: { queue, event } }));
      if (env.EVENTS) await env.EVENTS.send({ queue, event });
    }
  }
}

/** `POST /incwo/webhook/:secret`: answered at once with the core's status. */
async function handleIncwoWebhook(request, env, ctx, presentedSecret) {
  if (missingObjects(env)) {
    logLine('error', { event: 'webhook.not_configured', missing: missingObjects(env) });
    return new Response(null, { status: 503 });
  }
  const throttle = throttleOf(env, request);
  const refused = await throttled(throttle);
  if (refused) return refused;
  const config = connectionConfig(env);
  const result = intake({
    bodyBase64: bytesToBase64(await readCapped(request)),
    contentType: request.headers.get('content-type'),
    remoteAddr: request.headers.get('CF-Connecting-IP'),
    presentedSecret,
    // Without a secret the core refuses every call (503 inbound.no_secret).
    settings: {
      secret: env.INCWO_WEBHOOK_SECRET || null,
      allowNetworks: (env.INCWO_WEBHOOK_ALLOW ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    },
    config,
  });
  if (result.error?.code === 'inbound.no_secret') {
    logLine('error', { event: 'webhook.not_configured', missing: 'INCWO_WEBHOOK_SECRET', code: result.error.code, why: result.error.message });
    const headers = result.retryAfterSeconds ? { 'retry-after': String(result.retryAfterSeconds) } : {};
    return json(result.status, { error: { class: result.error.class, code: result.error.code, message: result.error.message } }, headers);
  }
  if (result.error?.code === 'inbound.bad_secret') await throttle?.check({ failed: true });
  if (result.target) {
    ctx.waitUntil(
      countedInBacklog(env, () => reread(env, result.target)).catch((error) => {
        // A failed re-read is not lost for good: incwo's next ping or a poll finds the change.
        logLine('error', { event: 'inbound.reread_failed', target: result.target, error: error?.code ?? 'error' });
      }),
    );
  }
  return new Response(null, { status: typeof result.status === 'number' ? result.status : 500 });
}

/**
 * The refusal of an admin request (throttled, or not authorised with
 * INCWO_ADMIN_SECRET: a failed authentication counts in the throttle), or
 * null when it may go on.
 */
async function adminRefusal(request, env) {
  const throttle = throttleOf(env, request);
  const refused = await throttled(throttle);
  if (refused) return refused;
  const denied = await authorizeAdmin(request, env);
  if (!denied) return null;
  if (denied.status === 503) logLine('error', { event: 'admin.not_configured', code: denied.code });
  else await throttle?.check({ failed: true });
  return refusal(denied.status, denied.code, denied.message, denied.headers);
}

/** `GET /metrics`: the running totals in the Prometheus text format, behind the admin secret. */
async function handleMetrics(request, env) {
  if (request.method !== 'GET') return refusal(405, 'admin.method', 'GET /metrics', { allow: 'GET' });
  const refused = await adminRefusal(request, env);
  if (refused) return refused;
  const metrics = metricsOf(env);
  if (!metrics) return refusal(503, 'admin.not_configured', 'the METRICS Durable Object binding (class OperationsMetrics) is missing');
  return new Response(await metrics.render(), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } });
}

async function route(request, env, ctx, url) {
  if (url.pathname === '/metrics') return handleMetrics(request, env);
  if (url.pathname === QUARANTINE_PATH || url.pathname.startsWith(`${QUARANTINE_PATH}/`)) {
    if (missingObjects(env)) return refusal(503, 'admin.not_configured', `${missingObjects(env)} missing`);
    const refused = await adminRefusal(request, env);
    if (refused) return refused;
    return handleQuarantine(request, env, url, (records, options) => runPartitions(env, records, options));
  }
  if (url.pathname === WEBHOOK_PATH || url.pathname.startsWith(`${WEBHOOK_PATH}/`)) {
    if (request.method !== 'POST') return new Response(null, { status: 405, headers: { allow: 'POST' } });
    const segment = url.pathname.slice(WEBHOOK_PATH.length).replace(/^\/+/, '');
    return handleIncwoWebhook(request, env, ctx, segment !== '' ? decodeURIComponent(segment) : url.searchParams.get('token'));
  }
  if (url.pathname !== '/orders') return refusal(404, 'webhook.not_found', 'POST /orders');
  if (request.method !== 'POST') return refusal(405, 'webhook.method', 'POST /orders', { allow: 'POST' });
  return handleOrder(request, env);
}

export default {
  async fetch(request, env, ctx) {
    ready();
    const url = new URL(request.url);
    const path = loggablePath(url, WEBHOOK_PATH);
    try {
      const response = await route(request, env, ctx, url);
      logLine('info', { method: request.method, path, status: response.status });
      return response;
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        logLine('error', { method: request.method, path, status: 413, event: 'body.too_large' });
        return refusal(413, 'webhook.too_large', error.message);
      }
      logLine('error', { method: request.method, path, status: 500, error: error?.code ?? error?.name ?? 'error' });
      if (error instanceof IncwoError) return json(error.class === 'usage' ? 500 : 400, { error: error.toJSON() });
      return refusal(500, 'webhook.internal', 'internal error');
    }
  },
};
