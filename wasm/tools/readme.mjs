// Writes the package README from its template, with the measured sizes of
// the optimised .wasm: node tools/readme.mjs TEMPLATE OUT RAW_BYTES GZIP_BYTES
import fs from 'node:fs';

const [template, out, raw, gz] = process.argv.slice(2);
const kb = (n) => `${(Number(n) / 1024).toFixed(1)} KiB`;
const text = fs
  .readFileSync(template, 'utf8')
  .replaceAll('{{RAW_SIZE}}', `${kb(raw)} (${raw} bytes)`)
  .replaceAll('{{GZIP_SIZE}}', `${kb(gz)} (${gz} bytes)`);
fs.writeFileSync(out, text);
