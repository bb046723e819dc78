// The golden vectors of the record path (validate, map, classify) as cases
// for fixtures/record-runner.js: inputs and profiles read into JSON texts.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './support.mjs';

const BASE = path.join(ROOT, 'tests/vectors');
const CALLS = new Set(['validate', 'map', 'classify']);

function collect(dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'fixtures' && entry.name !== 'profiles') collect(full, out);
    } else if (entry.name.endsWith('.json')) {
      out.push(full);
    }
  }
  return out.sort();
}

function inputText(vector) {
  if (typeof vector.inputText === 'string') return vector.inputText;
  if (typeof vector.inputFile === 'string') {
    return new TextDecoder('utf-8', { fatal: true }).decode(fs.readFileSync(path.join(BASE, vector.inputFile)));
  }
  if ('input' in vector) return JSON.stringify(vector.input);
  return undefined;
}

/** Every record-path vector: `{name, call, args, input?, profile?, expected}`. */
export function recordCases() {
  const cases = [];
  for (const file of collect(BASE)) {
    const vector = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!CALLS.has(vector.call)) continue;
    cases.push({
      name: path.relative(BASE, file),
      call: vector.call,
      args: vector.args ?? {},
      input: inputText(vector),
      profile: vector.profileFile ? fs.readFileSync(path.join(BASE, vector.profileFile), 'utf8') : undefined,
      expected: vector.expected,
    });
  }
  return cases;
}
