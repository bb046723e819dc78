// The JS layer of incwo-connector-wasm, shared by the node and the web
// entry points: typed errors over the raw bindings, and `createConnector`,
// which drives the core's flow loop with any `fetch`.
//
// It marshals and transports, nothing else: every rule (validation,
// retries, reconciliation, idempotency, event names) lives in the core.

/**
 * Base class of every error thrown by the connector: `class`, `code`,
 * `message`, `hint?`, `violations?`. When the core's answer carried more
 * than the error (an `inbound.webhook` refusal is `{"status": 403, "error":
 * {...}}`), the whole answer is `document` and its `status` is `status`.
 */
export class IncwoError extends Error {
  constructor(payload, document) {
    super(payload?.message ?? 'incwo connector error');
    this.name = 'IncwoError';
    const source = payload !== null && typeof payload === 'object' ? payload : {};
    // Every field of the core's payload (`class`, `code`, `hint`,
    // `violations`, `problems`, `details`, `line`…) is carried as it is.
    for (const [key, value] of Object.entries(source)) {
      if (key !== 'message' && key !== 'name' && key !== 'stack') this[key] = value;
    }
    /** `usage` | `contract` | `technical` | `business`. */
    this.class = source.class ?? 'usage';
    /** Stable code, e.g. `contract.invalid`. */
    this.code = source.code ?? 'usage.internal';
    /** Contract violations (`[]` when none). */
    if (!Array.isArray(this.violations)) this.violations = [];
    Object.defineProperty(this, 'payload', { value: { ...source }, enumerable: false });
    if (document !== null && typeof document === 'object' && !Array.isArray(document)) {
      /** The core's whole answer (`{status, error}`…), when it held more than the error. */
      Object.defineProperty(this, 'document', { value: document, enumerable: false });
      if (typeof document.status === 'number') this.status = document.status;
    }
  }

  /** The error as the core's JSON payload (`{class, code, message, ...}`). */
  toJSON() {
    return { ...this.payload, class: this.class, code: this.code, message: this.message };
  }
}

/** Misuse of the API by the host (bad JSON, unknown kind, unknown request id). */
export class UsageError extends IncwoError {
  constructor(payload, document) {
    super(payload, document);
    this.name = 'UsageError';
  }
}

/** The record breaks the contract; `violations` says where and how to fix it. */
export class ContractError extends IncwoError {
  constructor(payload, document) {
    super(payload, document);
    this.name = 'ContractError';
  }
}

/** Transport failures, timeouts, 429, 5xx, authentication. */
export class TechnicalError extends IncwoError {
  constructor(payload, document) {
    super(payload, document);
    this.name = 'TechnicalError';
  }
}

/** Well-formed but forbidden by the business state (cancelled order, 409…). */
export class BusinessError extends IncwoError {
  constructor(payload, document) {
    super(payload, document);
    this.name = 'BusinessError';
  }
}

/**
 * An inbound webhook refused by the core's intake (bad body, secret, source
 * network, business file…): `status` is the HTTP status to answer incwo
 * with, `document` the core's `{status, error}`.
 */
export class InboundError extends IncwoError {
  constructor(payload, document) {
    super(payload, document);
    this.name = 'InboundError';
  }
}

const CLASSES = {
  usage: UsageError,
  contract: ContractError,
  technical: TechnicalError,
  business: BusinessError,
  inbound: InboundError,
};

/**
 * The typed error for a core error payload; `document` is the core's whole
 * answer when it carried more than the error (its `status`…).
 */
export function errorFromPayload(payload, document) {
  const Class = CLASSES[payload?.class] ?? IncwoError;
  return new Class(payload, document);
}

/** The stable code of a panic inside the core (see the core's code table). */
const PANIC_CODE = 'usage.internal_panic';

