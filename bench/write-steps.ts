// Where a local write's time goes, step by step, and what it allocates. The write bench
// (write-throughput.ts) measures the whole path against a raw insert; this one times each step
// of writing a new key on its own, in a warm loop over the same keys and values (best of 5), and
// counts the bytes each write path allocates per row beside a raw insert of the same rows. The
// steps' sum set beside the engine's cost per row beyond its SQL (the write table of the same
// run) shows how much more the same work costs inside the write loop, interleaved with SQLite's
// statements and commits, than alone.

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tick } from '../engine/core/clock.ts';
import { encodeRecord, keyHash, leafHash, validateKey, validateValue, type KeyRecord } from '../engine/core/codec.ts';
import { MerkleTree } from '../engine/core/merkle.ts';
import { merge, writeDelta } from '../engine/core/record.ts';
import { notesReplicaOptions } from '../engine/notes.ts';
import { Replica } from '../engine/replica.ts';
import { validateBatch } from '../engine/store/memory.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { allocated } from './allocated.ts';
import { keyFor, seedRecord, valueFor } from './dataset.ts';
import { rawKv } from './write-throughput.ts';

export interface StepRow {
  step: string;
  usPerRow: number;
  /** A SHA-256 the protocol fixes (also in the write bench's ceilingRatio). */
  protocolHash: boolean;
}

export interface AllocationRow {
  path: string;
  batch: number;
  rows: number;
  /** V8 heap bytes allocated per row, the bench's own keys and values included (as for raw). */
  bytesPerRow: number;
}

const DEVICE = 'abcdef0123456789';

function bestUsPerRow(n: number, pass: () => void): number {
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    pass();
    best = Math.min(best, performance.now() - t0);
  }
  return Number(((best * 1000) / n).toFixed(3));
}

/** Each step of writing a new key, alone, in microseconds per key. */
export function writeStepRows(n = 100_000): StepRow[] {
  const keys = Array.from({ length: n }, (_, i) => keyFor(i));
  const values = Array.from({ length: n }, (_, i) => valueFor(i));
  const records: KeyRecord[] = keys.map((key, i) => ({ key, state: writeDelta(undefined, { wall: 1_700_000_000_000 + i, counter: 0, device: DEVICE }, values[i]) }));
  const encoded = records.map((r) => encodeRecord(r));
  const leaves = encoded.map((b) => leafHash(b));
  const keyHashes = keys.map((k) => keyHash(k));
  let sink = 0;
  const rows: StepRow[] = [];
  const step = (name: string, protocolHash: boolean, pass: () => void): void => void rows.push({ step: name, usPerRow: bestUsPerRow(n, pass), protocolHash });
  step('check key and value', false, () => {
    for (let i = 0; i < n; i++) sink += validateKey(keys[i]).length + (validateValue(values[i])?.length ?? 0);
  });
  step('stamp, new state, merge with nothing stored', false, () => {
    let last = null;
    for (let i = 0; i < n; i++) {
      last = tick(last, DEVICE, 1_700_000_000_000);
      sink += merge(undefined, writeDelta(undefined, last, values[i])).versions.length;
    }
  });
  step('store: check, encode and leaf-hash each put (batches of 100)', false, () => {
    for (let i = 0; i < n; i += 100) sink += validateBatch({ puts: records.slice(i, i + 100) }).puts.length;
  });
  step('  of which: encoding', false, () => {
    for (let i = 0; i < n; i++) sink += encodeRecord(records[i]).length;
  });
  step('  of which: leaf hash (SHA-256)', true, () => {
    for (let i = 0; i < n; i++) sink += leafHash(encoded[i])[0];
  });
  step('tree position (SHA-256 of the key)', true, () => {
    for (let i = 0; i < n; i++) sink += keyHash(keys[i])[0];
  });
  step('Merkle insert (tree position given)', false, () => {
    const tree = new MerkleTree();
    for (let i = 0; i < n; i++) tree.set(keys[i], leaves[i], keyHashes[i]);
    sink += tree.size;
  });
  if (sink === -1) throw new Error('unreachable: keeps the loops from being optimized away');
  const sum = rows.filter((r) => !r.step.startsWith(' ')).reduce((a, r) => a + r.usPerRow, 0);
  rows.push({ step: 'sum (without the "of which" rows)', usPerRow: Number(sum.toFixed(3)), protocolHash: false });
  return rows;
}

