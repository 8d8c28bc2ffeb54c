// The fuzz harness of bench/fuzz.ts with a small count: every decoder and validator that takes
// outside input (anti-entropy frames and live sessions, rumors, records, invite codes, REST
// routes, store commits) refuses mutated input with its typed error, never crashes or hangs, and
// a refused input changes no state. `npm run bench -- --only=fuzz` runs the same over 1M inputs.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFuzz } from '../bench/fuzz.ts';

test('fuzzing 20k mutated inputs: no crash, no hang, refused inputs change nothing', { timeout: 60_000 }, async () => {
  const report = await runFuzz({ total: 20_000, seed: 0x5eed, hangMs: 200 });
  const show = report.findings.map((f) => `${f.target} ${f.kind}: ${f.error}\n  input: ${f.inputHex}`).join('\n');
  for (const row of report.rows) {
    assert.ok(row.inputs > 0, `${row.target} ran no inputs`);
    assert.ok(row.rejected > 0, `${row.target}: no mutated input was refused, so the mutations reach nothing`);
    assert.equal(row.crashes, 0, `${row.target} crashed:\n${show}`);
    assert.equal(row.hangs, 0, `${row.target} hung:\n${show}`);
    assert.equal(row.stateChanged, 0, `${row.target}: a refused input changed state:\n${show}`);
  }
  assert.ok(report.rows.reduce((s, r) => s + r.inputs, 0) >= 20_000);
});
