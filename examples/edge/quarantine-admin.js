// The quarantine's admin endpoints (behind INCWO_ADMIN_SECRET, checked by
// the Worker before these run), the CLI's `incwo quarantine` over HTTP:
//
//   GET  /admin/quarantine?code=&class=&resource=&olderThanSeconds=&status=
//        → {entries} (open ones unless status=replayed|dropped|all)
//   GET  /admin/quarantine/{id}            → the entry (record, violations, runbook line, requests)
//   POST /admin/quarantine/replay {ids, record | jsonl}
//        → {replayed, stillOpen, summary, outcomes, metrics} (409 when some stay open)
//   POST /admin/quarantine/{id}/drop {reason} → the dropped entry
//
// Every rule is the core's (`quarantine.*`): filters, retention, what a
// replay sends (only open entries; a bare record takes its entry's kind; a
// batch must hold each entry's line), when a replay settles an entry, that
// a drop needs a reason. A replay is a normal flow run (ledger,
// reconcile-before-create) with `manualReplay`. Errors are JSON
// `{error: {class, code, message}}`.
import { call, IncwoError } from 'incwo-connector-wasm/web';
import { readCapped } from './security.js';
import { quarantineOf } from './quarantine-object.js';

export const QUARANTINE_PATH = '/admin/quarantine';
const decoder = new TextDecoder();

