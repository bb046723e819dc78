// The installed package's TypeScript declarations under `tsc --strict`.
import { validate, map, createConnector, type TransportFailure } from 'incwo-connector-wasm';

const report = validate('order', '{}');
const valid: boolean = report.valid;
const failure: TransportFailure = { kind: 'tls', phase: 'tls_handshake' };
const unknownPhase: TransportFailure = { kind: 'reset' };
const connector = createConnector({
  fetch,
  config: { server: 'https://www.incwo.com', businessFileId: '123456', auth: { type: 'basic', login: 'a@b.fr', password: 'x' } },
});
import { mapBytes, mapMany, type MapBytesResult } from 'incwo-connector-wasm/lean';
const mapped: MapBytesResult = mapBytes('order', new Uint8Array(0));
const batch = mapMany('order', ['{}'], null, { bytes: true });
export const used = [valid, failure, unknownPhase, connector, map, mapped, batch];
