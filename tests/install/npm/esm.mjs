// The npm package as a user installs it (npm pack → npm install in a fresh
// project), imported as an ES module: the README's node example, synced
// against incwo-sim over loopback HTTP (readme.mjs). Run by `./scripts/test install`.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as lib from 'incwo-connector-wasm';
import { readmeExample } from './readme.mjs';

const installed = createRequire(import.meta.url)('incwo-connector-wasm/package.json');
assert.equal(installed.version, process.env.INCWO_EXPECTED_VERSION, 'the installed package carries the workspace version');
await readmeExample(lib, 'esm');
