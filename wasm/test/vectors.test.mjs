// Every golden vector of tests/vectors/ through the built package (node
// entry), with the subset matching rule of tests/vectors/README.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as incwo from '../pkg/node.js';
import { ROOT, subsetMatch } from './support.mjs';

const BASE = path.join(ROOT, 'tests/vectors');

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

function inputBytes(vector) {
  if (typeof vector.inputText === 'string') return Buffer.from(vector.inputText, 'utf8');
  if (typeof vector.inputFile === 'string') return fs.readFileSync(path.join(BASE, vector.inputFile));
  if ('input' in vector) return Buffer.from(JSON.stringify(vector.input), 'utf8');
  return undefined;
}

function run(vector) {
  const args = vector.args ?? {};
  const input = inputBytes(vector);
  const text = () => {
    assert.ok(input, 'the vector has no input');
    return new TextDecoder('utf-8', { fatal: true }).decode(input);
  };
  const profile = vector.profileFile ? fs.readFileSync(path.join(BASE, vector.profileFile), 'utf8') : undefined;
  switch (vector.call) {
    case 'validate':
      return incwo.validate(args.kind, text(), profile);
    case 'map':
      return incwo.map(args.kind, text(), profile);
    case 'schema':
      return incwo.schema(args.kind, profile);
    case 'parse':
      return incwo.parse(args.resource, new Uint8Array(input));
    default:
      return incwo.call(vector.call, args);
  }
}

const files = collect(BASE);

test('the vectors folder holds the golden vectors', () => {
  assert.ok(files.length >= 40, `only ${files.length} vectors`);
});

for (const file of files) {
  const name = path.relative(BASE, file);
  test(`vector ${name}`, () => {
    const vector = JSON.parse(fs.readFileSync(file, 'utf8'));
    let actual;
    try {
      actual = run(vector);
    } catch (error) {
      if (!(error instanceof incwo.IncwoError)) throw error;
      // An answer holding more than the error (an intake refusal's status) is kept whole.
      actual = error.document ?? { error: error.toJSON() };
    }
    const diff = subsetMatch(vector.expected, actual);
    assert.equal(diff, null, `${diff}\n  actual: ${JSON.stringify(actual)}`);
  });
}
