// The marker index of the business file (the core's `flow::index`: marker
// → incwo ids per resource, and how far each resource is proven complete),
// in one Durable Object (`MarkerIndexStore`, binding INDEX, named "index")
// shared by every partition's `CustomerLedger`: the first run on a large
// account reads the whole list (the sweep), later runs only what is newer.
//
// Storage: one key per fact "this object of `resource` carries `marker`"
// (`f:` + JSON `[resource, marker, id]` → the object as the core gives it),
// added or refreshed, never removed, so the partitions' runs only add to
// the union; one key per resource for its coverage (`c:<resource>`), merged
// with the stored one by the core's rule (`index.merge_coverage`: the
// watermark never moves back). A save stores its facts before the coverage
// they justify, and a load reads the coverage before the facts, so a
// coverage read always comes with every fact it claims. Saves run one at a
// time (the `serially` chain). The object keeps the index it loaded in
// memory, updated by each save, so a run's load does not list the storage
// again. The index is a cache of incwo's state: losing it costs list-page
// requests, never a duplicate.
import { DurableObject } from 'cloudflare:workers';
import { call } from 'incwo-connector-wasm/web';
import { ready } from './settings.js';

const FACT = 'f:';
const COVERAGE = 'c:';
/** Most keys one `put` takes. */
const PUT_BATCH = 128;

/** The INDEX object of the Worker, or null without the binding (each run then builds its own index). */
export function indexOf(env) {
  return env.INDEX ? env.INDEX.get(env.INDEX.idFromName('index')) : null;
}

/**
 * Buffers a run's index changes (`add` each `takeIndexChanges()`), to save
 * them in fewer calls: `take()` gives the changes added since the last take
 * (a marker's latest objects, a resource's latest coverage: the flow's
 * newest state, facts and the coverage they justify together), or null.
 */
export function indexBuffer() {
  let entries = new Map();
  let coverage = {};
  return {
    add(changes) {
      for (const e of changes.entries) entries.set(JSON.stringify([e.resource, e.marker]), e);
      Object.assign(coverage, changes.coverage);
    },
    get size() {
      return entries.size;
    },
    take() {
      if (entries.size === 0 && Object.keys(coverage).length === 0) return null;
      const taken = { entries: [...entries.values()], coverage };
      entries = new Map();
      coverage = {};
      return taken;
    },
  };
}

/** Runs `task` after every task queued before it on `owner`. */
function serially(owner, task) {
  const run = owner.tail.then(task);
  owner.tail = run.catch(() => {});
  return run;
}

/** Adds the fact "`found` of `resource` carries `marker`" to the index in memory. */
function remember(memory, resource, marker, found) {
  const at = JSON.stringify([resource, marker]);
  let entry = memory.markers.get(at);
  if (!entry) {
    entry = { resource, marker, found: new Map() };
    memory.markers.set(at, entry);
  }
  entry.found.set(found.id, found);
}

/** The marker index of the Worker's business file. */
export class MarkerIndexStore extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.tail = Promise.resolve();
    /** The index as stored, once read (a promise): `{markers: Map<[resource, marker] JSON, {resource, marker, found: Map<id, found>}>, coverage}`. */
    this.memory = null;
  }

  /** The whole index as `{entries, coverage}` for the flow's `loadIndex`, or null when empty. */
  async load() {
    // Not queued behind saves: a save adds its facts to memory before the
    // coverage they justify, so the memory is sound at every point.
    const memory = await this.read();
    if (memory.markers.size === 0 && Object.keys(memory.coverage).length === 0) return null;
    // The core sorts each marker's objects by id.
    const entries = [...memory.markers.values()].map(({ resource, marker, found }) => ({ resource, marker, found: [...found.values()] }));
    return { entries, coverage: { ...memory.coverage } };
  }

  /** The index in memory, read from storage once (every caller shares that one read). */
  read() {
    this.memory ??= (async () => {
      // Coverage first: the facts read next include every fact it claims.
      const coverage = {};
      for (const [key, value] of await this.ctx.storage.list({ prefix: COVERAGE })) coverage[key.slice(COVERAGE.length)] = value;
      const memory = { markers: new Map(), coverage };
      for (const [key, found] of await this.ctx.storage.list({ prefix: FACT })) {
        const [resource, marker] = JSON.parse(key.slice(FACT.length));
        remember(memory, resource, marker, found);
      }
      return memory;
    })().catch((e) => {
      this.memory = null; // read again next time
      throw e;
    });
    return this.memory;
  }

  /** Saves a flow's `takeIndexChanges()`: its facts, then each coverage merged with the stored one. */
  async save(changes) {
    ready();
    return serially(this, async () => {
      const memory = await this.read();
      const facts = {};
      for (const entry of changes.entries ?? []) {
        for (const found of entry.found) facts[FACT + JSON.stringify([entry.resource, entry.marker, found.id])] = found;
      }
      const keys = Object.keys(facts);
      for (let i = 0; i < keys.length; i += PUT_BATCH) {
        await this.ctx.storage.put(Object.fromEntries(keys.slice(i, i + PUT_BATCH).map((k) => [k, facts[k]])));
      }
      for (const entry of changes.entries ?? []) {
        for (const found of entry.found) remember(memory, entry.resource, entry.marker, found);
      }
      const rows = {};
      const merged = {};
      for (const [resource, incoming] of Object.entries(changes.coverage ?? {})) {
        const stored = memory.coverage[resource];
        merged[resource] = call('index.merge_coverage', stored === undefined ? { incoming } : { stored, incoming });
        rows[COVERAGE + resource] = merged[resource];
      }
      if (Object.keys(rows).length > 0) await this.ctx.storage.put(rows);
      Object.assign(memory.coverage, merged);
    });
  }

  /** `GET /stats`: how many facts and bytes the index stores (inspection through the binding only). */
  async fetch(request) {
    const url = new URL(request.url);
    if (request.method === 'GET' && url.pathname === '/stats') {
      const facts = await this.ctx.storage.list({ prefix: FACT });
      let bytes = 0;
      for (const [key, value] of facts) bytes += key.length + JSON.stringify(value).length;
      const coverage = Object.fromEntries([...(await this.ctx.storage.list({ prefix: COVERAGE }))].map(([k, v]) => [k.slice(COVERAGE.length), v]));
      return Response.json({ facts: facts.size, bytes, coverage });
    }
    return new Response(null, { status: 404 });
  }
}
