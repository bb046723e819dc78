// The failed-authentication throttle of the edge Worker, in Durable
// Objects: one `AuthThrottle` per client address (CF-Connecting-IP), so
// every isolate serving that address sees the same count. The rule is the
// core's (`inbound.throttle`: 10 failures a minute, then 429 until the
// minute ends); the object only keeps the address's small state
// (`{windowStart, failures}`) and forgets it once its window is over.
import { DurableObject } from 'cloudflare:workers';
import { call, InboundError } from 'incwo-connector-wasm/web';
import { ready } from './settings.js';

const STATE = 'state';
/** How long a state is kept after its last failure: two windows. */
const KEEP_MS = 120_000;

/** The core's throttle decision; a refusal comes back as its document. */
function decide(state, failed) {
  try {
    return call('inbound.throttle', { state, now: Date.now(), failed });
  } catch (error) {
    if (error instanceof InboundError && error.document) return error.document;
    throw error;
  }
}

/** One client address's failed authentications (the object is named by the address). */
export class AuthThrottle extends DurableObject {
  /**
   * The core's answer for this address now: `{allowed: true}` or
   * `{allowed: false, status: 429, retryAfterSeconds, error}`. With
   * `failed`, one more failed authentication is counted first. The read,
   * the decision (synchronous) and the write run under the object's input
   * gate, so concurrent failures are all counted.
   */
  async check({ failed = false } = {}) {
    ready();
    const state = (await this.ctx.storage.get(STATE)) ?? null;
    const result = decide(state, failed);
    if (failed) {
      await this.ctx.storage.put(STATE, result.state);
      await this.ctx.storage.setAlarm(Date.now() + KEEP_MS);
    }
    if (result.allowed !== false) return { allowed: true };
    return { allowed: false, status: result.status, retryAfterSeconds: result.retryAfterSeconds, error: result.error };
  }

  /** The window is long over: nothing to remember. */
  async alarm() {
    await this.ctx.storage.deleteAll();
  }
}

/**
 * The throttle of the request's client address (CF-Connecting-IP), or
 * null when the Worker has no THROTTLE binding or the address is unknown.
 */
export function throttleOf(env, request) {
  const address = request.headers.get('CF-Connecting-IP');
  if (!env.THROTTLE || !address) return null;
  return env.THROTTLE.get(env.THROTTLE.idFromName(address));
}
