// A Worker on the installed package's web build (see workerd.mjs).
import { initSync, validate, map, version } from 'incwo-connector-wasm/web';
import wasm from 'incwo-connector-wasm/incwo.wasm';

export default {
  async fetch(request) {
    initSync(wasm);
    const text = await request.text();
    const report = validate('order', text);
    const mapped = map('order', text);
    return Response.json({ valid: report.valid, inclTax: mapped.totals.inclTax, version: version() });
  },
};
