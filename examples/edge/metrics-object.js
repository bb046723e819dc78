// The edge Worker's running metric totals, in one Durable Object
// (`OperationsMetrics`, named "totals") so every isolate adds to and reads
// the same numbers: each flow run's metrics are added with the core's
// `telemetry.accumulate` (counters and histograms add up, gauges take the
// run's value), and the webhook backlog counts accepted incwo pings whose
// re-read has not finished. GET /metrics renders them (behind the admin
// secret, see admin.js).
import { DurableObject } from 'cloudflare:workers';
import { call, IncwoError } from 'incwo-connector-wasm/web';
import { ready } from './settings.js';
import { logLine } from './security.js';

const TOTAL = 'total';
const BACKLOG = 'webhookBacklog';

/** The running totals of the Worker's metrics (one object, named "totals"). */
export class OperationsMetrics extends DurableObject {
  /** Adds one run's metrics (the Prometheus text a flow rendered). */
  async add(run) {
    ready();
    const total = (await this.ctx.storage.get(TOTAL)) ?? null;
    let text;
    try {
      text = call('telemetry.accumulate', { total, run }).text;
    } catch (error) {
      if (!(error instanceof IncwoError) || error.details?.argument !== 'total') throw error;
      // Totals this core cannot read (another version's): start again, said once.
      logLine('error', { event: 'metrics.totals_reset', code: error.code });
      text = call('telemetry.accumulate', { total: null, run }).text;
    }
    await this.ctx.storage.put(TOTAL, text);
  }

  /** Moves the webhook backlog by `delta` (+1 when a ping is accepted, -1 when its re-read ends). */
  async backlog(delta) {
    const size = Math.max(0, ((await this.ctx.storage.get(BACKLOG)) ?? 0) + delta);
    await this.ctx.storage.put(BACKLOG, size);
  }

  /** The totals and the webhook backlog, in the Prometheus text format. */
  async render() {
    ready();
    const size = (await this.ctx.storage.get(BACKLOG)) ?? 0;
    const run = call('telemetry.render', { events: [{ metric: 'webhook_backlog', size }] }).text;
    return call('telemetry.accumulate', { total: (await this.ctx.storage.get(TOTAL)) ?? null, run }).text;
  }
}

/** The totals object, or null when the Worker has no METRICS binding. */
export function metricsOf(env) {
  return env.METRICS ? env.METRICS.get(env.METRICS.idFromName('totals')) : null;
}

/** Runs `reread` with the ping counted in the webhook backlog until it ends. */
export async function countedInBacklog(env, reread) {
  const metrics = metricsOf(env);
  await metrics?.backlog(1);
  try {
    return await reread();
  } finally {
    await metrics?.backlog(-1);
  }
}
