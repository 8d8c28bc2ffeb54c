// Synthetic vaults for the benchmarks: note-field keys with short text values, written by a
// "seed" device, loaded into replicas through the same apply() path as synced data.

import type { KeyRecord } from '../engine/core/codec.ts';
import { writeDelta } from '../engine/core/record.ts';
import { Replica } from '../engine/replica.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import type { Put } from '../engine/store/store.ts';

export const SEED_DEVICE = '5eed5eed5eed5eed';
const BATCH = 10_000;

export function keyFor(i: number): string {
  const fields = ['title', 'body', 'created', 'trashed'];
  return `note/${Math.floor(i / 4).toString(36).padStart(8, '0')}/${fields[i % 4]}`;
}

export function valueFor(i: number, salt = 0): string {
  return `value ${i} ${salt} `.padEnd(48, 'x');
}

export function seedRecord(i: number, wall: number): KeyRecord {
  return { key: keyFor(i), state: writeDelta(undefined, { wall, counter: 0, device: SEED_DEVICE }, valueFor(i)) };
}

/** Loads n seed records into every given replica, in batches. */
export function load(replicas: readonly Replica[], n: number, wall = 1_700_000_000_000): void {
  for (let start = 0; start < n; start += BATCH) {
    const batch: KeyRecord[] = [];
    for (let i = start; i < Math.min(n, start + BATCH); i++) batch.push(seedRecord(i, wall));
    for (const r of replicas) r.apply(batch, 'import');
  }
}

export function memoryReplica(id: string, now: () => number): Replica {
  return Replica.open(new MemoryStore(id), { now });
}

/** Writes n seed records straight into a SQLite store file (no replica), then closes it. */
export function writeSeedStore(file: string, n: number, wall = 1_700_000_000_000): void {
  const store = SqliteStore.open(file);
  try {
    for (let start = 0; start < n; start += 20_000) {
      const puts: Put[] = [];
      for (let i = start; i < Math.min(n, start + 20_000); i++) {
        const rec = seedRecord(i, wall);
        puts.push({ key: rec.key, state: rec.state });
      }
      store.commit({ puts });
    }
  } finally {
    store.close();
  }
}
