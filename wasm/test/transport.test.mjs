// createConnector's transport failures: the phase of a failed fetch comes
// from error codes, undici's connect errors (node's diagnostics channel) and
// what the connector saw, never from a message. Real fetch against real node
// servers on 127.0.0.1 that fail at each step, plain and TLS (the TLS faults
// after a completed handshake run against incwo-sim: tls-matrix.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import * as incwo from '../pkg/node.js';

const CONFIG = { server: 'http://127.0.0.1:9', businessFileId: '123456', auth: { type: 'basic', login: 'l', password: 'p' } };

/** A TCP server whose connections `onSocket` handles; resolves to `{port, close}`. */
async function serve(onSocket) {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    close: () => {
      sockets.forEach((s) => s.destroy());
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Calls `onRequest(socket)` once the request's head (and a small body) arrived. */
function afterRequest(onRequest) {
  return (socket) => {
    let seen = '';
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      if (seen.includes('\r\n\r\n')) onRequest(socket);
    });
  };
}

async function failure(scheme, port, timeoutMs = 2000) {
  const connector = incwo.createConnector({ fetch, config: CONFIG, timeoutMs });
  const answer = await connector.send({ method: 'POST', url: `${scheme}://127.0.0.1:${port}/123456/firms.xml`, headers: [], body: '<firm/>', bodyEncoding: 'utf8' });
  assert.ok(answer.failure, `expected a failure, got ${JSON.stringify(answer)}`);
  return answer.failure;
}

test('a refused connection: connect_refused in phase connect', async () => {
  const { port, close } = await serve(() => {});
  await close();
  assert.deepEqual(await failure('http', port), { kind: 'connect_refused', phase: 'connect' });
});

test('an unresolvable host: dns in phase connect', async () => {
  const connector = incwo.createConnector({ fetch, config: CONFIG, timeoutMs: 5000 });
  const answer = await connector.send({ method: 'GET', url: 'http://nowhere.invalid/123456/firms.xml', headers: [], body: '', bodyEncoding: 'utf8' });
  assert.deepEqual(answer.failure, { kind: 'dns', phase: 'connect' });
});

test('closed after the request was written: reset, sent (undici counted the bytes written)', async () => {
  const server = await serve(afterRequest((socket) => socket.end()));
  try {
    assert.deepEqual(await failure('http', server.port), { kind: 'reset', phase: 'sent' });
  } finally {
    await server.close();
  }
});

test('reset after the request: reset, phase unknown (may have been sent)', async () => {
  const server = await serve(afterRequest((socket) => socket.resetAndDestroy()));
  try {
    assert.deepEqual(await failure('http', server.port), { kind: 'reset' });
  } finally {
    await server.close();
  }
});

test('a body cut short after the headers: reset, sent', async () => {
  const server = await serve(
    afterRequest((socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: 100\r\n\r\n<?xml')),
  );
  try {
    assert.deepEqual(await failure('http', server.port), { kind: 'reset', phase: 'sent' });
  } finally {
    await server.close();
  }
});

test('no answer before the timeout: timeout, phase unknown', async () => {
  const server = await serve(() => {});
  try {
    assert.deepEqual(await failure('http', server.port, 300), { kind: 'timeout' });
  } finally {
    await server.close();
  }
});

test('TLS closed before the handshake: tls in phase tls_handshake (a connect error of undici)', async () => {
  const server = await serve((socket) => socket.destroy());
  try {
    assert.deepEqual(await failure('https', server.port), { kind: 'tls', phase: 'tls_handshake' });
  } finally {
    await server.close();
  }
});

test('a server that does not speak TLS: tls in phase tls_handshake', async () => {
  const server = await serve((socket) => socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n'));
  try {
    assert.deepEqual(await failure('https', server.port), { kind: 'tls', phase: 'tls_handshake' });
  } finally {
    await server.close();
  }
});

test('codes decide, messages never do', () => {
  const coded = (code, message = 'whatever') => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(message), { code }) });
  assert.deepEqual(incwo.transportFailure(coded('ECONNREFUSED', 'SSL handshake')), { kind: 'connect_refused', phase: 'connect' });
  assert.deepEqual(incwo.transportFailure(coded('UND_ERR_CONNECT_TIMEOUT')), { kind: 'timeout', phase: 'connect' });
  assert.deepEqual(incwo.transportFailure(coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE')), { kind: 'tls', phase: 'tls_handshake' });
  assert.deepEqual(incwo.transportFailure(coded('ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC', 'handshake failure')), { kind: 'tls' });
  // workerd: an opaque error without a code whose message names a refused connection stays unknown.
  assert.deepEqual(incwo.transportFailure(new Error('connection refused during handshake')), { kind: 'reset' });
  // A connect error reported by the client's hook is before sending, whatever its code.
  const early = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  incwo.noteConnectFailure(early);
  assert.deepEqual(incwo.transportFailure(new TypeError('fetch failed', { cause: early }), { url: 'https://x/' }), { kind: 'tls', phase: 'tls_handshake' });
  assert.deepEqual(incwo.transportFailure(coded('ECONNRESET'), { responded: true }), { kind: 'reset', phase: 'sent' });
});