/**
 * The state of one instance of the module: `trapped` is the error payload
 * once a call trapped, `null` before.
 *
 * A Rust panic inside the core aborts: on wasm32 there is no unwinding, so
 * the instance traps (`WebAssembly.RuntimeError: unreachable`) in the middle
 * of a call, with its memory (allocator, shadow stack, open sessions) left as
 * it was at that instant. Nothing can be trusted in it afterwards, and the
 * wasm-bindgen glue cannot instantiate the module a second time (neither the
 * nodejs target nor the web one: `init` keeps its first instance). So the
 * first trap becomes a typed `UsageError` (`usage.internal_panic`) and the
 * instance is marked trapped: every later call throws the same error at
 * once, without entering the module. The panic's message is not available
 * (the module installs no panic hook, to stay small). To go on, load a new
 * instance: restart the process or the worker.
 */
function instanceState() {
  return { trapped: null };
}

/**
 * Calls into the module, turning a trap (a Rust panic, which the core never
 * raises but for the `debug.panic` self-test) into a UsageError instead of
 * an opaque RuntimeError, and refusing every call after one (see above).
 */
function guardWith(state, fn) {
  return function guarded(...args) {
    if (state.trapped) throw new UsageError(state.trapped);
    try {
      return fn.apply(this, args);
    } catch (error) {
      if (typeof WebAssembly !== 'undefined' && error instanceof WebAssembly.RuntimeError) {
        state.trapped = {
          class: 'usage',
          code: PANIC_CODE,
          message:
            `the connector core panicked: its WebAssembly module trapped (${error.message}) and must be reloaded; ` +
            'every later call of this instance fails with this error',
          hint: 'restart the process (or the worker) to load a new instance; report the panic with the input that caused it',
        };
        throw new UsageError(state.trapped);
      }
      throw error;
    }
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes bytes for the core's `bodyBase64` fields (raw bodies that may not be UTF-8). */
export function bytesToBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// Codes of failures that can only happen before any request byte leaves:
// name resolution, the TCP connect (undici's connect timeout covers the TLS
// handshake too), and the certificate checks of the TLS handshake (node's
// `tls` codes, OpenSSL's X509 verify results).
const CONNECT_CODES = {
  ECONNREFUSED: 'connect_refused',
  EHOSTUNREACH: 'connect_refused',
  ENETUNREACH: 'connect_refused',
  EADDRNOTAVAIL: 'connect_refused',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_NONAME: 'dns',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
};
const CERTIFICATE_CODES = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
]);

// Errors the HTTP client reported while connecting (node: undici's
// `undici:client:connectError` diagnostics channel, see node.js): the same
// objects reach `fetch`'s rejection as its `cause`.
const connectFailures = new WeakSet();

/**
 * Records `error` as raised while connecting (TCP or TLS), before any request
 * byte left. The node entry point feeds it from undici's diagnostics channel;
 * a host with another client can call it from its own connect hook.
 */
export function noteConnectFailure(error) {
  if (error !== null && typeof error === 'object') connectFailures.add(error);
}

/**
 * Maps a failed `fetch` to the core's transport failure `{kind, phase?}`
 * from structured signals only (never a message's wording): the `code` of
 * the error or of its `cause` chain, whether that error was raised while
 * connecting (see `noteConnectFailure`), and what the caller saw
 * (`context.timedOut`: its own timeout fired; `context.responded`: the
 * response had begun, so the request was sent; `context.url`: the scheme).
 * Only `connect` and `tls_handshake` tell the core that nothing left; without
 * a phase (`unknown`) the core treats the request as possibly sent. workerd's
 * fetch errors carry no code: their phase stays unknown.
 */
