// Opening a vault: time to open the SQLite store and rebuild the in-memory Merkle tree from the
// stored leaf hashes, and the memory that tree costs, at 100k and 1M keys.

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Replica } from '../engine/replica.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { writeSeedStore } from './dataset.ts';

export interface OpenRow {
  keys: number;
  fileMB: number;
  openMs: number;
  treeMB: number;
  heapDeltaMB: number;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export function openRows(sizes: readonly number[]): OpenRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'notes-open-'));
  const out: OpenRow[] = [];
  try {
    for (const n of sizes) {
      const file = join(dir, `vault-${n}.db`);
      writeSeedStore(file, n);
      gc();
      const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
      const t0 = performance.now();
      const reopened = SqliteStore.open(file);
      const replica = Replica.open(reopened);
      const openMs = performance.now() - t0;
      gc();
      const after = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
      out.push({
        keys: replica.tree.size,
        fileMB: Number((statSync(file).size / 1e6).toFixed(1)),
        openMs: Math.round(openMs),
        treeMB: Number((replica.tree.footprint() / 1e6).toFixed(1)),
        heapDeltaMB: Number(((after - before) / 1e6).toFixed(1)),
      });
      reopened.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
