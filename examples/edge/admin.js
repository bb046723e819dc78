// The edge Worker's admin endpoints (GET /metrics today) sit behind a
// secret of their own, INCWO_ADMIN_SECRET, sent as `Authorization: Bearer
// <secret>` and compared in constant time. Never the webhook URL secret nor
// the order secret: an admin secret equal to either is refused as a
// configuration error, and without one the admin endpoints answer 503.
import { sameSecret } from './security.js';

/** Why the admin endpoints cannot be served (`missing`, `reused`), or null when configured. */
function misconfigured(env) {
  const secret = env.INCWO_ADMIN_SECRET;
  if (!secret) return 'missing';
  if (secret === env.INCWO_WEBHOOK_SECRET || secret === env.INCWO_ORDER_SECRET) return 'reused';
  return null;
}

/**
 * Checks an admin request. Resolves to null when it may go on, else to the
 * refusal `{status, code, message, headers}`: 503 `admin.not_configured`
 * (no INCWO_ADMIN_SECRET, or one equal to another endpoint's secret), 401
 * `admin.auth_missing` (no bearer token), 403 `admin.auth_invalid` (a wrong one).
 */
export async function authorizeAdmin(request, env) {
  const why = misconfigured(env);
  if (why === 'missing') {
    return {
      status: 503,
      code: 'admin.not_configured',
      message: 'the admin endpoints are off: set the INCWO_ADMIN_SECRET secret (wrangler secret put INCWO_ADMIN_SECRET)',
    };
  }
  if (why === 'reused') {
    return {
      status: 503,
      code: 'admin.not_configured',
      message: 'INCWO_ADMIN_SECRET must differ from INCWO_WEBHOOK_SECRET and INCWO_ORDER_SECRET',
    };
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '');
  if (!match) {
    return {
      status: 401,
      code: 'admin.auth_missing',
      message: 'authenticate with Authorization: Bearer <admin secret>',
      headers: { 'www-authenticate': 'Bearer' },
    };
  }
  if (!(await sameSecret(env.INCWO_ADMIN_SECRET, match[1]))) {
    return { status: 403, code: 'admin.auth_invalid', message: 'the admin secret is wrong' };
  }
  return null;
}
