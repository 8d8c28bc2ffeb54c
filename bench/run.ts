// `npm run bench [-- --json] [-- --quick]`: prints every benchmark's figures. Not a test: the
// figures are read by people (and the README), never asserted against the clock.
// `--only=anti-entropy|write|open|markdown|gossip|initial-sync|framing|holds|fuzz|rounds|merge|ui-scale` runs one section.

import { framingRows } from './ae-framing.ts';
import { fuzzRows } from './fuzz.ts';
import { holdsRows } from './holds.ts';
import { antiEntropyRows, type AeRow } from './anti-entropy.ts';
import { chaosRoundsRows } from './chaos-rounds.ts';
import { DEFAULT_GOSSIP_CONFIGS, gossipLatencyRows } from './gossip-latency.ts';
import { initialSyncRows } from './initial-sync.ts';
import { markdownRows } from './markdown.ts';
import type { Mode } from '../engine/core/protocol.ts';
import { openRows } from './store-open.ts';
import { commitPagesRows, writeAllocationRows, writeStepRows } from './write-steps.ts';
import { throughputRows } from './write-throughput.ts';
import { historyRows, mergeRows } from './merge.ts';
import { uiScaleRows } from './ui-scale.ts';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);

function table(rows: Record<string, unknown>[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const cells = rows.map((r) => cols.map((c) => String(r[c] ?? '-')));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  console.log(cols.map((c, i) => c.padStart(widths[i])).join('  '));
  for (const row of cells) console.log(row.map((v, i) => v.padStart(widths[i])).join('  '));
}

function emit(section: string, rows: Record<string, unknown>[]): void {
  if (json) for (const r of rows) console.log(JSON.stringify({ bench: section, ...r }));
  else {
    console.log(`\n== ${section} ==`);
    table(rows);
  }
}

if (!only || only === 'anti-entropy') {
  const sizes = quick ? [1000, 100_000] : [1000, 100_000, 1_000_000];
  const modes: Mode[] = ['whole', 'merkle', 'recent', 'auto'];
  const rows: AeRow[] = [];
  for (const row of antiEntropyRows(sizes, [0, 1, 10, 1000], modes, 100_000)) {
    rows.push(row);
    if (json) console.log(JSON.stringify({ bench: 'anti-entropy', ...row }));
    else process.stderr.write(`  n=${row.n} d=${row.d} ${row.mode}: ${row.bytes} B, ${row.roundTrips} RT\n`);
  }
  if (!json) {
    emit('anti-entropy (bytes both ways; whole skipped at n=1M: it ships ~2 x 100 MB)', rows as unknown as Record<string, unknown>[]);
  }
}

if (!only || only === 'write') {
  const cases = quick ? [{ batch: 1, rows: 300 }, { batch: 100, rows: 5000 }] : [{ batch: 1, rows: 1000 }, { batch: 100, rows: 20_000 }, { batch: 1000, rows: 50_000 }];
  emit('write throughput: full write path vs raw SQLite insert, same rows, same batch, WAL + synchronous=FULL', throughputRows(cases) as unknown as Record<string, unknown>[]);
  emit('write steps: each step of writing a new key, alone, warm (best of 5)', writeStepRows(quick ? 20_000 : 100_000) as unknown as Record<string, unknown>[]);
  emit('write allocation: V8 heap bytes per row, batch 100', writeAllocationRows(quick ? 5_000 : 20_000) as unknown as Record<string, unknown>[]);
  emit('commit size: pages one durable commit appends to the WAL', commitPagesRows() as unknown as Record<string, unknown>[]);
}

if (!only || only === 'open') {
  emit('store open: SQLite open + Merkle tree load', openRows(quick ? [100_000] : [100_000, 1_000_000]) as unknown as Record<string, unknown>[]);
}

if (!only || only === 'merge') {
  emit('merge: 3-way merge of a ~100 KB note (best of 5), vs the bare node-diff3 call; heap bytes allocated by one merge', mergeRows([10, 1000]) as unknown as Record<string, unknown>[]);
  emit('history: one note (~2.5 KB body) edited with base, one line per save, on SQLite; file growth; time per save vs one raw durable commit of the same body', historyRows(quick ? 300 : 1000) as unknown as Record<string, unknown>[]);
}

if (!only || only === 'markdown') {
  emit('markdown: folder import/export vs raw file reads/writes of the same files (ratio = ours / raw)', (await markdownRows(quick ? [500] : [1000, 5000])) as unknown as Record<string, unknown>[]);
}

// The sections below run real libp2p nodes on 127.0.0.1 (mDNS off, ports picked by the OS).
const progress = (s: string): void => {
  if (!json) process.stderr.write(s);
};
/** Like emit(), with a short `bench` key in --json output. */
function emitAs(key: string, title: string, rows: Record<string, unknown>[]): void {
  if (json) for (const r of rows) console.log(JSON.stringify({ bench: key, ...r }));
  else emit(title, rows);
}

if (!only || only === 'gossip') {
  const rows = await gossipLatencyRows(quick ? { writes: 60, configs: DEFAULT_GOSSIP_CONFIGS.filter((c) => c.rumorBatchMs > 0 || c.stackOnly) } : { writes: 300 }, progress);
  emitAs('gossip', 'gossip latency: 10 peer processes, write -> merged on each peer (ms), target p99 <= 25 ms, CPU per write <= 10 ms network-wide', rows as unknown as Record<string, unknown>[]);
}

if (!only || only === 'initial-sync') {
  const rows = await initialSyncRows({ notes: quick ? 2000 : 10_000 }, progress);
  emitAs('initial-sync', 'initial sync: a new peer joins a vault of ~2 KB notes vs a raw TCP copy of the same records and vs the SQLite floor (xFloor), target join <= 1.5x the floor', rows as unknown as Record<string, unknown>[]);
}

if (!only || only === 'framing') {
  const rows = await framingRows(quick ? [1000, 10_000] : [1000, 100_000], quick ? [0, 1, 10, 1000] : [0, 1, 10, 100, 1000], progress);
  emitAs('framing', 'anti-entropy over libp2p: TCP payload vs the session\'s own message bytes', rows as unknown as Record<string, unknown>[]);
}

if (!only || only === 'holds') {
  const rows = await holdsRows(quick ? [1000, 10_000] : [1000, 100_000], quick ? 200 : 1000, progress);
  emitAs('holds', 'which devices hold a note: the acknowledgement session after an edit, and GET /api/notes/:id/sync (target < 1 ms at 100k notes)', rows as unknown as Record<string, unknown>[]);
}

if (!only || only === 'fuzz') {
  const { rows, findings } = await fuzzRows(quick ? 100_000 : 1_000_000, progress);
  emitAs('fuzz', 'fuzzing: mutated valid encodings per decoder/validator; crash = an untyped exception, hang = one input over 100 ms', rows as unknown as Record<string, unknown>[]);
  for (const f of findings.slice(0, 10)) {
    if (json) console.log(JSON.stringify({ bench: 'fuzz-finding', ...f }));
    else console.log(`  ${f.target} ${f.kind}: ${f.error}\n    input: ${f.inputHex}`);
  }
}

if (!only || only === 'rounds') {
  // In memory (no libp2p); N=1000 takes about a minute per seed.
  const cases = quick ? [{ n: 10, seeds: 20 }, { n: 100, seeds: 2 }, { n: 1000, seeds: 1 }] : [{ n: 10, seeds: 100 }, { n: 100, seeds: 10 }, { n: 1000, seeds: 2 }];
  const rows = chaosRoundsRows(cases, progress);
  emitAs('rounds', 'rounds to converge after a partition heals: each replica starts one anti-entropy session with a random peer per round, vs log2(N) + ln(N)', rows as unknown as Record<string, unknown>[]);
}

if (!only || only === 'ui-scale') {
  // Real Chromium against headless peer processes; needs the built UI (npm run build:ui).
  const rows = await uiScaleRows({ sizes: quick ? [100, 10_000] : [100, 10_000, 100_000], trials: quick ? 5 : 15 }, progress);
  emitAs('ui-scale', 'ui-scale: notes UI in Chromium against a headless peer; targets at 100k: first paint <= 1000 ms, DOM <= 3000, heap <= 150 MB, remote note <= 250 ms, list page <= 20 ms', rows as unknown as Record<string, unknown>[]);
}
