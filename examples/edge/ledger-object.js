// The flow's ledger in Durable Objects: one `CustomerLedger` per partition
// key the core computes (`customer/C1`, `product/SKU`, tenant-prefixed when
// there is one). An object runs its records one request at a time (the
// `serially` chain below: a Durable Object would otherwise interleave two
// requests while one awaits incwo), so one customer's records never race,
// while different customers run in parallel in their own objects.
//
// Storage: one key per ledger entry (`entry:<idempotency key>`), written
// from the flow's changed entries: a create's `pending` entry is stored
// before its request leaves, so a crash or a second delivery finds it. The
// marker index, which every partition shares, lives beside the ledger in
// its own object (`MarkerIndexStore`, index-object.js): a run loads it
// before its first poll and saves its changes after the entries'.
// `LedgerDirectory` (one object) says which partitions hold the entry of an
// incwo id, for incwo's webhooks, which name an object by its id only.
import { DurableObject } from 'cloudflare:workers';
import { call } from 'incwo-connector-wasm/web';
import { ready, connectionConfig, connectorFor, flowOptions } from './settings.js';
import { metricsOf } from './metrics-object.js';
import { quarantineOf } from './quarantine-object.js';
import { indexOf, indexBuffer } from './index-object.js';

/** Index entries buffered by a run before they are saved (a sweep saves every 5 pages or so). */
const INDEX_FLUSH = 100;

/** The KV key of the whole checkpoint the Worker kept before Durable Objects (read once, for the import). */
export const OLD_LEDGER_KEY = 'incwo-flow-checkpoint';

const ENTRY = 'entry:';
const IMPORTED = 'meta:imported';
/** Most keys one `put` takes. */
const PUT_BATCH = 128;

/** The ledger entries of a version-1 JSON checkpoint (the core reads it first: version, shape). */
export function entriesOfCheckpoint(env, text) {
  const connector = connectorFor(env);
  const flow = connector.start([], { checkpoint: text });
  try {
    return Object.values(JSON.parse(flow.checkpoint()).ledger?.entries ?? {});
  } finally {
    flow.free();
  }
}

function sameStep(entry, ref) {
  return entry.domain === ref.domain && entry.externalId === ref.externalId && entry.step === ref.step;
}

/** Runs `task` after every task queued before it on `owner` (a per-object chain). */
function serially(owner, task) {
  const run = owner.tail.then(task);
  owner.tail = run.catch(() => {});
  return run;
}

