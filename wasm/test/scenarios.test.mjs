// Every scenario file of tests/scenarios/ end to end: the package's
// createConnector drives the flow over node's global fetch against a real
// incwo-sim on loopback, and incwo's state is checked through /_sim/state.
// Inbound scenarios (README "Inbound") also run a webhook endpoint on
// loopback and the core's inbound calls (inbound.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createConnector } from '../pkg/node.js';
import { ROOT, startSim, subsetMatch } from './support.mjs';
import { InboundHost } from './inbound.mjs';

const DIR = path.join(ROOT, 'tests/scenarios');
const files = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

let sim;
before(async () => {
  sim = await startSim();
});
after(async () => {
  await sim?.stop();
});

function metricValue(text, sample) {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1).trim());
  }
  return 0;
}

async function runScenario(file) {
  const scenario = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'));
  const profile = scenario.profileFile ? fs.readFileSync(path.join(DIR, scenario.profileFile), 'utf8') : undefined;
  const connector = createConnector({
    fetch: globalThis.fetch,
    config: sim.config,
    profile,
    options: scenario.options,
    timeoutMs: 2000,
  });
  const failures = [];
  await sim.reset();
  const inbound = new InboundHost({ sim, scenario, connector, options: scenario.options, profile });
  await inbound.start();
  try {
    await runSteps(scenario, connector, inbound, failures);
  } finally {
    await inbound.stop();
  }
  const state = await sim.state();
  if (state.duplicates.length !== 0) failures.push(`duplicates in incwo: ${JSON.stringify(state.duplicates)}`);
  const diff = subsetMatch(scenario.incwo ?? {}, state);
  if (diff) failures.push(`incwo state${diff}`);
  return failures;
}

async function runSteps(scenario, connector, inbound, failures) {
  let checkpoint = null;
  for (const [n, step] of (scenario.steps ?? []).entries()) {
    const label = `step ${n + 1}`;
    await sim.clearFaults();
    if (Array.isArray(step.faults) && step.faults.length > 0) await sim.addFaults(step.faults);
    const records = step.records ?? [];
    const crashAt = step.crashAfterActions;
    let result = await connector.sync(records, {
      checkpoint,
      seed: 7 + n,
      interruptAtAction: typeof crashAt === 'number' ? crashAt : undefined,
    });
    const requests = { ...result.requests };
    const published = [...result.published];
    if (typeof crashAt === 'number') {
      if (result.status !== 'interrupted') failures.push(`${label}: the flow ended before the crash at action ${crashAt}`);
      // The crash: everything in memory is lost; resume from the last save.
      result = await connector.sync(records, { checkpoint: result.checkpoint, seed: 7 + n });
      for (const [method, count] of Object.entries(result.requests)) requests[method] = (requests[method] ?? 0) + count;
      published.push(...result.published);
    }
    if (result.status !== 'done') failures.push(`${label}: the flow did not finish (${result.status})`);
    checkpoint = result.checkpoint;
    const expect = step.expect ?? {};
    if (expect.outcomes !== undefined) {
      const diff = subsetMatch(expect.outcomes, result.outcomes);
      if (diff) failures.push(`${label} outcomes${diff}; got ${JSON.stringify(result.outcomes)}`);
    }
    for (const wanted of expect.published ?? []) {
      const found = published.some((p) => p.queue === wanted.queue && p.event?.type === wanted.type);
      if (!found) {
        const seen = published.map((p) => `${p.queue} ${p.event?.type}`);
        failures.push(`${label}: no ${JSON.stringify(wanted)} among published events ${JSON.stringify(seen)}`);
      }
    }
    for (const metric of expect.metrics ?? []) {
      const value = metricValue(result.metrics, metric.sample);
      if (typeof metric.min === 'number' && value < metric.min) {
        failures.push(`${label}: ${metric.sample} = ${value}, expected ≥ ${metric.min}`);
      }
      if (typeof metric.equals === 'number' && value !== metric.equals) {
        failures.push(`${label}: ${metric.sample} = ${value}, expected ${metric.equals}`);
      }
    }
    for (const [method, count] of Object.entries(expect.requests ?? {})) {
      const sent = requests[method] ?? 0;
      if (sent !== count) failures.push(`${label}: ${sent} ${method} requests sent, expected ${count}`);
    }
    // After the records: changes in incwo, forged webhooks, the inbound mode;
    // the checkpoint they leave is the one the next step resumes from.
    const received = await inbound.step(step, checkpoint, label, failures);
    checkpoint = received.checkpoint;
    if (expect.inbound !== undefined) {
      const diff = subsetMatch(expect.inbound, received.events);
      if (diff) failures.push(`${label} inbound${diff}; received ${JSON.stringify(received.events)}`);
    }
  }
}

test('the scenarios folder holds the test matrix', () => {
  assert.ok(files.length >= 5, `only ${files.length} scenario files`);
});

for (const file of files) {
  test(`scenario ${file}`, async () => {
    const failures = await runScenario(file);
    assert.deepEqual(failures, []);
  });
}
