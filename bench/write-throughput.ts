// Local write throughput: the full write path (stamp + merge + Merkle update + durable commit in
// one transaction per batch) beside a raw SQLite insert of the same rows in the same batch size,
// with the same durability settings (WAL, synchronous=FULL). Runs alternate so that machine noise
// hits both sides alike; the best of the runs is kept for each.
//
// Two more columns say how much of the gap is the engine's own JavaScript: the SQL the engine's
// commits run, replayed alone on the same rows (its schema: the record row with its leaf hash and
// change-log seq, the clock, and for notes the doc row and its FTS5 entry), and that replay plus
// the two SHA-256 per row the protocol fixes (tree position of a new key, leaf hash): the best
// ratio the engine could reach if everything else it does cost nothing. A last column adds what
// an edit cannot skip either: reading and decoding the current state of each key it writes (a
// write supersedes exactly the versions it saw, and its context is built from theirs).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { Stamp } from '../engine/core/clock.ts';
import { encodeRecord, keyHash, leafHash } from '../engine/core/codec.ts';
import { notesIndexer } from '../engine/notes.ts';
import { Replica, type DocIndexer } from '../engine/replica.ts';
import { prepareDocStatements, prepareReadStatements, readStates, SqliteStore, WRITE_SQL, writeDoc } from '../engine/store/sqlite.ts';
import type { DocEntry } from '../engine/store/store.ts';
import { keyFor, valueFor } from './dataset.ts';

export interface ThroughputRow {
  batch: number;
  rows: number;
  variant: string;
  rawRowsPerSec: number;
  engineRowsPerSec: number;
  ratio: number;
  /** The engine's commit SQL alone, replayed on the rows it wrote. */
  storeSqlRowsPerSec: number;
  /** storeSqlRowsPerSec / rawRowsPerSec. */
  sqlRatio: number;
  /** (that SQL + the protocol's two SHA-256 per row) / raw: the engine's ceiling. */
  ceilingRatio: number;
  /** The ceiling with the reads of the current states of the keys written (edits only). */
  readCeilingRatio: number;
}

/** The yardstick every write is compared with: a bare key-value table, WAL + synchronous=FULL. */
export function rawKv(file: string): { db: DatabaseSync; insert: StatementSync } {
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  return { db, insert: db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)') };
}

