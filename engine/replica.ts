// A replica: the store, the Merkle tree over it and the clock, behind one object. Every change,
// whatever its origin, goes through merge() here and is committed in one transaction before the
// tree and listeners see it. Reads and writes are synchronous (node:sqlite is), which lets the
// anti-entropy session use a Replica directly as its SyncSource.

import type { SyncSource } from './core/anti-entropy.ts';
import { DEFAULT_MAX_AHEAD_MS, observe, tick, type Stamp } from './core/clock.ts';
import { validateKey, validateValue, type KeyRecord, type StoredSnapshot } from './core/codec.ts';
import { ValidationError } from './core/errors.ts';
import { logger } from './log.ts';
import { MerkleTree, type KeyNames } from './core/merkle.ts';
import { baseDelta, dotOf, editDelta, merge, sameDots, statesEqual, stampOf, writeDelta, type Dot, type KeyState, type Value, type Version } from './core/record.ts';
import { DEFAULT_HISTORY_LIMITS, dotKey, type HistoryEntry, type HistoryLimits, type VersionContext } from './core/history.ts';
import type { Context } from './core/record.ts';
import type { Change, DocEntry, Storage, TreeStore } from './store/store.ts';

const log = logger('replica');

export type Origin = 'local' | 'gossip' | 'anti-entropy' | 'import' | 'merge';

/** Turns changed keys into document-index rows, inside the same commit (see engine/notes.ts). */
export type DocIndexer = (changedKeys: readonly string[], get: (key: string) => KeyState | undefined) => DocEntry[];

export interface ReplicaOptions {
  /** Wall clock in ms; injected so tests can skew it. */
  readonly now?: () => number;
  readonly maxAheadMs?: number;
  readonly indexer?: DocIndexer;
  /** Which keys keep their superseded versions (engine/notes.ts: text fields), and how many. */
  readonly history?: { readonly keys: (key: string) => boolean; readonly limits?: HistoryLimits };
  /**
   * Called after every commit for each changed key holding several versions: returns the value
   * that joins them (written at once as a local write superseding them all, path `merge`), or
   * undefined to leave them as they are. Must be deterministic (see engine/notes.ts).
   */
  readonly autoMerge?: AutoMerge;
  /** Keys changed between two saved tree snapshots (default SNAPSHOT_EVERY); tests lower it. */
  readonly snapshotEvery?: number;
}

/** What this device knows of a key's past: kept versions and the exact contexts it learnt. */
export interface Ancestry {
  readonly history: readonly HistoryEntry[];
  readonly contexts: ReadonlyMap<string, Context>;
}

export type AutoMerge = (key: string, state: KeyState, ancestry: Ancestry) => Value | undefined;

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
  /**
   * A write made from what its writer saw: it supersedes exactly these current versions (and
   * what they superseded) and keeps every other (record.ts baseDelta). Overrides `mode`.
   */
  readonly supersede?: readonly Dot[];
  /**
   * Whether the value is made from exactly what the write's context covers (core/history.ts):
   * then its context is kept for finding merge bases. Default: true, except keep-conflicts.
   */
  readonly exact?: boolean;
}

/**
 * A new tree snapshot is saved once this many keys changed since the last one (and at open, if
 * the replay was longer): the replay at open then reads at most about this many rows.
 */
export const SNAPSHOT_EVERY = 50_000;

export class Replica implements SyncSource {
  readonly tree: MerkleTree;
  readonly storage: Storage;
  /** Records that changed this replica, by the path that delivered them. */
  readonly counters: PathCounters = { local: 0, gossip: 0, 'anti-entropy': 0, import: 0, merge: 0 };
  /** Per device: how far ahead of our wall clock its newest stamp was when we saw it. */
  readonly skew = new Map<string, { aheadMs: number; capped: boolean; at: number }>();
  private readonly now: () => number;
  private readonly maxAheadMs: number;
  private readonly indexer: DocIndexer | undefined;
  private readonly historyKeys: ((key: string) => boolean) | undefined;
  private readonly historyLimits: HistoryLimits;
  private readonly autoMerge: AutoMerge | undefined;
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  private last: Stamp | null;
  /** Keys changed since the last saved tree snapshot (an upper bound: a key may count twice). */
  private sinceSnapshot = 0;
  private readonly snapshotEvery: number;