/** Heap bytes per row of the raw insert and of the engine's write and merge paths, batch by batch. */
export function writeAllocationRows(rows = 20_000, batch = 100): AllocationRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'notes-bench-alloc-'));
  try {
    const writeAll = (replica: Replica, pass: number): void => {
      for (let start = 0; start < rows; start += batch) {
        const writes = [];
        for (let i = start; i < Math.min(rows, start + batch); i++) writes.push({ key: keyFor(i), value: valueFor(i, pass) });
        replica.write(writes);
      }
    };
    const applyAll = (replica: Replica): void => {
      for (let start = 0; start < rows; start += batch) {
        const records: KeyRecord[] = [];
        for (let i = start; i < Math.min(rows, start + batch); i++) records.push(seedRecord(i, 1_700_000_000_000));
        replica.apply(records);
      }
    };
    // A first run of every path on a throwaway store, so the measured runs allocate no JIT state.
    const warm = SqliteStore.open(join(dir, 'warm.db'));
    writeAll(Replica.open(warm), 0);
    warm.close();
    const out: AllocationRow[] = [];
    const row = (path: string, fn: () => void): void => void out.push({ path, batch, rows, bytesPerRow: Math.round(allocated(fn) / rows) });

    const raw = rawKv(join(dir, 'raw.db'));
    row('raw insert', () => {
      for (let start = 0; start < rows; start += batch) {
        raw.db.exec('BEGIN IMMEDIATE');
        for (let i = start; i < Math.min(rows, start + batch); i++) raw.insert.run(keyFor(i), valueFor(i));
        raw.db.exec('COMMIT');
      }
    });
    raw.db.close();
    const store = SqliteStore.open(join(dir, 'engine.db'));
    const replica = Replica.open(store);
    row('engine write: new keys', () => writeAll(replica, 0));
    row('engine write: edits', () => writeAll(replica, 1));
    store.close();
    const notes = SqliteStore.open(join(dir, 'notes.db'));
    const joiner = Replica.open(notes, notesReplicaOptions());
    row('engine merge of received note records (notes index, history)', () => applyAll(joiner));
    notes.close();
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface CommitPagesRow {
  commit: string;
  commits: number;
  /** WAL frames (pages) each durable commit appended: what its fsync waits for. */
  walPagesPerCommit: number;
}

/**
 * How many pages one durable commit writes: a received note (its title, body and created records
 * merged into a notes replica, as a gossip receiver does) beside one raw row holding the same
 * three encoded records. Read from the WAL's growth over 40 commits on fresh files (well under SQLite's automatic
 * checkpoint, so no frame is reused).
 */
export function commitPagesRows(commits = 40): CommitPagesRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'notes-bench-pages-'));
  try {
    const device = 'abcdef0123456789';
    const note = (k: number): KeyRecord[] => {
      const wall = 1_700_000_000_000 + k;
      const fields: [string, string][] = [['title', `note ${k}`], ['body', `${k} `.padEnd(200, 'lorem ipsum ')], ['created', String(wall)]];
      return fields.map(([field, value], i) => ({ key: `note/gl-${k}/${field}`, state: writeDelta(undefined, { wall, counter: i, device }, value) }));
    };
    const walPages = (file: string, pageSize: number, run: (k: number) => void): number => {
      run(0);
      const before = statSync(`${file}-wal`).size;
      for (let k = 1; k <= commits; k++) run(k);
      return Number(((statSync(`${file}-wal`).size - before) / commits / (pageSize + WAL_FRAME_HEADER)).toFixed(1));
    };
    const rawFile = join(dir, 'raw.db');
    const raw = rawKv(rawFile);
    const pageSize = (raw.db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
    const rawPages = walPages(rawFile, pageSize, (k) => {
      raw.db.exec('BEGIN IMMEDIATE');
      raw.insert.run(`gl-${k}`, Buffer.concat(note(k).map((r) => encodeRecord(r))));
      raw.db.exec('COMMIT');
    });
    raw.db.close();
    const storeFile = join(dir, 'notes.db');
    const store = SqliteStore.open(storeFile);
    const replica = Replica.open(store, notesReplicaOptions());
    const appPages = walPages(storeFile, pageSize, (k) => void replica.apply(note(k), 'gossip'));
    store.close();
    return [
      { commit: 'raw row holding the same 3 encoded records', commits, walPagesPerCommit: rawPages },
      { commit: 'received note merged (3 records, notes index, contexts)', commits, walPagesPerCommit: appPages },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Each WAL frame is a page behind a 24-byte header (SQLite's file format).
const WAL_FRAME_HEADER = 24;
