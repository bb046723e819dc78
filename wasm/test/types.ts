// Compile-only check of the package's TypeScript declarations (tsc --noEmit).
import {
  createConnector, validate, map, call, Flow, ContractError, IncwoError, InboundError,
  type Action, type Checkpoint, type IndexChanges, type FlowOptions, type LedgerEntry, type Outcome, type Summary, type SyncResult,
} from '../pkg/node.js';
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
// The flow's messages are generated from the core's types (wasm/npm/flow-messages.d.ts).
const options: FlowOptions = { tenant: 't', retry: { maxAttempts: 2 }, lookupBeforeCreate: true };
// @ts-expect-error -- not an option: the core refuses unknown keys, and so do the types
const misspelt: FlowOptions = { retries: 2 };
if (action.action === 'recordDone') {
  const outcome: Outcome = action.outcome;
  if (outcome.outcome === 'deferred') {
    const notBefore: number = outcome.notBefore;
    const code: string = outcome.error.code;
    void notBefore;
    void code;
  }
}
const entries: LedgerEntry[] = flow.takeChangedEntries().entries;
const indexChanges: IndexChanges = flow.takeIndexChanges();
flow.loadIndex(indexChanges);
const pagesRead: number = flow.indexProgress().passes[0].pagesRead;
void pagesRead;

const checkpoint: Checkpoint = JSON.parse(flow.checkpoint());
const byKey: Record<string, LedgerEntry> = checkpoint.ledger.entries;
const summary: Summary = flow.summary().summary;
const stoppedBy: string | undefined = summary.stopped?.code;
// @ts-expect-error -- a summary has no such count
void summary.failed;
void [options, misspelt, entries, byKey, stoppedBy];
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
// The record path, lean and full: bytes in and out, batches.
import * as lean from '../pkg/lean-node.js';
import { mapBytes, mapMany, classify, type MapBytesResult, type MapManyError, type MapResult } from '../pkg/node.js';
const bytes: Uint8Array = mapBytes('order', new TextEncoder().encode('{}')).xml;
const leanBytes: MapBytesResult = lean.mapBytes('order', '{}');
const many: Array<MapResult | MapManyError> = mapMany('order', ['{}', new Uint8Array(0), { orderNumber: 'X' }]);
const manyBytes: Array<MapBytesResult | MapManyError> = lean.mapMany('order', new Uint8Array(0), null, { bytes: true });
for (const result of manyBytes) {
  if ('error' in result) void result.error.code;
  else void (result.xml satisfies Uint8Array);
}
const classified = classify({ method: 'POST', endpoint: '/bill_sheets.xml', response: { status: 503 } });
const leanError: typeof IncwoError = lean.IncwoError;
// @ts-expect-error -- the lean module has no flow
void lean.Flow;
void [bytes, leanBytes, many, classified, leanError];
