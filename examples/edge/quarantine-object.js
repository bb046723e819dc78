// The edge Worker's quarantine: every record the flow ends quarantined, in
// one Durable Object (`QuarantineStore`, binding QUARANTINE, named
// "entries"), one storage key per entry (`q:<entry id>`). Entries are
// stored as the flow gives them (the core redacted them already), merged
// with the previous one of the same record through the core's
// `quarantine.merge`; listing goes through `quarantine.list`, and the ids it
// reports `expired` (older than the retention, INCWO_QUARANTINE_RETENTION_DAYS,
// default 30) are deleted. The admin endpoints (quarantine-admin.js) read
// and change them.
import { DurableObject } from 'cloudflare:workers';
import { call } from 'incwo-connector-wasm/web';
import { ready } from './settings.js';

const KEY = 'q:';

/** The quarantine entries of the Worker (one object, named "entries"). */
export class QuarantineStore extends DurableObject {
  /** Stores the flow's entries, each merged with the stored one of its id. */
  async record(entries) {
    ready();
    for (const entry of entries) {
      const previous = await this.ctx.storage.get(KEY + entry.id);
      const args = previous === undefined ? { entry } : { previous, entry };
      const merged = call('quarantine.merge', args).entry;
      await this.ctx.storage.put(KEY + merged.id, merged);
    }
  }

  /**
   * The entries matching `filter` (`{code, class, resource,
   * olderThanSeconds, state}`, the core's), after deleting the expired ones.
   */
  async list(filter = {}) {
    ready();
    const rows = await this.ctx.storage.list({ prefix: KEY });
    const args = { entries: [...rows.values()], filter, now: Date.now() };
    const days = Number(this.env.INCWO_QUARANTINE_RETENTION_DAYS);
    if (this.env.INCWO_QUARANTINE_RETENTION_DAYS !== undefined && Number.isInteger(days) && days > 0) args.retentionDays = days;
    const { entries, expired } = call('quarantine.list', args);
    if (expired.length > 0) await this.ctx.storage.delete(expired.map((id) => KEY + id));
    return entries;
  }

  /** The entry `id`, or null. */
  async get(id) {
    return (await this.ctx.storage.get(KEY + id)) ?? null;
  }

  /** Replaces an entry (settled by a replay, or dropped). */
  async put(entry) {
    await this.ctx.storage.put(KEY + entry.id, entry);
  }
}

/** The quarantine object, or null when the Worker has no QUARANTINE binding. */
export function quarantineOf(env) {
  return env.QUARANTINE ? env.QUARANTINE.get(env.QUARANTINE.idFromName('entries')) : null;
}
