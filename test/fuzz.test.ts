// The fuzz harness of bench/fuzz.ts with a small count: every decoder and validator that takes
// outside input (anti-entropy frames and live sessions, rumors, records, invite codes, REST
// routes, store commits) refuses mutated input with its typed error, never crashes, and a refused
// input changes no state. A hang (an input that never returns) fails the test by its timeout; how
// long inputs take is a figure for `npm run bench -- --only=fuzz` (1M inputs, per-input maxMs),
// not a pass/fail line here, where a GC pause on a loaded machine is not a bug.
// FUZZ_SEED=<n> reruns one seed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFuzz } from '../bench/fuzz.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);

test(`fuzzing 20k mutated inputs (seed ${SEED}): no crash, refused inputs change nothing`, { timeout: 600_000 }, async (t) => {
  t.diagnostic(`seed ${SEED} (rerun with FUZZ_SEED=${SEED})`);
  const report = await runFuzz({ total: 20_000, seed: SEED, hangMs: Number.POSITIVE_INFINITY });
  const show = report.findings.map((f) => `${f.target} ${f.kind}: ${f.error}\n  input: ${f.inputHex}`).join('\n');
  for (const row of report.rows) {
    assert.ok(row.inputs > 0, `${row.target} ran no inputs`);
    assert.ok(row.rejected > 0, `${row.target}: no mutated input was refused, so the mutations reach nothing`);
    assert.equal(row.crashes, 0, `${row.target} crashed:\n${show}`);
    assert.equal(row.stateChanged, 0, `${row.target}: a refused input changed state:\n${show}`);
  }
  assert.ok(report.rows.reduce((s, r) => s + r.inputs, 0) >= 20_000);
});
