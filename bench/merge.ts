// Merge and history costs (issue 8): the 3-way merge of a 100 KB note with few or many changed
// lines on each side, beside the bare node-diff3 call on the same texts (what our guard and
// line-by-line rule add), with the bytes allocated; and how much history one note's edits add
// to the SQLite file.

import { rmSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { diff3Merge } from 'node-diff3';
import { DEFAULT_HISTORY_LIMITS, type HistoryLimits } from '../engine/core/history.ts';
import { merge3 } from '../engine/core/text-merge.ts';
import { Notes, notesReplicaOptions } from '../engine/notes.ts';
import { Replica } from '../engine/replica.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { allocated } from './allocated.ts';
import { rawKv } from './write-throughput.ts';

export interface MergeRow {
  readonly noteKB: number;
  readonly changedPerSide: number;
  readonly clean: boolean;
  readonly mergeMs: number;
  readonly diff3OnlyMs: number;
  readonly xDiff3Only: number;
  readonly allocMB: number;
}

function best(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

/** ~100 KB of unique lines; A edits every 4th line from 0, B every 4th from 2: disjoint, anchored. */
function texts(changed: number): { base: string; a: string; b: string } {
  const lines = Array.from({ length: 4000 }, (_, i) => `line ${String(i).padStart(4, '0')} of the long note..`);
  const a = [...lines];
  const b = [...lines];
  const stride = Math.floor(lines.length / changed / 2) * 2;
  for (let k = 0; k < changed; k++) {
    const i = k * stride;
    a[i] = `${lines[i]} edited on A`;
    b[i + stride / 2] = `${lines[i + stride / 2]} edited on B`;
  }
  return { base: lines.join('\n'), a: a.join('\n'), b: b.join('\n') };
}

export function mergeRows(changes: readonly number[], runs = 5): MergeRow[] {
  return changes.map((changed) => {
    const { base, a, b } = texts(changed);
    const outcome = merge3(a, base, b);
    const mergeMs = best(runs, () => merge3(a, base, b));
    const diff3OnlyMs = best(runs, () => diff3Merge(a.split('\n'), base.split('\n'), b.split('\n')));
    const alloc = allocated(() => merge3(a, base, b));
    return {
      noteKB: Math.round(base.length / 1024), changedPerSide: changed, clean: outcome.clean,
      mergeMs: Number(mergeMs.toFixed(1)), diff3OnlyMs: Number(diff3OnlyMs.toFixed(1)),
      xDiff3Only: Number((mergeMs / diff3OnlyMs).toFixed(2)), allocMB: Number((alloc / 1e6).toFixed(1)),
    };
  });
}

export interface HistoryRow {
  readonly limits: string;
  readonly bodyKB: number;
  readonly edits: number;
  readonly historyRows: number;
  readonly historyTextBytes: number;
  readonly fileGrowthBytes: number;
  readonly growthPer1000Edits: number;
  /** Mean time of a save over the last half of the edits (the history full, for the default). */
  readonly usPerSave: number;
  /** The same bodies, one raw `INSERT OR REPLACE` per commit into a bare WAL + FULL table. */
  readonly rawUsPerCommit: number;
  /** rawUsPerCommit / usPerSave: the typing path beside the floor of one durable commit. */
  readonly ratio: number;
}

/** One durable commit per body into the write bench's bare table: the floor of a typing save. */
function rawCommits(dir: string, bodies: readonly string[]): number {
  const { db, insert } = rawKv(join(dir, 'raw.db'));
  const t0 = performance.now();
  for (const body of bodies) {
    db.exec('BEGIN IMMEDIATE');
    insert.run('note/bench/body', body);
    db.exec('COMMIT');
  }
  const us = ((performance.now() - t0) * 1000) / bodies.length;
  db.close();
  return us;
}

/** One note edited `edits` times (one line changed per save, with base), on a real SQLite file. */
export function historyRows(edits: number): HistoryRow[] {
  const cases: [string, HistoryLimits][] = [['default (200 / 1 y)', DEFAULT_HISTORY_LIMITS], ['unbounded', { keep: Number.MAX_SAFE_INTEGER, maxAgeMs: Number.MAX_SAFE_INTEGER }]];
  return cases.map(([name, limits]) => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-history-'));
    try {
      const file = join(dir, 'notes.db');
      const store = SqliteStore.open(file);
      const notes = new Notes(Replica.open(store, { ...notesReplicaOptions(), history: { keys: notesReplicaOptions().history!.keys, limits } }));
      const lines = Array.from({ length: 100 }, (_, i) => `paragraph ${i}: some words of a note that is long enough..`);
      const n = notes.create({ title: 'bench', body: lines.join('\n') });
      const size = (): number => {
        const db = new DatabaseSync(file);
        db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
        db.close();
        return statSync(file).size;
      };
      const before = size();
      let note = n;
      const timed: string[] = [];
      let t0 = 0;
      for (let i = 0; i < edits; i++) {
        if (i === edits >> 1) t0 = performance.now();
        lines[i % lines.length] = `paragraph ${i % lines.length}: edited ${i}`;
        const body = lines.join('\n');
        if (i >= edits >> 1) timed.push(body);
        note = notes.save(n.id, { body }, note.rev);
      }
      const usPerSave = ((performance.now() - t0) * 1000) / timed.length;
      const rawUsPerCommit = rawCommits(dir, timed);
      const after = size();
      const db = new DatabaseSync(file);
      const row = db.prepare('SELECT count(*) AS n, coalesce(sum(length(CAST(value AS BLOB))), 0) AS bytes FROM history').get() as { n: number; bytes: number };
      db.close();
      store.close();
      return {
        limits: name, bodyKB: Math.round(note.body.length / 1024), edits, historyRows: row.n, historyTextBytes: row.bytes,
        fileGrowthBytes: after - before, growthPer1000Edits: Math.round(((after - before) / edits) * 1000),
        usPerSave: Math.round(usPerSave), rawUsPerCommit: Math.round(rawUsPerCommit), ratio: Number((rawUsPerCommit / usPerSave).toFixed(2)),
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