/** An HTTP error answered as `{error: {class: 'usage', code, message}}`. */
class AdminError extends Error {
  constructor(status, code, message, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body, null, 2), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** The body as a JSON object, or a 400 naming what is wrong. */
async function bodyOf(request, shape) {
  let value;
  try {
    value = JSON.parse(decoder.decode(await readCapped(request)));
  } catch (error) {
    if (error instanceof SyntaxError) throw new AdminError(400, 'admin.malformed_json', `the body is not JSON; send ${shape}`);
    throw error;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AdminError(400, 'admin.malformed_json', `the body must be a JSON object: ${shape}`);
  }
  return value;
}

/** The core's filter from the query (`status` is the entries' state, as the CLI's --status). */
function filterOf(params) {
  const filter = {};
  for (const key of ['code', 'class', 'resource']) if (params.has(key)) filter[key] = params.get(key);
  if (params.has('status')) filter.state = params.get('status');
  if (params.has('olderThanSeconds')) {
    const text = params.get('olderThanSeconds');
    if (!/^\d+$/.test(text)) {
      throw new AdminError(400, 'quarantine.bad_filter', `olderThanSeconds must be a whole number of seconds, got ${JSON.stringify(text)}`);
    }
    filter.olderThanSeconds = Number(text);
  }
  return filter;
}

/** The stored entry `id`, or a 404. */
async function entryOf(store, id) {
  const entry = await store.get(id);
  if (!entry) throw new AdminError(404, 'quarantine.not_found', `no quarantine entry ${id}; list them with GET ${QUARANTINE_PATH}`);
  return entry;
}

/** `POST /admin/quarantine/replay`: a normal flow run over the fixed lines, then each entry settled. */
async function replay(request, store, run) {
  const shape = '{"ids": ["q-…"], "record": {…}} or {"ids": [...], "jsonl": "…"}';
  const body = await bodyOf(request, shape);
  if (!Array.isArray(body.ids) || body.ids.length === 0 || !body.ids.every((id) => typeof id === 'string')) {
    throw new AdminError(400, 'quarantine.no_ids', `name the entries to replay (ids from GET ${QUARANTINE_PATH}): ${shape}`);
  }
  if ((body.record === undefined) === (body.jsonl === undefined) || (body.jsonl !== undefined && typeof body.jsonl !== 'string')) {
    throw new AdminError(400, 'quarantine.no_fix', `give the fixed record (record) or the fixed batch (jsonl, a string), one of them: ${shape}`);
  }
  const entries = [];
  for (const id of new Set(body.ids)) entries.push(await entryOf(store, id));
  // The core's rules: only open entries, a bare record takes its entry's
  // kind, a batch must hold each entry's line.
  const fix = body.record !== undefined ? { record: body.record } : { jsonl: body.jsonl };
  const lines = call('quarantine.replay_batch', { entries, ...fix })
    .jsonl.split('\n')
    .filter((line) => line.trim() !== '');
  const records = lines.map((line, i) => {
    let value;
    try {
      value = JSON.parse(line);
    } catch {
      throw new AdminError(400, 'quarantine.bad_record', `line ${i + 1} of the replay is not JSON`);
    }
    if (value === null || typeof value.kind !== 'string' || typeof value.record !== 'object') {
      throw new AdminError(400, 'quarantine.bad_record', `line ${i + 1} of the replay must be {"kind": …, "record": {…}}`);
    }
    return { kind: value.kind, record: value.record };
  });
  const result = await run(records, { manualReplay: true });
  const replayed = [];
  const now = Date.now();
  // As they are now (the run merged those quarantined again).
  const current = (await Promise.all(entries.map((e) => store.get(e.id)))).filter(Boolean);
  for (const done of result.done) {
    const { entry } = call('quarantine.settle', { entries: current, done, now });
    if (entry?.state === 'replayed') {
      await store.put(entry);
      replayed.push(entry.id);
    }
  }
  const stillOpen = entries.map((e) => e.id).filter((id) => !replayed.includes(id));
  const metrics = (result.metrics ?? '').split('\n').filter((line) => line.startsWith('replay_total{'));
  const answer = { replayed, stillOpen, summary: result.summary, outcomes: result.outcomes, metrics };
  if (result.summary.stopped) return json(502, answer);
  return json(stillOpen.length === 0 ? 200 : 409, answer);
}

/** `POST /admin/quarantine/{id}/drop`: dropped with its reason (kept, redacted). */
async function drop(request, store, id) {
  const body = await bodyOf(request, '{"reason": "why"}');
  const entry = await entryOf(store, id);
  const dropped = call('quarantine.drop', { entry, reason: typeof body.reason === 'string' ? body.reason : '', now: Date.now() }).entry;
  await store.put(dropped);
  return json(200, dropped);
}

async function dispatch(request, env, url, run) {
  const store = quarantineOf(env);
  if (!store) throw new AdminError(503, 'admin.not_configured', 'the QUARANTINE Durable Object binding (class QuarantineStore) is missing');
  const rest = url.pathname.slice(QUARANTINE_PATH.length).replace(/\/+$/, '');
  const method = request.method;
  const allow = (methods, what) => {
    if (!methods.includes(method)) throw new AdminError(405, 'admin.method', what, { allow: methods.join(', ') });
  };
  if (rest === '') {
    allow(['GET'], `GET ${QUARANTINE_PATH}`);
    return json(200, { entries: await store.list(filterOf(url.searchParams)) });
  }
  if (rest === '/replay') {
    allow(['POST'], `POST ${QUARANTINE_PATH}/replay`);
    return replay(request, store, run);
  }
  const dropped = /^\/([^/]+)\/drop$/.exec(rest);
  if (dropped) {
    allow(['POST'], `POST ${QUARANTINE_PATH}/{id}/drop`);
    return drop(request, store, decodeURIComponent(dropped[1]));
  }
  const shown = /^\/([^/]+)$/.exec(rest);
  if (shown) {
    allow(['GET'], `GET ${QUARANTINE_PATH}/{id}`);
    return json(200, await entryOf(store, decodeURIComponent(shown[1])));
  }
  throw new AdminError(404, 'admin.not_found', `GET ${QUARANTINE_PATH}[/{id}], POST ${QUARANTINE_PATH}/replay, POST ${QUARANTINE_PATH}/{id}/drop`);
}

/** The HTTP status of a core usage error: 409 for an entry already closed, else 400. */
function usageStatus(code) {
  return code === 'usage.quarantine_not_open' ? 409 : 400;
}

/**
 * Answers a request under /admin/quarantine (already authorised). `run`:
 * the Worker's flow over records, `(records, {manualReplay}) → {outcomes,
 * summary, done, metrics}`. The core's usage errors (a drop without a
 * reason, a replay the core refuses) are answered 400 with its code, 409
 * for `usage.quarantine_not_open` (an entry replayed or dropped already).
 */
export async function handleQuarantine(request, env, url, run) {
  try {
    return await dispatch(request, env, url, run);
  } catch (error) {
    if (error instanceof AdminError) {
      return json(error.status, { error: { class: 'usage', code: error.code, message: error.message } }, error.headers);
    }
    if (error instanceof IncwoError && error.class === 'usage') return json(usageStatus(error.code), { error: error.toJSON() });
    throw error;
  }
}
