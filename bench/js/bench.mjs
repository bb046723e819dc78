// JS host bench (node 20): the core through wasm (the full module's `map`,
// the lean module's `map`, `mapBytes` and one `mapMany` call per batch)
// against zod + fast-xml-parser's XMLBuilder and plain JS, integer cents,
// output as bytes.
// Same input, same output bytes: every implementation is checked against the
// core's XML on the bench orders and the edge cases before anything is timed.
//
//   node bench/js/bench.mjs ORDERS_DIR OUT.json [WASM_PKG_DIR]
// SPDX-License-Identifier: MIT OR Apache-2.0
import { readFileSync, readdirSync, writeFileSync, statSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const impl = require('./impl.js');
const [ordersDir, outFile, pkgArg] = process.argv.slice(2);
const pkg = pkgArg || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../wasm/pkg');

function stats(xs) {
  xs.sort((a, b) => a - b);
  return { medianUs: xs[xs.length >> 1] * 1e6, minUs: xs[0] * 1e6, maxUs: xs[xs.length - 1] * 1e6 };
}

function timeit(f, samples = 15) {
  for (let i = 0; i < 50; i++) f(); // warm-up (JIT)
  let t = process.hrtime.bigint();
  f();
  const one = Math.max(Number(process.hrtime.bigint() - t) / 1e9, 1e-9);
  const per = Math.max(1, Math.min(500000, Math.ceil(0.02 / one)));
  const xs = [];
  for (let s = 0; s < samples; s++) {
    t = process.hrtime.bigint();
    for (let i = 0; i < per; i++) f();
    xs.push(Number(process.hrtime.bigint() - t) / 1e9 / per);
  }
  return stats(xs);
}

/**
 * `timeit` of several functions with their samples interleaved (one sample
 * of each in turn), so a change of load on the shared machine weighs on all
 * of them alike and their ratios stay comparable: `{name: stats}`.
 */
function timeAll(fns, samples = 15) {
  const pers = {};
  const xs = {};
  for (const [name, f] of Object.entries(fns)) {
    for (let i = 0; i < 50; i++) f(); // warm-up (JIT)
    const t = process.hrtime.bigint();
    f();
    const one = Math.max(Number(process.hrtime.bigint() - t) / 1e9, 1e-9);
    pers[name] = Math.max(1, Math.min(500000, Math.ceil(0.02 / one)));
    xs[name] = [];
  }
  for (let s = 0; s < samples; s++) {
    for (const [name, f] of Object.entries(fns)) {
      const per = pers[name];
      const t = process.hrtime.bigint();
      for (let i = 0; i < per; i++) f();
      xs[name].push(Number(process.hrtime.bigint() - t) / 1e9 / per);
    }
  }
  return Object.fromEntries(Object.entries(xs).map(([name, x]) => [name, stats(x)]));
}

const result = { host: 'js', version: process.version, rows: {}, notes: [] };
const impls = {};
let core = null;
if (existsSync(path.join(pkg, 'node.js'))) {
  core = await import(path.join(pkg, 'node.js'));
  impls.core_wasm = (text) => Buffer.from(core.map('order', text).xml);
  const wasmFile = path.join(pkg, 'web/incwo_wasm_bg.wasm');
  if (existsSync(wasmFile)) {
    const bytes = readFileSync(wasmFile);
    result.wasm = { rawBytes: statSync(wasmFile).size, gzipBytes: gzipSync(bytes, { level: 9 }).length };
  }
} else {
  result.notes.push('core through wasm: binding not built yet (no wasm/pkg/node.js; scripts/suites/js.sh builds it)');
}
let lean = null;
if (existsSync(path.join(pkg, 'lean-node.js'))) {
  lean = await import(path.join(pkg, 'lean-node.js'));
  impls.core_wasm_lean = (text) => Buffer.from(lean.map('order', text).xml);
  // The XML's bytes as they come out of the module: a Buffer view, no copy, no JS string.
  impls.core_wasm_lean_bytes = (text) => {
    const xml = lean.mapBytes('order', text).xml;
    return Buffer.from(xml.buffer, xml.byteOffset, xml.byteLength);
  };
  const leanFile = path.join(pkg, 'lean-web/incwo_lean_bg.wasm');
  if (existsSync(leanFile)) {
    const bytes = readFileSync(leanFile);
    result.wasmLean = { rawBytes: statSync(leanFile).size, gzipBytes: gzipSync(bytes, { level: 9 }).length };
  }
} else {
  result.notes.push('lean module: not built yet (no wasm/pkg/lean-node.js; scripts/suites/js.sh builds it)');
}
try {
  require.resolve('zod');
  require.resolve('fast-xml-parser');
  impls.zod = impl.zodOrderXml;
  result.zod = require('zod/package.json').version;
  const here = path.dirname(new URL(import.meta.url).pathname);
  result.fastXmlParser = JSON.parse(readFileSync(path.join(here, 'node_modules/fast-xml-parser/package.json'), 'utf8')).version;
} catch {
  result.notes.push('zod / fast-xml-parser not installed (npm ci in bench/js)');
}
impls.plain = impl.plainOrderXml;

const files = readdirSync(ordersDir).filter((f) => f.endsWith('.json')).sort();
for (const [name, f] of Object.entries(impls)) {
  for (const file of files) {
    const text = readFileSync(path.join(ordersDir, file), 'utf8');
    const expected = readFileSync(path.join(ordersDir, file.replace(/\.json$/, '.xml')));
    const got = f(text);
    if (!Buffer.isBuffer(got) || !got.equals(expected)) {
      console.error(`${name} differs from the core on ${file}:\n  expected ${expected}\n  got      ${got}`);
      process.exit(1);
    }
  }
}
console.error(`js: ${Object.keys(impls).join(', ')} give the core's bytes on ${files.length} inputs`);

const order10 = readFileSync(path.join(ordersDir, 'order-10.json'), 'utf8');
const order1000 = readFileSync(path.join(ordersDir, 'order-1000.json'), 'utf8');
// Batch: 1,000 ten-line orders in one mapMany call (one JSON Lines buffer in,
// each XML as bytes out), timed with the per-call rows.
const perCall = Object.fromEntries(Object.entries(impls).map(([name, f]) => [name, () => f(order10)]));
if (lean) {
  const batch = Buffer.from(Array(1000).fill(order10.replace(/\r?\n/g, ' ')).join('\n'));
  const coreBatch = () =>
    lean.mapMany('order', batch, null, { bytes: true }).map((r) => Buffer.from(r.xml.buffer, r.xml.byteOffset, r.xml.byteLength));
  const first = coreBatch();
  if (first.length !== 1000 || !first[999].equals(impls.plain(order10))) {
    console.error('js: the lean mapMany batch differs from the core\'s bytes');
    process.exit(1);
  }
  perCall.core_wasm_lean_batch1000 = coreBatch;
}
const tens = timeAll(perCall);
const thousands = timeAll(Object.fromEntries(Object.entries(impls).map(([name, f]) => [name, () => f(order1000)])), 7);
for (const name of Object.keys(impls)) {
  const ten = tens[name];
  const thousand = thousands[name];
  result.rows[name] = { order10: ten, order1000: thousand, usPerLineAt1000: thousand.medianUs / 1000, ordersPerSecond: 1e6 / ten.medianUs };
  console.error(`js ${name.padEnd(10)} ${ten.medianUs.toFixed(2).padStart(9)} µs per 10-line order, ${(thousand.medianUs / 1000).toFixed(3)} µs per line at 1,000`);
}
if (tens.core_wasm_lean_batch1000) {
  const perOrder = Object.fromEntries(Object.entries(tens.core_wasm_lean_batch1000).map(([k, v]) => [k, v / 1000]));
  result.rows.core_wasm_lean_batch1000 = { perOrder, ordersPerSecond: 1e6 / perOrder.medianUs };
  console.error(`js core lean mapMany of 1,000: ${perOrder.medianUs.toFixed(2)} µs per order`);
}
if (core) {
  result.trivialCall = { wasm_version: timeit(() => core.version()), js_function: timeit(() => 'x'.length) };
}
writeFileSync(outFile, JSON.stringify(result, null, 2));