export function transportFailure(error, context = {}) {
  const { timedOut = false, responded = false, url = '' } = context;
  const causes = [];
  for (let e = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = e.cause, depth++) causes.push(e);
  const coded = causes.find((e) => typeof e.code === 'string');
  const code = coded?.code ?? '';
  const tls = code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS');
  if (timedOut) return responded ? { kind: 'timeout', phase: 'sent' } : { kind: 'timeout' };
  if (responded) return { kind: tls ? 'tls' : 'reset', phase: 'sent' };
  if (Object.hasOwn(CONNECT_CODES, code)) return { kind: CONNECT_CODES[code], phase: 'connect' };
  if (CERTIFICATE_CODES.has(code)) return { kind: 'tls', phase: 'tls_handshake' };
  if (causes.some((e) => connectFailures.has(e))) {
    return String(url).startsWith('https:') ? { kind: 'tls', phase: 'tls_handshake' } : { kind: 'connect_refused', phase: 'connect' };
  }
  // undici's socket error carries the socket's counters: bytes written means the request left.
  if (code === 'UND_ERR_SOCKET' && coded.socket?.bytesWritten > 0) return { kind: 'reset', phase: 'sent' };
  return { kind: tls ? 'tls' : 'reset' };
}

/**
 * The record path of a raw module (lean or full), every call guarded:
 * `validate`, `map`, `mapBytes`, `mapMany`, `classify`, `version`.
 */
function recordApi(raw, guard) {
  return {
    validate: guard((kind, input, profile) => raw.validate(kind, input, profile ?? null)),
    map: guard((kind, input, profile) => raw.map(kind, input, profile ?? null)),
    mapBytes: guard((kind, input, profile) => raw.mapBytes(kind, input, profile ?? null)),
    mapMany: guard((kind, records, profile, options) => raw.mapMany(kind, records, profile ?? null, options?.bytes === true)),
    classify: guard((args) => raw.classify(args)),
    version: guard(() => raw.version()),
  };
}

/**
 * Wraps the raw lean module (validate, map, classify): the typed error
 * classes are installed as its error factory, and every call is guarded
 * against traps.
 */
export function bindLean(raw) {
  raw.setErrorFactory(errorFromPayload);
  const state = instanceState();
  return recordApi(raw, (fn) => guardWith(state, fn));
}

/**
 * Wraps the raw full module: the typed error classes are installed as its
 * error factory, and every call is guarded against traps.
 */
