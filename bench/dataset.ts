// Synthetic vaults for the benchmarks: note-field keys with short text values, written by a
// "seed" device, loaded into replicas through the same apply() path as synced data.

import type { KeyRecord } from '../engine/core/codec.ts';
import { writeDelta, type KeyState } from '../engine/core/record.ts';
import { noteKey, notesIndexer } from '../engine/notes.ts';
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

const WORDS = ['garden', 'invoice', 'kayak', 'recipe', 'meeting', 'sourdough', 'budget', 'travel', 'python', 'piano', 'walrus', 'ticket', 'harbor', 'lantern', 'orbit', 'quartz'];

/** The id of seed note i: ids sort like the notes' ages. */
export function seedNoteId(i: number): string {
  return `seed-${i.toString(36).padStart(6, '0')}`;
}

/** Seed note i's body: words chosen by i, so search has something to find. */
function seedBody(i: number, chars: number): string {
  let body = `Seed note ${i}.`;
  for (let w = 0; body.length < chars; w++) body += ` ${WORDS[(i * 7 + w * 3) % WORDS.length]}`;
  return body.slice(0, chars);
}

/**
 * Writes n whole notes (title, body, created) straight into a SQLite store file, with their rows
 * in the notes list and the search index, as the seed device would have written them: note i is
 * one second newer than note i - 1, so seed note 0 is the oldest. The same n and options give the
 * same records on every store, so two stores seeded alike are already in sync.
 */
export function writeSeedNotes(file: string, n: number, opts: { wall?: number; bodyChars?: number } = {}): void {
  const wall0 = opts.wall ?? 1_700_000_000_000;
  const bodyChars = opts.bodyChars ?? 1000;
  const store = SqliteStore.open(file);
  try {
    for (let start = 0; start < n; start += 2000) {
      const puts: Put[] = [];
      const states = new Map<string, KeyState>();
      for (let i = start; i < Math.min(n, start + 2000); i++) {
        const wall = wall0 + i * 1000;
        const fields: [ 'title' | 'body' | 'created', string][] = [['title', `Seed note ${i}`], ['body', seedBody(i, bodyChars)], ['created', String(wall)]];
        fields.forEach(([field, value], tick) => {
          const key = noteKey(seedNoteId(i), field);
          const state = writeDelta(undefined, { wall, counter: tick, device: SEED_DEVICE }, value);
          puts.push({ key, state });
          states.set(key, state);
        });
      }
      store.commit({ puts, docs: notesIndexer(puts.map((p) => p.key), (key) => states.get(key)) });
    }
  } finally {
    store.close();
  }
}