function rawRun(dir: string, rows: number, batch: number, passes: number): number {
  const { db, insert } = rawKv(join(dir, `raw-${Math.random()}.db`));
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

/** What one engine commit gave the store, encoded as the store writes it. */
interface CapturedCommit {
  readonly puts: readonly { readonly key: string; readonly bytes: Uint8Array; readonly hash: Uint8Array }[];
  readonly docs: readonly DocEntry[];
  readonly clock: Stamp | undefined;
}

/**
 * The engine's writes of every pass; with two passes only the second is timed: every write then
 * edits an existing key. `onPass` is told when each pass starts.
 */
function runEngine(store: SqliteStore, rows: number, batch: number, indexer: DocIndexer | undefined, passes: number, onPass: (pass: number) => void = () => undefined): number {
  const replica = Replica.open(store, { indexer });
  let ms = 0;
  for (let pass = 0; pass < passes; pass++) {
    onPass(pass);
    const t0 = performance.now();
    for (let start = 0; start < rows; start += batch) {
      const writes = [];
      for (let i = start; i < Math.min(rows, start + batch); i++) writes.push({ key: keyFor(i), value: valueFor(i, pass) });
      replica.write(writes);
    }
    ms = performance.now() - t0;
  }
  return (rows / ms) * 1000;
}

function engineRun(dir: string, rows: number, batch: number, indexer: DocIndexer | undefined, passes: number): number {
  const store = SqliteStore.open(join(dir, `engine-${Math.random()}.db`));
  try {
    return runEngine(store, rows, batch, indexer, passes);
  } finally {
    store.close();
  }
}

/** Runs the engine once, untimed, keeping what each of its commits gave the store, per pass. */
function captureCommits(dir: string, rows: number, batch: number, indexer: DocIndexer | undefined, passes: number): CapturedCommit[][] {
  const store = SqliteStore.open(join(dir, `capture-${Math.random()}.db`));
  const out: CapturedCommit[][] = [];
  const commit = store.commit.bind(store);
  store.commit = (b) => {
    const puts = b.puts.map((p) => {
      const bytes = encodeRecord(p);
      return { key: p.key, bytes, hash: leafHash(bytes) };
    });
    out[out.length - 1].push({ puts, docs: b.docs ?? [], clock: b.clock });
    return commit(b);
  };
  try {
    runEngine(store, rows, batch, indexer, passes, () => out.push([]));
  } finally {
    store.close();
  }
  return out;
}

/**
 * The captured commits replayed through a bare connection to a fresh store (its own schema and
 * pragmas), the last pass timed. `hashes`: each row also computes its leaf hash and, in the
 * first pass (new keys), its tree position, as the engine must. `reads`: before each commit, the
 * states of its keys already stored are read with the store's statements and decoded.
 */
function storeSqlRun(dir: string, passes: readonly CapturedCommit[][], mode: 'sql' | 'hashes' | 'reads'): number {
  const hashes = mode !== 'sql';
  const file = join(dir, `sql-${Math.random()}.db`);
  SqliteStore.open(file).close();
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL');
  const put = db.prepare(WRITE_SQL.put);
  const doc = prepareDocStatements(db);
  const clock = db.prepare(WRITE_SQL.setClock);
  const read = prepareReadStatements(db);
  const stored = new Set<string>();
  let seq = 0;
  let ms = 0;
  let rows = 0;
  passes.forEach((commits, pass) => {
    const t0 = performance.now();
    rows = 0;
    for (const c of commits) {
      if (mode === 'reads') {
        const keys = c.puts.filter((p) => stored.has(p.key)).map((p) => p.key);
        if (keys.length > 0) readStates(read, keys);
      }
      db.exec('BEGIN IMMEDIATE');
      for (const p of c.puts) {
        if (hashes && pass === 0) keyHash(p.key);
        put.run(p.key, p.bytes, hashes ? leafHash(p.bytes) : p.hash, ++seq);
      }
      for (const d of c.docs) writeDoc(doc, d);
      if (c.clock !== undefined) clock.run(c.clock.wall, c.clock.counter, c.clock.device);
      db.exec('COMMIT');
      for (const p of c.puts) stored.add(p.key);
      rows += c.puts.length;
    }
    ms = performance.now() - t0;
  });
  db.close();
  return (rows / ms) * 1000;
}

export function throughputRows(cases: readonly { batch: number; rows: number }[], runs = 3): ThroughputRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'notes-bench-'));
  const out: ThroughputRow[] = [];
  try {
    for (const { batch, rows } of cases) {
      const variants = [['new keys', undefined, 1], ['edits', undefined, 2], ['notes+fts edits', notesIndexer, 2]] as const;
      for (const [variant, indexer, passes] of variants) {
        const captured = captureCommits(dir, rows, batch, indexer, passes);
        let raw = 0;
        let engine = 0;
        let sql = 0;
        let ceiling = 0;
        let readCeiling = 0;
        for (let r = 0; r < runs; r++) {
          raw = Math.max(raw, rawRun(dir, rows, batch, passes));
          engine = Math.max(engine, engineRun(dir, rows, batch, indexer, passes));
          sql = Math.max(sql, storeSqlRun(dir, captured, 'sql'));
          ceiling = Math.max(ceiling, storeSqlRun(dir, captured, 'hashes'));
          readCeiling = Math.max(readCeiling, storeSqlRun(dir, captured, 'reads'));
        }
        const ratio = (x: number): number => Number((x / raw).toFixed(2));
        out.push({ batch, rows, variant, rawRowsPerSec: Math.round(raw), engineRowsPerSec: Math.round(engine), ratio: ratio(engine), storeSqlRowsPerSec: Math.round(sql), sqlRatio: ratio(sql), ceilingRatio: ratio(ceiling), readCeilingRatio: ratio(readCeiling) });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