export function bind(raw) {
  raw.setErrorFactory(errorFromPayload);
  const state = instanceState();
  const guard = (fn) => guardWith(state, fn);

  const api = {
    ...recordApi(raw, guard),
    parse: guard((resource, xml) => raw.parse(resource, xml)),
    schema: guard((kind, profile) => raw.schema(kind, profile ?? null)),
    checkProfile: guard((profile) => raw.checkProfile(profile)),
    call: guard((name, args) => raw.call(name, args ?? {})),
  };

  /** The flow session with guarded methods (see `Flow` in the raw bindings). */
  class Flow {
    constructor(inner) {
      this.inner = inner;
    }
    /** Starts (or resumes from `args.checkpoint`) a flow. */
    static start(args) {
      return new Flow(guard(() => raw.Flow.start(args))());
    }
    poll(now) {
      return guard(() => this.live().poll(now))();
    }
    onResponse(requestId, response, now) {
      return guard(() => this.live().onResponse(requestId, response, now))();
    }
    onTransportError(requestId, failure, now) {
      return guard(() => this.live().onTransportError(requestId, failure, now))();
    }
    checkpoint() {
      return guard(() => this.live().checkpoint())();
    }
    /** The ledger entries changed since the last call: `{entries}` (a create's pending entry before its send). */
    takeChangedEntries() {
      return guard(() => this.live().takeChangedEntries())();
    }
    /** Loads the marker index saved beside the ledger (before the first poll): `{entries, coverage}`, text or object. */
    loadIndex(index) {
      return guard(() => this.live().loadIndex(index))();
    }
    /** What changed in the marker index since the last call: `{entries, coverage}`, saved with the ledger entries. */
    takeIndexChanges() {
      return guard(() => this.live().takeIndexChanges())();
    }
    /** The marker index passes in progress: `{passes: [{resource, pagesRead, totalPages}]}`. */
    indexProgress() {
      return guard(() => this.live().indexProgress())();
    }
    metrics() {
      return guard(() => this.live().metrics())();
    }
    summary() {
      return guard(() => this.live().summary())();
    }
    /** The session, or a `usage.invalid_handle` error once it was freed. */
    live() {
      if (!this.inner) {
        throw new UsageError({
          class: 'usage',
          code: 'usage.invalid_handle',
          message: 'this flow was released',
          hint: 'start a new flow, or resume it from its checkpoint',
        });
      }
      return this.inner;
    }
    /**
     * Releases the wasm memory of the session (also done by the GC). After
     * a trap it only lets go of the session, without entering the module.
     */
    free() {
      if (this.inner) {
        if (!state.trapped) this.inner.free();
        else if (typeof this.inner.__destroy_into_raw === 'function') this.inner.__destroy_into_raw();
        this.inner = undefined;
      }
    }
  }
  api.Flow = Flow;

  /**
   * A connector: drives flows over `fetch`.
   *
   * `settings`: `{fetch, config, profile?, options?, timeoutMs?, clock?,
   * sleep?, freshConnections?, maxWaitMs?}`. `clock` (ms since the epoch)
   * defaults to `Date.now`; the core itself never reads a clock.
   */
  api.createConnector = function createConnector(settings) {
    if (!settings || typeof settings.fetch !== 'function') {
      throw new UsageError({
        class: 'usage',
        code: 'usage.bad_arguments',
        message: 'createConnector needs a fetch function',
        hint: 'pass {fetch: globalThis.fetch, config: {...}}',
      });
    }
    const fetchFn = settings.fetch;
    const timeoutMs = settings.timeoutMs ?? 30_000;
    const clock = settings.clock ?? (() => Date.now());
    const sleep = settings.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    const freshConnections = settings.freshConnections ?? true;
    const maxWaitMs = settings.maxWaitMs ?? 120_000;

    /** Sends one request built by the core; returns `{response}` or `{failure}`. */
    async function send(request) {
      const headers = new Headers();
      for (const { name, value } of request.headers) headers.append(name, value);
      if (freshConnections) headers.set('connection', 'close');
      let body;
      if (request.body !== '') {
        body = request.bodyEncoding === 'base64' ? base64ToBytes(request.body) : encoder.encode(request.body);
      }
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs);
      let responded = false;
      try {
        const res = await fetchFn(request.url, {
          method: request.method,
          headers,
          body,
          redirect: 'manual',
          signal: controller.signal,
        });
        responded = true;
        const bytes = new Uint8Array(await res.arrayBuffer());
        const response = { status: res.status, headers: [] };
        res.headers.forEach((value, name) => response.headers.push({ name, value }));
        try {
          response.body = decoder.decode(bytes);
        } catch {
          response.bodyBase64 = bytesToBase64(bytes);
        }
        return { response };
      } catch (error) {
        return { failure: transportFailure(error, { timedOut, responded, url: request.url }) };
      } finally {
        clearTimeout(timer);
      }
    }

    /**
     * Drives `flow` until `done`: saves the checkpoint before every send
     * and after every action, sends requests, sleeps on `wait`, publishes
     * events. `hooks`: `{save?, saveEntries?, publish?, onAction?,
     * shouldStop?, interruptAtAction?}`. `saveEntries` receives the ledger
     * entries changed since its last call (never an empty list) at the same
     * points, for stores that keep one row per entry: a create's `pending`
     * entry is saved before its request leaves. `interruptAtAction: n`
     * simulates a crash at the n-th action (a send leaves and its answer is
     * dropped; anything else is dropped before it is handled). `saveIndex`
     * receives the marker index's changes (`{entries, coverage}`, never
     * empty) at the same points, after `saveEntries`. Returns `'done'` or `'interrupted'`.
     */
    async function drive(flow, hooks = {}, log = newLog()) {
      const save = async () => {
        if (hooks.save) await hooks.save(flow.checkpoint());
        if (hooks.saveEntries) {
          const { entries } = flow.takeChangedEntries();
          if (entries.length > 0) await hooks.saveEntries(entries);
        }
        if (hooks.saveIndex) {
          const changes = flow.takeIndexChanges();
          if (changes.entries.length > 0 || Object.keys(changes.coverage).length > 0) await hooks.saveIndex(changes);
        }
      };
      for (;;) {
        const action = flow.poll(clock());
        if (hooks.onAction) await hooks.onAction(action);
        if (hooks.interruptAtAction === log.actions + 1) {
          if (action.action === 'send') {
            await save();
            log.requests[action.request.method] = (log.requests[action.request.method] ?? 0) + 1;
            await send(action.request);
          }
          return 'interrupted';
        }
        switch (action.action) {
          case 'send': {
            await save();
            log.requests[action.request.method] = (log.requests[action.request.method] ?? 0) + 1;
            const answer = await send(action.request);
            if (answer.response) flow.onResponse(action.requestId, answer.response, clock());
            else flow.onTransportError(action.requestId, answer.failure, clock());
            break;
          }
          case 'wait': {
            const delay = action.until - clock();
            if (delay > 0) await sleep(Math.min(delay, maxWaitMs));
            break;
          }
          case 'publish':
            log.published.push({ queue: action.queue, event: action.event });
            if (hooks.publish) await hooks.publish(action.queue, action.event);
            break;
          case 'done':
            await save();
            log.actions += 1;
            return 'done';
          default:
            break;
        }
        await save();
        log.actions += 1;
        if (hooks.shouldStop && (await hooks.shouldStop(log.actions))) return 'interrupted';
      }
    }

    function newLog() {
      return { requests: {}, published: [], actions: 0 };
    }

    /**
     * Starts (or resumes, with `checkpoint`) a flow over `batch`; `ledger`
     * (entries from a per-entry store) starts it with them instead; `index`
     * (the marker index saved beside the ledger) is loaded before the first poll.
     */
    function start(batch, { checkpoint, seed, ledger, index } = {}) {
      const args = {
        config: settings.config,
        now: clock(),
      };
      if (settings.profile !== undefined) args.profile = settings.profile;
      if (settings.options !== undefined) args.options = settings.options;
      if (seed !== undefined) args.seed = seed;
      if (checkpoint !== undefined && checkpoint !== null) args.checkpoint = checkpoint;
      else if (ledger !== undefined && ledger !== null) args.ledger = ledger;
      if (typeof batch === 'string') args.jsonl = batch;
      else args.records = batch;
      const flow = Flow.start(args);
      if (index !== undefined && index !== null) {
        try {
          flow.loadIndex(index);
        } catch (e) {
          flow.free();
          throw e;
        }
      }
      return flow;
    }

    /**
     * Syncs a batch (an array of `{kind, record}` or a JSON Lines text) to
     * incwo. `run`: `{checkpoint?, ledger?, index?, seed?, save?, saveEntries?,
     * saveIndex?, publish?, onAction?, shouldStop?, interruptAtAction?}`. With
     * `saveEntries` and no `save`, the checkpoint is rendered once, at the
     * end, instead of at every step. Resolves to `{status, summary,
     * outcomes, published, requests, checkpoint, metrics}`.
     */
    async function sync(batch, run = {}) {
      const log = newLog();
      let saved = run.checkpoint ?? null;
      const perEntry = run.saveEntries !== undefined && run.save === undefined;
      const hooks = perEntry
        ? run
        : {
            ...run,
            save: async (text) => {
              saved = text;
              if (run.save) await run.save(text);
            },
          };
      const flow = start(batch, { checkpoint: run.checkpoint, seed: run.seed, ledger: run.ledger, index: run.index });
      try {
        const status = await drive(flow, hooks, log);
        if (perEntry) saved = flow.checkpoint();
        const report = flow.summary();
        return {
          status,
          summary: report.summary,
          outcomes: report.outcomes,
          published: log.published,
          requests: log.requests,
          actions: log.actions,
          checkpoint: saved,
          metrics: flow.metrics(),
        };
      } finally {
        flow.free();
      }
    }

    return { send, drive, start, sync };
  };

  return api;
}
