// The edge Worker's secure defaults: a body cap, the order endpoint's own
// secret (bearer or HMAC-SHA256 of the body, checked with WebCrypto in
// constant time) and log lines with no secret in them.
import { call } from 'incwo-connector-wasm/web';

/** Largest body either endpoint reads (1 MiB). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The header carrying the HMAC-SHA256 of the body (hex, optionally `sha256=`-prefixed). */
export const SIGNATURE_HEADER = 'x-incwo-signature';

/** The body is over `MAX_BODY_BYTES` (announced or read). */
export class BodyTooLarge extends Error {
  constructor() {
    super(`the body is over ${MAX_BODY_BYTES} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/**
 * Reads the body, at most `MAX_BODY_BYTES`: refused from its Content-Length
 * before anything is read, and while reading when the length was absent or
 * false (the stream is cancelled at the first byte over).
 */
export async function readCapped(request) {
  const announced = request.headers.get('content-length');
  if (announced !== null && Number(announced) > MAX_BODY_BYTES) throw new BodyTooLarge();
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

const encoder = new TextEncoder();

async function hmacKey(secret) {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
}

function hexToBytes(text) {
  if (!/^(?:[0-9a-f]{2})+$/i.test(text)) return null;
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** HMAC-SHA256 of `bytes` under `secret`, hex (what a sender puts in `x-incwo-signature`). */
export async function signBody(secret, bytes) {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), bytes));
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Whether `presented` equals `secret`, compared in constant time: the MAC of
 * the presented text is verified against the MAC of the secret
 * (`crypto.subtle.verify` compares without an early exit).
 */
export async function sameSecret(secret, presented) {
  const key = await hmacKey(secret);
  const expected = await crypto.subtle.sign('HMAC', key, encoder.encode(secret));
  return crypto.subtle.verify('HMAC', key, expected, encoder.encode(presented));
}

/**
 * The order endpoint's authentication: `Authorization: Bearer <secret>`, or
 * `x-incwo-signature: [sha256=]<hex HMAC-SHA256 of the body>`. `readBody`
 * is called only when the signature needs the body. Resolves to
 * `{ok: true, body?}` or `{ok: false, reason}` (`missing`, `invalid`).
 */
export async function authenticateOrder(request, secret, readBody) {
  const authorization = request.headers.get('authorization');
  if (authorization !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return { ok: false, reason: 'invalid' };
    return (await sameSecret(secret, match[1])) ? { ok: true } : { ok: false, reason: 'invalid' };
  }
  const signature = request.headers.get(SIGNATURE_HEADER);
  if (signature === null) return { ok: false, reason: 'missing' };
  const mac = hexToBytes(signature.trim().replace(/^sha256=/i, ''));
  const body = await readBody();
  if (mac === null) return { ok: false, reason: 'invalid' };
  const valid = await crypto.subtle.verify('HMAC', await hmacKey(secret), mac, body);
  return valid ? { ok: true, body } : { ok: false, reason: 'invalid' };
}

/**
 * The request's path and query as they may be logged: the webhook's secret
 * segment and any `token` parameter replaced by `[redacted]`, then the
 * core's redaction (credentials, e-mails, phone numbers) over the result.
 */
export function loggablePath(url, webhookPath) {
  const shown = new URL(url);
  if (shown.pathname.startsWith(`${webhookPath}/`)) shown.pathname = `${webhookPath}/[redacted]`;
  if (shown.searchParams.has('token')) shown.searchParams.set('token', '[redacted]');
  return call('telemetry.redact', { text: `${shown.pathname}${shown.search}` }).text;
}

/** Writes one JSON log line `{"incwoEdge": fields}` (fields never hold a secret). */
export function logLine(level, fields) {
  const line = JSON.stringify({ incwoEdge: fields });
  if (level === 'error') console.error(line);
  else console.log(line);
}
