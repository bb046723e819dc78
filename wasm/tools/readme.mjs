// Writes the package README from its template, with the measured sizes of
// the optimised modules: node tools/readme.mjs TEMPLATE OUT SIZES_JSON
// (SIZES_JSON: {"full": {"raw", "gzip"}, "lean": {"raw", "gzip"}}, written by js_build).
import fs from 'node:fs';

const [template, out, sizesFile] = process.argv.slice(2);
const sizes = JSON.parse(fs.readFileSync(sizesFile, 'utf8'));
const kb = (n) => `${(Number(n) / 1000).toFixed(1)} KB (${n} bytes)`;
const text = fs
  .readFileSync(template, 'utf8')
  .replaceAll('{{RAW_SIZE}}', kb(sizes.full.raw))
  .replaceAll('{{GZIP_SIZE}}', kb(sizes.full.gzip))
  .replaceAll('{{LEAN_RAW_SIZE}}', kb(sizes.lean.raw))
  .replaceAll('{{LEAN_GZIP_SIZE}}', kb(sizes.lean.gzip));
fs.writeFileSync(out, text);
