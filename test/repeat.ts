// `npm run test:repeat -- N [pattern]`: runs the suite (or the test files whose path contains
// `pattern`) N times in a row and prints, per test, how many runs it passed. A test that passes
// some runs and fails others is flaky, and is listed first. Type-check and build run once first,
// as `npm test` does; each run then uses the same runner and concurrency as `npm test`.
// Exits 1 when any test failed in any run. REPEAT_NO_BUILD=1 skips the type-check and build.

import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { run } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');
const USAGE = 'usage: npm run test:repeat -- N [pattern]   (N runs, 1-1000; pattern: part of a test file path)';

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? testFiles(p) : name.endsWith('.test.ts') ? [p] : [];
  });
}

interface Tally { pass: number; fail: number; skip: number; firstError?: string }

async function once(files: string[], tallies: Map<string, Tally>): Promise<{ pass: number; fail: number; skip: number; failed: string[] }> {
  const counts = { pass: 0, fail: 0, skip: 0, failed: [] as string[] };
  const stream = run({ files, concurrency: 2, isolation: 'process' });
  const key = (d: { file?: string; name: string; nesting: number }) => `${relative(ROOT, d.file ?? '?')} › ${d.name}`;
  const tally = (k: string): Tally => {
    let t = tallies.get(k);
    if (!t) tallies.set(k, (t = { pass: 0, fail: 0, skip: 0 }));
    return t;
  };
  stream.on('test:pass', (d) => {
    if (d.details.type === 'suite') return;
    const t = tally(key(d));
    if (d.skip || d.todo) {
      t.skip++;
      counts.skip++;
    } else {
      t.pass++;
      counts.pass++;
    }
  });
  stream.on('test:fail', (d) => {
    if (d.details.type === 'suite') return;
    const t = tally(key(d));
    t.fail++;
    counts.fail++;
    counts.failed.push(key(d));
    t.firstError ??= String((d.details.error as Error & { cause?: unknown })?.cause ?? d.details.error).split('\n').slice(0, 3).join(' | ');
  });
  // Draining the stream runs the tests; their own output stays out of this report.
  for await (const _ of stream);
  return counts;
}

async function main(): Promise<void> {
  const [nArg, pattern] = process.argv.slice(2);
  const n = Number(nArg);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  const files = testFiles(join(ROOT, 'test')).filter((f) => pattern === undefined || relative(ROOT, f).includes(pattern)).sort();
  if (files.length === 0) {
    process.stderr.write(`no test file matches ${JSON.stringify(pattern)}\n${USAGE}\n`);
    process.exit(2);
  }
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  if (!process.env.REPEAT_NO_BUILD) execFileSync(npm, ['run', 'typecheck'], { cwd: ROOT, stdio: 'inherit' });
  if (!process.env.REPEAT_NO_BUILD) execFileSync(npm, ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  process.stdout.write(`test:repeat: ${n} runs of ${files.length} file(s)${pattern ? ` matching ${JSON.stringify(pattern)}` : ''}\n`);
  const tallies = new Map<string, Tally>();
  let failedRuns = 0;
  for (let i = 1; i <= n; i++) {
    const t0 = Date.now();
    const c = await once(files, tallies);
    if (c.fail > 0) failedRuns++;
    process.stdout.write(`run ${i}/${n}: ${c.pass} passed, ${c.fail} failed, ${c.skip} skipped (${Math.round((Date.now() - t0) / 1000)} s)\n`);
    // Named at once, so a long repeat shows what failed while it is still running.
    for (const k of c.failed) process.stdout.write(`  failed: ${k}\n`);
  }
  const rows = [...tallies].sort(([ka, a], [kb, b]) => b.fail - a.fail || ka.localeCompare(kb));
  const flaky = rows.filter(([, t]) => t.fail > 0);
  process.stdout.write(`\nper test (passed/runs), ${flaky.length} with failures first:\n`);
  for (const [k, t] of rows) {
    const runs = t.pass + t.fail;
    const mark = t.fail > 0 ? (t.pass > 0 ? 'FLAKY' : 'FAIL ') : t.pass === 0 ? 'skip ' : 'ok   ';
    process.stdout.write(`${mark} ${String(t.pass).padStart(4)}/${String(runs === 0 ? t.skip : runs).padEnd(4)} ${k}${t.firstError ? `\n        first failure: ${t.firstError}` : ''}\n`);
  }
  const tests = rows.filter(([, t]) => t.pass + t.fail > 0).length;
  process.stdout.write(`\n${n} runs: ${n - failedRuns} with every test passing, ${failedRuns} with a failure; ${tests - flaky.length} of ${tests} tests passed every run\n`);
  process.exit(failedRuns > 0 ? 1 : 0);
}

await main();