/** One partition's ledger and its runs. */
export class CustomerLedger extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.tail = Promise.resolve();
  }

  /** Every stored entry. */
  async entries() {
    const rows = await this.ctx.storage.list({ prefix: ENTRY });
    return [...rows.values()];
  }

  /** Stores `entries` (one key each; atomic up to 128 at once, in one transaction beyond). */
  async store(entries) {
    const rows = Object.fromEntries(entries.map((e) => [ENTRY + e.key, e]));
    const keys = Object.keys(rows);
    if (keys.length <= PUT_BATCH) {
      if (keys.length > 0) await this.ctx.storage.put(rows);
      return;
    }
    await this.ctx.storage.transaction(async (txn) => {
      for (let i = 0; i < keys.length; i += PUT_BATCH) {
        await txn.put(Object.fromEntries(keys.slice(i, i + PUT_BATCH).map((k) => [k, rows[k]])));
      }
    });
  }

  /**
   * The first time this object runs: the entries of its partition found in
   * the KV checkpoint of earlier versions (`LEDGER`, key
   * `incwo-flow-checkpoint`): the customer's own entries and those the
   * records reference. The KV value stays as it was (an archive).
   */
  async importOnce(customer, refs) {
    if (await this.ctx.storage.get(IMPORTED)) return;
    const text = this.env.LEDGER ? await this.env.LEDGER.get(OLD_LEDGER_KEY) : null;
    if (text !== null) {
      const old = entriesOfCheckpoint(this.env, text);
      const mine = old.filter(
        (e) =>
          (customer && (e.customer === customer || (e.domain === 'customer' && e.externalId === customer))) ||
          refs.some((ref) => sameStep(e, ref)),
      );
      const stored = new Set((await this.entries()).map((e) => e.key));
      await this.store(mine.filter((e) => !stored.has(e.key)));
      console.log(JSON.stringify({ incwoEdge: { event: 'ledger.imported', entries: mine.length } }));
    }
    await this.ctx.storage.put(IMPORTED, true);
  }

  /**
   * Syncs `records` (one partition's, in order) with this object's ledger.
   * `foreign`: entries of other partitions the records read (their
   * products'), given to the flow but never stored here. `refs`: the ledger
   * references of the records (the core's `partition.route`); the entries
   * matching them are returned. `manualReplay`: the run replays quarantined
   * records (counted in `replay_total{reason="manual"}`). The quarantine
   * entries of the run's `recordDone` actions are stored in the QUARANTINE
   * object. Resolves to `{outcomes, summary, published, entries, incwoIds,
   * done, metrics}` (`incwoIds`: ids of the entries stored, for the
   * directory; `done`: the `recordDone` actions, each entry replaced by its
   * id, `quarantineId`;
   * `metrics`: the run's, Prometheus text).
   */
  async sync({ records, customer = null, refs = [], foreign = [], manualReplay = false }) {
    ready();
    return serially(this, async () => {
      await this.importOnce(customer, refs);
      const foreignKeys = new Set(foreign.map((e) => e.key));
      const ledger = [...(await this.entries()).filter((e) => !foreignKeys.has(e.key)), ...foreign];
      const incwoIds = new Set();
      const done = [];
      const quarantined = [];
      // The marker index every partition shares (index-object.js): loaded
      // before the first poll; its changes buffered and saved every
      // INDEX_FLUSH entries and when the run ends (a cache: a crash loses
      // list-page reads, never a ledger entry).
      const index = indexOf(this.env);
      const buffered = indexBuffer();
      const flush = async () => {
        const changes = buffered.take();
        if (changes && index) await index.save(changes);
      };
      let result;
      try {
        result = await connectorFor(this.env, true, manualReplay ? { manualReplay: true } : {}).sync(records, {
          ledger,
          index: index ? await index.load() : null,
          saveIndex: index
            ? async (changes) => {
                buffered.add(changes);
                if (buffered.size >= INDEX_FLUSH) await flush();
              }
            : undefined,
          onAction: (action) => {
            if (action.action !== 'recordDone') return;
            const { quarantine, ...rest } = action;
            done.push(quarantine ? { ...rest, quarantineId: quarantine.id } : rest);
            if (quarantine) quarantined.push(quarantine);
          },
          // The jitter seed is the host's choice; the core draws no randomness.
          seed: Date.now(),
          saveEntries: async (changed) => {
            const own = changed.filter((e) => !foreignKeys.has(e.key));
            for (const e of own) if (typeof e.incwoId === 'number') incwoIds.add(e.incwoId);
            await this.store(own);
          },
          publish: this.env.EVENTS ? (queue, event) => this.env.EVENTS.send({ queue, event }) : undefined,
        });
      } finally {
        await flush();
      }
      await metricsOf(this.env)?.add(result.metrics);
      if (quarantined.length > 0) {
        const store = quarantineOf(this.env);
        if (store) await store.record(quarantined);
        else console.log(JSON.stringify({ incwoEdge: { event: 'quarantine.not_kept', missing: 'QUARANTINE', entries: quarantined.length } }));
      }
      const after = await this.entries();
      return {
        outcomes: result.outcomes,
        summary: result.summary,
        published: result.published,
        entries: after.filter((e) => refs.some((ref) => sameStep(e, ref))),
        incwoIds: [...incwoIds],
        done,
        metrics: result.metrics,
      };
    });
  }

  /**
   * incwo's webhook for an object of this partition: re-reads it
   * (`inbound.fetch`), compares it with the ledger (`inbound.detect`) and
   * stores the changed entries. Resolves to `{outcome, events}`.
   */
  async detect({ target, customer = null }) {
    ready();
    return serially(this, async () => {
      await this.importOnce(customer, []);
      const config = connectionConfig(this.env);
      const { request } = call('inbound.fetch', { config, target });
      const sent = await connectorFor(this.env, false).send(request);
      if (sent.failure) {
        throw Object.assign(new Error(`the re-read did not complete (${sent.failure.kind})`), {
          code: `transport.${sent.failure.kind}`,
        });
      }
      const args = {
        config,
        target,
        response: sent.response,
        options: { company: flowOptions(this.env).company },
        now: Date.now(),
        source: 'webhook',
        entries: await this.entries(),
      };
      if (this.env.INCWO_PROFILE) args.profile = this.env.INCWO_PROFILE;
      const result = call('inbound.detect', args);
      await this.store(result.entries ?? []);
      return { outcome: result.outcome, events: result.events ?? [] };
    });
  }

  /** `GET /entries`: the stored entries as JSON (inspection through the binding only). */
  async fetch(request) {
    const url = new URL(request.url);
    if (request.method === 'GET' && url.pathname === '/entries') {
      return Response.json({ entries: await this.entries() });
    }
    return new Response(null, { status: 404 });
  }
}

/**
 * Which partitions hold an entry of an incwo id (`id:<incwo id>` →
 * `[{partitionKey, customer}]`): incwo's webhooks name an object by its id only.
 */
export class LedgerDirectory extends DurableObject {
  /** Adds the partition to those of each of `incwoIds`. */
  async remember({ partitionKey, customer = null, incwoIds }) {
    const keys = incwoIds.map((id) => `id:${id}`);
    for (let i = 0; i < keys.length; i += PUT_BATCH) {
      const chunk = keys.slice(i, i + PUT_BATCH);
      const known = await this.ctx.storage.get(chunk);
      const rows = {};
      for (const key of chunk) {
        const partitions = known.get(key) ?? [];
        if (!partitions.some((p) => p.partitionKey === partitionKey)) rows[key] = [...partitions, { partitionKey, customer }];
      }
      if (Object.keys(rows).length > 0) await this.ctx.storage.put(rows);
    }
  }

  /** The partitions holding an entry of `incwoId` (`[]` when none). */
  async locate({ incwoId }) {
    return (await this.ctx.storage.get(`id:${incwoId}`)) ?? [];
  }
}