  private constructor(storage: Storage, opts: ReplicaOptions, tree: MerkleTree) {
    this.storage = storage;
    this.tree = tree;
    this.now = opts.now ?? Date.now;
    this.maxAheadMs = opts.maxAheadMs ?? DEFAULT_MAX_AHEAD_MS;
    this.indexer = opts.indexer;
    this.historyKeys = opts.history?.keys;
    this.historyLimits = opts.history?.limits ?? DEFAULT_HISTORY_LIMITS;
    this.autoMerge = opts.autoMerge;
    this.snapshotEvery = opts.snapshotEvery ?? SNAPSHOT_EVERY;
    this.last = storage.clock();
  }

  /**
   * Loads the tree: from the store's snapshot plus the keys put since, when the store keeps one,
   * else from every stored leaf hash. No record is decoded either way.
   */
  static open(storage: Storage, opts: ReplicaOptions = {}): Replica {
    const persisted = storage.treeStore;
    if (persisted === undefined) {
      const tree = new MerkleTree();
      for (const [key, hash] of storage.scanHashes()) tree.set(key, hash);
      return new Replica(storage, opts, tree);
    }
    const { tree, replayed } = loadTree(persisted);
    const r = new Replica(storage, opts, tree);
    r.sinceSnapshot = replayed;
    r.maybeSnapshot();
    return r;
  }

  /** Saves a tree snapshot when enough keys changed since the last one. Never fails a write. */
  private maybeSnapshot(): void {
    const persisted = this.storage.treeStore;
    // Every snapshot writes the whole tree: after a quarter of the tree's size in changes, not a
    // fixed count, so a vault growing to 1M keys in one sync writes ~4x the final snapshot in all
    // (not 20x), and an open replays at most a quarter of the keys.
    if (persisted === undefined || this.sinceSnapshot < Math.max(this.snapshotEvery, Math.floor(this.tree.size / 4))) return;
    try {
      persisted.saveTreeSnapshot(this.storage.seq(), this.tree.snapshot());
      this.sinceSnapshot = 0;
    } catch (e) {
      // Only the next open gets slower: it replays more of the change log.
      log.warn('could not save the Merkle tree snapshot', { error: e });
    }
  }

  get replicaId(): string {
    return this.storage.replicaId;
  }

  get(key: string): KeyState | undefined {
    // The tree holds exactly the stored keys, so a key it lacks needs no store read.
    return this.tree.has(key) ? this.storage.get(key) : undefined;
  }

  /** The stored states of `keys` (those stored), read in one go. */
  private states(keys: readonly string[]): Map<string, KeyState> {
    // The tree holds exactly the stored keys: new keys need no read at all.
    return this.storage.getMany(keys.filter((k) => this.tree.has(k)));
  }

  seq(): number {
    return this.storage.seq();
  }

  snapshot(): StoredSnapshot {
    return this.storage.snapshot();
  }

  changesSince(after: number, limit: number): Change[] {
    return this.storage.changesSince(after, limit);
  }

  cursor(replica: string): number | undefined {
    return this.storage.cursor(replica);
  }

