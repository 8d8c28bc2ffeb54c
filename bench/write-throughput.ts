// Local write throughput: the full write path (stamp + merge + Merkle update + durable commit in
// one transaction per batch) beside a raw SQLite insert of the same rows in the same batch size,
// with the same durability settings (WAL, synchronous=FULL). Runs alternate so that machine noise
// hits both sides alike; the best of the runs is kept for each.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { notesIndexer } from '../engine/notes.ts';
import { Replica, type DocIndexer } from '../engine/replica.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { keyFor, valueFor } from './dataset.ts';

export interface ThroughputRow {
  batch: number;
  rows: number;
  variant: string;
  rawRowsPerSec: number;
  engineRowsPerSec: number;
  ratio: number;
}

function rawRun(dir: string, rows: number, batch: number, passes: number): number {
  const db = new DatabaseSync(join(dir, `raw-${Math.random()}.db`));
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  const insert = db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)');
  let ms = 0;
  for (let pass = 0; pass < passes; pass++) {
    const t0 = performance.now();
    for (let start = 0; start < rows; start += batch) {
      db.exec('BEGIN IMMEDIATE');
      for (let i = start; i < Math.min(rows, start + batch); i++) insert.run(keyFor(i), valueFor(i, pass));
      db.exec('COMMIT');
    }
    ms = performance.now() - t0;
  }
  db.close();
  return (rows / ms) * 1000;
}

function engineRun(dir: string, rows: number, batch: number, indexer: DocIndexer | undefined, passes: number): number {
  const store = SqliteStore.open(join(dir, `engine-${Math.random()}.db`));
  const replica = Replica.open(store, { indexer });
  let ms = 0;
  // With two passes only the second is timed: every write then edits an existing key.
  for (let pass = 0; pass < passes; pass++) {
    const t0 = performance.now();
    for (let start = 0; start < rows; start += batch) {
      const writes = [];
      for (let i = start; i < Math.min(rows, start + batch); i++) writes.push({ key: keyFor(i), value: valueFor(i, pass) });
      replica.write(writes);
    }
    ms = performance.now() - t0;
  }
  store.close();
  return (rows / ms) * 1000;
}

export function throughputRows(cases: readonly { batch: number; rows: number }[], runs = 3): ThroughputRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'notes-bench-'));
  const out: ThroughputRow[] = [];
  try {
    for (const { batch, rows } of cases) {
      const variants = [['new keys', undefined, 1], ['edits', undefined, 2], ['notes+fts edits', notesIndexer, 2]] as const;
      for (const [variant, indexer, passes] of variants) {
        let raw = 0;
        let engine = 0;
        for (let r = 0; r < runs; r++) {
          raw = Math.max(raw, rawRun(dir, rows, batch, passes));
          engine = Math.max(engine, engineRun(dir, rows, batch, indexer, passes));
        }
        out.push({ batch, rows, variant, rawRowsPerSec: Math.round(raw), engineRowsPerSec: Math.round(engine), ratio: Number((engine / raw).toFixed(2)) });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
