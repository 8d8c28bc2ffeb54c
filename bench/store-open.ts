// Opening a vault: time to open the SQLite store and load the in-memory Merkle tree, and the
// memory that tree costs, at 100k and 1M keys. The store is seeded with bare commits (no replica),
// so the first open finds no tree snapshot: it rebuilds from every key (what a store made before
// snapshots costs, once) and saves one; the second open reads the snapshot (every later open).

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Replica } from '../engine/replica.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { writeSeedStore } from './dataset.ts';

export interface OpenRow {
  keys: number;
  tree: string;
  fileMB: number;
  openMs: number;
  treeMB: number;
  heapDeltaMB: number;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function used(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
}

/** One open, in a function of its own so nothing of it stays reachable for the next one. */
function openOnce(file: string, tree: string): OpenRow {
  const before = used();
  const t0 = performance.now();
  const store = SqliteStore.open(file);
  const replica = Replica.open(store);
  const openMs = performance.now() - t0;
  const heapDelta = used() - before;
  const row = {
    keys: replica.tree.size,
    tree,
    fileMB: Number((statSync(file).size / 1e6).toFixed(1)),
    openMs: Math.round(openMs),
    treeMB: Number((replica.tree.footprint() / 1e6).toFixed(1)),
    heapDeltaMB: Number((heapDelta / 1e6).toFixed(1)),
  };
  store.close();
  return row;
}

export function openRows(sizes: readonly number[]): OpenRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'notes-open-'));
  const out: OpenRow[] = [];
  try {
    for (const n of sizes) {
      const file = join(dir, `vault-${n}.db`);
      writeSeedStore(file, n);
      out.push(openOnce(file, 'rebuilt from every key, snapshot saved'));
      out.push(openOnce(file, 'from the snapshot'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
