// Compile-only check of the package's TypeScript declarations (tsc --noEmit).
import { createConnector, validate, map, call, Flow, ContractError, IncwoError, InboundError, type Action, type SyncResult } from '../pkg/node.js';
import * as web from '../pkg/web.js';

const report = validate('order', '{}');
const valid: boolean = report.valid;
const xml: string = map('order', { orderNumber: 'X' }).xml;
const connector = createConnector({
  fetch: globalThis.fetch,
  config: { server: 'http://127.0.0.1:1', businessFileId: '1', auth: { type: 'basic', login: 'l', password: 'p' } },
  timeoutMs: 2000,
});
async function run(): Promise<SyncResult> {
  await web.init();
  return connector.sync([{ kind: 'order', record: {} }], { seed: 1 });
}
const flow = Flow.start({ config: { server: 's', businessFileId: '1', auth: { type: 'basic', login: 'l', password: 'p' } }, records: [], now: 0 });
const action: Action = flow.poll(0);
if (action.action === 'send') {
  const url: string = action.request.url;
  flow.onResponse(action.requestId, { status: 200, body: '' }, 1);
  void url;
}
try {
  map('order', '{}');
} catch (e) {
  if (e instanceof ContractError) {
    const path: string = e.violations[0].path;
    void path;
  } else if (e instanceof IncwoError) {
    const code: string = e.code;
    void code;
  }
}
try {
  call('inbound.webhook', { body: '{}', settings: {} });
} catch (e) {
  if (e instanceof InboundError) {
    const status: number | undefined = e.status;
    const document: Record<string, unknown> | undefined = e.document;
    void status;
    void document;
  }
}
void valid;
void xml;
void run;