  /** The highest change-log seq among keys starting with `prefix` (0 if none). */
  lastSeqUnder(prefix: string): number {
    return this.storage.lastSeqUnder(prefix);
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
  write(writes: readonly Write[], origin: 'local' | 'merge' = 'local'): KeyRecord[] {
    const records = this.writeAs(writes, origin);
    this.runMerges(records);
    return records;
  }

  private writeAs(writes: readonly Write[], origin: Origin): KeyRecord[] {
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
    const superseded: HistoryEntry[] = [];
    const contexts: VersionContext[] = [];
    const at = this.now();
    const stored = this.states(writes.map((w) => w.key));
    for (const w of writes) {
      last = tick(last, this.replicaId, this.now());
      const current = stored.get(w.key);
      const delta = w.supersede !== undefined
        ? baseDelta(current, last, w.value, w.supersede)
        : w.mode === 'keep-conflicts' ? editDelta(current, last, w.value) : writeDelta(current, last, w.value);
      const next = merge(current, delta);
      records.push({ key: w.key, state: next });
      this.dropped(superseded, w.key, current, next, at);
      const exact = w.exact ?? w.mode !== 'keep-conflicts';
      if (exact && this.tracks(w.key)) contexts.push({ key: w.key, device: delta.versions[0].device, counter: delta.versions[0].counter, context: delta.context });
    }
    this.commit(records, origin, last, superseded, contexts);
    return records;
  }

  /**
   * Adds to `out` the history entries for the versions `next` no longer holds. The superseding
   * write is known for certain only when exactly one version is new (see core/history.ts).
   */
  private dropped(out: HistoryEntry[], key: string, current: KeyState | undefined, next: KeyState, at: number): void {
    // Checked first: most keys keep no history, and this runs for every record written.
    if (current === undefined || !this.tracks(key)) return;
    const has = (list: readonly Version[], v: Version) => list.some((w) => sameDots(w, v));
    const gone = current.versions.filter((v) => !has(next.versions, v));
    if (gone.length === 0) return;
    const added = next.versions.filter((v) => !has(current.versions, v)).map(dotOf);
    for (const v of gone) out.push({ key, device: v.device, counter: v.counter, wall: v.wall, tick: v.tick, value: v.value, supersededBy: added, at });
  }

  private tracks(key: string): boolean {
    return this.historyKeys !== undefined && this.historyKeys(key);
  }

  /** The kept superseded versions of `key`, newest first. */
  history(key: string): HistoryEntry[] {
    return this.storage.history(key);
  }

  /** Kept versions and known exact contexts of `key`, for finding common ancestors. */
  ancestry(key: string): Ancestry {
    const contexts = new Map<string, Context>();
    for (const c of this.storage.contexts(key)) contexts.set(dotKey(c), c.context);
    return { history: this.storage.history(key), contexts };
  }

  /** Joins concurrent versions the autoMerge hook can merge, as one more local write. */
  private runMerges(changed: readonly KeyRecord[]): void {
    if (this.autoMerge === undefined) return;
    const writes: Write[] = [];
    for (const r of changed) {
      if (r.state.versions.length < 2) continue;
      let value: Value | undefined;
      try {
        value = this.autoMerge(r.key, r.state, this.ancestry(r.key));
      } catch (e) {
        // A merge that fails leaves the conflict for the user: never a failed sync.
        log.error('automatic merge failed', { key: r.key, error: e });
      }
      if (value !== undefined) writes.push({ key: r.key, value });
    }
    if (writes.length > 0) this.writeAs(writes, 'merge');
  }

  /** Merges records from a peer; returns those that changed this replica. */
  apply(records: readonly KeyRecord[], origin: Origin = 'anti-entropy'): KeyRecord[] {
    const merged = new Map<string, KeyState>();
    // The state before this batch, read once per key, so one batch brings one set of new versions per key.
    const before = new Map<string, KeyState | undefined>();
    // Records holding one version of a tracked key, by key: each carries that version's exact context.
    const singles = new Map<string, KeyRecord[]>();
    let last = this.last;
    const now = this.now();
    const stored = this.states(records.map((r) => r.key));
    for (const r of records) {
      if (!before.has(r.key)) before.set(r.key, stored.get(r.key));
      if (r.state.versions.length === 1 && this.tracks(r.key)) {
        const list = singles.get(r.key);
        if (list === undefined) singles.set(r.key, [r]);
        else list.push(r);
      }
      const current = merged.get(r.key) ?? before.get(r.key);
      const next = merge(current, r.state);
      if (statesEqual(current, next)) continue;
      merged.set(r.key, next);
      for (const v of r.state.versions) {
        if (v.device === this.replicaId) continue;
        const seen = observe(last, stampOf(v), this.replicaId, now, this.maxAheadMs);
        last = seen.last;
        const prev = this.skew.get(v.device);
        // The same figures again (a batch of one device's records) need no new entry.
        if (prev === undefined || prev.at < v.wall || (prev.at === v.wall && (prev.aheadMs !== seen.skewMs || prev.capped !== seen.capped))) {
          this.skew.set(v.device, { aheadMs: seen.skewMs, capped: seen.capped, at: v.wall });
        }
      }
    }
    const changed: KeyRecord[] = [];
    merged.forEach((state, key) => changed.push({ key, state }));
    if (changed.length === 0) return changed;
    const superseded: HistoryEntry[] = [];
    const contexts: VersionContext[] = [];
    for (const r of changed) {
      const was = before.get(r.key);
      this.dropped(superseded, r.key, was, r.state, now);
      // A state holding one version carries exactly that version's context (core/history.ts).
      for (const rec of singles.get(r.key) ?? []) {
        const v = rec.state.versions[0];
        if (was?.versions.some((w) => sameDots(w, v)) || (was?.context[v.device] ?? 0) >= v.counter) continue;
        contexts.push({ key: r.key, device: v.device, counter: v.counter, context: rec.state.context });
      }
    }
    this.commit(changed, origin, last, superseded, contexts);
    this.runMerges(changed);
    return changed;
  }

  /** Persists "I have merged `replica`'s log through `seq`" after a completed session. */
  saveCursor(replica: string, seq: number): void {
    const known = this.storage.cursor(replica);
    if (known !== undefined && known >= seq) return;
    this.storage.commit({ puts: [], cursors: [{ replica, seq }] });
  }

  private commit(records: readonly KeyRecord[], origin: Origin, last: Stamp | null, history: readonly HistoryEntry[] = [], contexts: readonly VersionContext[] = []): void {
    // The states being written, by key: only the index and the history bound read them, so a
    // plain write of keys without either builds no map.
    let byKey: Map<string, KeyState> | undefined;
    const pending = (key: string): KeyState | undefined => {
      if (byKey === undefined) {
        byKey = new Map();
        for (const r of records) byKey.set(r.key, r.state);
      }
      return byKey.get(key);
    };
    const docs = this.indexer?.(records.map((r) => r.key), (key) => pending(key) ?? this.get(key));
    // A key with concurrent versions keeps its whole history: a merge may need any ancestor.
    const before = this.now() - this.historyLimits.maxAgeMs;
    const prune = [...new Set(history.map((h) => h.key))]
      .filter((key) => (pending(key)?.versions.length ?? 0) < 2)
      .map((key) => ({ key, keep: this.historyLimits.keep, before: Math.max(0, before), current: (pending(key)?.versions ?? []).map(dotOf) }));
    const hashes = this.storage.commit({ puts: records, docs, clock: last ?? undefined, history, prune, contexts });
    this.last = last;
    records.forEach((r, i) => this.tree.set(r.key, hashes[i]));
    this.counters[origin] += records.length;
    this.sinceSnapshot += records.length;
    this.maybeSnapshot();
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

/**
 * The tree from the store's snapshot plus the keys put since. A snapshot that does not account
 * for exactly the stored keys (unreadable, or a store changed behind the replica's back) is
 * dropped and the tree is rebuilt from every key: slower, never wrong.
 */
function loadTree(persisted: TreeStore): { tree: MerkleTree; replayed: number } {
  const names: KeyNames = () => persisted.keyNames();
  const snap = persisted.treeSnapshot();
  if (snap !== undefined) {
    try {
      const tree = MerkleTree.fromSnapshot(snap.data, names);
      let replayed = 0;
      for (const [key, leaf] of persisted.hashesSince(snap.seq)) {
        tree.set(key, leaf);
        replayed++;
      }
      if (tree.size === persisted.keyCount()) return { tree, replayed };
      log.warn('the Merkle tree snapshot does not match the store; rebuilding the tree', { snapshotKeys: tree.size });
    } catch (e) {
      log.warn('the Merkle tree snapshot is unreadable; rebuilding the tree', { error: e });
    }
  }
  const tree = new MerkleTree(names);
  let replayed = 0;
  for (const [key, leaf] of persisted.hashesSince(0)) {
    tree.set(key, leaf);
    replayed++;
  }
  return { tree, replayed };
}
