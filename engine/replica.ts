// A replica: the store, the Merkle tree over it and the clock, behind one object. Every change,
// whatever its origin, goes through merge() here and is committed in one transaction before the
// tree and listeners see it. Reads and writes are synchronous (node:sqlite is), which lets the
// anti-entropy session use a Replica directly as its SyncSource.

import type { SyncSource } from './core/anti-entropy.ts';
import { DEFAULT_MAX_AHEAD_MS, observe, tick, type Stamp } from './core/clock.ts';
import { validateKey, validateValue, type KeyRecord } from './core/codec.ts';
import { ValidationError } from './core/errors.ts';
import { logger } from './log.ts';
import { MerkleTree } from './core/merkle.ts';
import { editDelta, merge, statesEqual, stampOf, writeDelta, type KeyState, type Value } from './core/record.ts';
import type { Change, DocEntry, Storage } from './store/store.ts';

const log = logger('replica');

export type Origin = 'local' | 'gossip' | 'anti-entropy' | 'import';

/** Turns changed keys into document-index rows, inside the same commit (see engine/notes.ts). */
export type DocIndexer = (changedKeys: readonly string[], get: (key: string) => KeyState | undefined) => DocEntry[];

export interface ReplicaOptions {
  /** Wall clock in ms; injected so tests can skew it. */
  readonly now?: () => number;
  readonly maxAheadMs?: number;
  readonly indexer?: DocIndexer;
}

export interface ChangeEvent {
  readonly origin: Origin;
  readonly records: readonly KeyRecord[];
}

export type PathCounters = Record<Origin, number>;

export interface Write {
  readonly key: string;
  readonly value: Value;
  /**
   * `supersede` (default) replaces every current version: a plain edit, or the resolution of a
   * conflict. `keep-conflicts` replaces only this device's own versions and keeps other devices'.
   */
  readonly mode?: 'supersede' | 'keep-conflicts';
}

export class Replica implements SyncSource {
  readonly tree = new MerkleTree();
  readonly storage: Storage;
  /** Records that changed this replica, by the path that delivered them. */
  readonly counters: PathCounters = { local: 0, gossip: 0, 'anti-entropy': 0, import: 0 };
  /** Per device: how far ahead of our wall clock its newest stamp was when we saw it. */
  readonly skew = new Map<string, { aheadMs: number; capped: boolean; at: number }>();
  private readonly now: () => number;
  private readonly maxAheadMs: number;
  private readonly indexer: DocIndexer | undefined;
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  private last: Stamp | null;

  private constructor(storage: Storage, opts: ReplicaOptions) {
    this.storage = storage;
    this.now = opts.now ?? Date.now;
    this.maxAheadMs = opts.maxAheadMs ?? DEFAULT_MAX_AHEAD_MS;
    this.indexer = opts.indexer;
    this.last = storage.clock();
  }

  /** Loads the tree from the store's leaf hashes (no record is decoded). */
  static open(storage: Storage, opts: ReplicaOptions = {}): Replica {
    const r = new Replica(storage, opts);
    for (const [key, hash] of storage.scanHashes()) r.tree.set(key, hash);
    return r;
  }

  get replicaId(): string {
    return this.storage.replicaId;
  }

  get(key: string): KeyState | undefined {
    // The tree holds exactly the stored keys, so a key it lacks needs no store read.
    return this.tree.has(key) ? this.storage.get(key) : undefined;
  }

  seq(): number {
    return this.storage.seq();
  }

  changesSince(after: number, limit: number): Change[] {
    return this.storage.changesSince(after, limit);
  }

  cursor(replica: string): number | undefined {
    return this.storage.cursor(replica);
  }

  /** The injected wall clock, for callers that store a time in a value (a note's `created`). */
  wallNow(): number {
    return this.now();
  }

  lastStamp(): Stamp | null {
    return this.last;
  }

  onChange(listener: (e: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Local writes, all in one transaction. Every key and value is validated before anything is
   * stamped or written. Returns the new states: they are also the deltas to gossip.
   */
  write(writes: readonly Write[]): KeyRecord[] {
    for (const w of writes) {
      validateKey(w.key);
      validateValue(w.value);
    }
    const seen = new Set<string>();
    for (const w of writes) {
      if (seen.has(w.key)) throw new ValidationError('E_INVALID_KEY', `key ${w.key} appears twice in one write`);
      seen.add(w.key);
    }
    let last = this.last;
    const records: KeyRecord[] = [];
    for (const w of writes) {
      last = tick(last, this.replicaId, this.now());
      const current = this.get(w.key);
      const delta = w.mode === 'keep-conflicts' ? editDelta(current, last, w.value) : writeDelta(current, last, w.value);
      records.push({ key: w.key, state: merge(current, delta) });
    }
    this.commit(records, 'local', last);
    return records;
  }

  /** Merges records from a peer; returns those that changed this replica. */
  apply(records: readonly KeyRecord[], origin: Origin = 'anti-entropy'): KeyRecord[] {
    const merged = new Map<string, KeyState>();
    let last = this.last;
    const now = this.now();
    for (const r of records) {
      const current = merged.get(r.key) ?? this.get(r.key);
      const next = merge(current, r.state);
      if (statesEqual(current, next)) continue;
      merged.set(r.key, next);
      for (const v of r.state.versions) {
        if (v.device === this.replicaId) continue;
        const seen = observe(last, stampOf(v), this.replicaId, now, this.maxAheadMs);
        last = seen.last;
        const prev = this.skew.get(v.device);
        if (prev === undefined || prev.at <= v.wall) this.skew.set(v.device, { aheadMs: seen.skewMs, capped: seen.capped, at: v.wall });
      }
    }
    const changed = [...merged].map(([key, state]) => ({ key, state }));
    if (changed.length > 0) this.commit(changed, origin, last);
    return changed;
  }

  /** Persists "I have merged `replica`'s log through `seq`" after a completed session. */
  saveCursor(replica: string, seq: number): void {
    const known = this.storage.cursor(replica);
    if (known !== undefined && known >= seq) return;
    this.storage.commit({ puts: [], cursors: [{ replica, seq }] });
  }

  private commit(records: readonly KeyRecord[], origin: Origin, last: Stamp | null): void {
    const pending = new Map(records.map((r) => [r.key, r.state]));
    const docs = this.indexer?.(records.map((r) => r.key), (key) => pending.get(key) ?? this.get(key));
    const hashes = this.storage.commit({ puts: records, docs, clock: last ?? undefined });
    this.last = last;
    records.forEach((r, i) => this.tree.set(r.key, hashes[i]));
    this.counters[origin] += records.length;
    const event: ChangeEvent = { origin, records };
    for (const l of this.listeners) {
      // The change is already durable; a failing listener must not make the write look failed.
      try {
        l(event);
      } catch (e) {
        log.error('change listener failed', { error: e });
      }
    }
  }
}
