// The storage seam. The replica (engine/replica.ts) owns all sync logic; a Storage only keeps
// bytes durable and answers queries. Two implementations pass the same conformance suite
// (test/store-conformance.ts): MemoryStore (tests, simulation, benchmarks) and SqliteStore (the app).

import type { Stamp } from '../core/clock.ts';
import type { SearchHit } from '../core/note-types.ts';
import type { Change } from '../core/change-log.ts';
import type { KeyState } from '../core/record.ts';
import type { StoredSnapshot } from '../core/codec.ts';
import type { HistoryEntry, VersionContext } from '../core/history.ts';
import type { Dot } from '../core/record.ts';

export type { HistoryEntry, VersionContext };

export type { SearchHit };

export interface Put {
  readonly key: string;
  readonly state: KeyState;
}

/**
 * A persisted copy of the Merkle tree (core/merkle.ts snapshot()), so that opening a large vault
 * reads one blob and the keys changed since, instead of hashing every key (engine/replica.ts).
 */
export interface TreeStore {
  /** The last saved snapshot and the seq it covers (every put up to seq, none after). */
  treeSnapshot(): { readonly seq: number; readonly data: Uint8Array } | undefined;
  /** Replaces the snapshot; `data` must cover exactly the puts up to `seq`. */
  saveTreeSnapshot(seq: number, data: Uint8Array): void;
  /** Every key put after `seq`, with its leaf hash. */
  hashesSince(seq: number): Iterable<readonly [string, Uint8Array]>;
  /** Every stored key (as a one-element row). */
  keyNames(): Iterable<readonly [string]>;
  /** How many keys are stored. */
  keyCount(): number;
}

/** What the full-text index and the notes list hold for one note: its live, winning fields. */
export interface DocEntry {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  /** Wall ms of the newest winning field write. */
  readonly updated: number;
  readonly created: number;
  readonly trashed: boolean;
  /** True when any field of the note has concurrent versions waiting to be resolved. */
  readonly conflicted: boolean;
}

import type { Watermark } from '../core/holds.ts';
export type { Watermark };

export interface CommitBatch {
  readonly puts: readonly Put[];
  /** Upserts of the document index, written in the same transaction as the puts. */
  readonly docs?: readonly DocEntry[];
  /** The clock's last stamp, persisted with the writes it stamped. */
  readonly clock?: Stamp;
  /** "I have merged replica R's change log through seq S." */
  readonly cursors?: readonly { readonly replica: string; readonly seq: number }[];
  /** Upserts of paired devices' watermarks, by peer. */
  readonly watermarks?: readonly Watermark[];
  /** Superseded versions to keep (a version already kept is not added twice). */
  readonly history?: readonly HistoryEntry[];
  /** Exact causal contexts of versions (core/history.ts), kept while the version or its entry is. */
  readonly contexts?: readonly VersionContext[];
  /** After adding: keep only the newest `keep` entries of `key`, none with `at` before `before`. */
  readonly prune?: readonly HistoryPrune[];
}

export interface HistoryPrune {
  readonly key: string;
  readonly keep: number;
  readonly before: number;
  /** The key's current versions: their contexts stay. */
  readonly current: readonly Dot[];
}

export type { Change } from '../core/change-log.ts';

/** A doc's place in list order (updated newest first, then id ascending): a keyset position. */
export interface DocPosition {
  readonly updated: number;
  readonly id: string;
}

export interface DocQuery {
  readonly trashed?: boolean;
  /** Only docs with (true) or without (false) pending conflicts; omitted: both. */
  readonly conflicted?: boolean;
  /**
   * Only docs strictly after this position in list order. Paging by position instead of offset
   * keeps a page boundary in place while notes above it are created, edited or trashed.
   * Cannot be combined with `offset`.
   */
  readonly after?: DocPosition;
  readonly limit?: number;
  readonly offset?: number;
}

export interface Storage {
  /** This replica's device id (16 hex chars), created when the store is created, never changed. */
  readonly replicaId: string;
  get(key: string): KeyState | undefined;
  /**
   * The stored states of `keys`, read in one go (a batch of edits reads its keys' states at once:
   * half the cost of one read each). Keys not stored are absent from the map.
   */
  getMany(keys: readonly string[]): Map<string, KeyState>;
  /**
   * Applies the whole batch atomically: either everything is durable or nothing changed. Every
   * put gets a fresh, strictly increasing sequence number in the change log. Returns each put's
   * Merkle leaf hash (codec.leafHash of codec.encodeRecord), in order: the store encodes every
   * record exactly once, and the hash it stores is the one the tree gets.
   */
  commit(batch: CommitBatch): Uint8Array[];
  /** Highest sequence number assigned so far (0 for an empty store). */
  seq(): number;
  /**
   * The change log after `after`, compacted to the newest change per key, ascending by seq,
   * at most `limit` entries.
   */
  changesSince(after: number, limit: number): Change[];
  /** Every key with its leaf hash, for building the Merkle tree at open. */
  scanHashes(): Iterable<readonly [string, Uint8Array]>;
  /**
   * Every record as stored (codec.encodeRecord, the canonical encoding) as of now, read lazily:
   * writes committed after this call are not in it. What a session sends a peer that holds
   * nothing, passed on without decoding. The caller closes it.
   */
  snapshot(): StoredSnapshot;
  /** Present when the store can persist the tree: then the replica opens from a snapshot. */
  readonly treeStore?: TreeStore;
  /** The last persisted clock stamp, or null for a new store. */
  clock(): Stamp | null;
  cursor(replica: string): number | undefined;
  /** Every stored watermark (one per paired device that was ever proven to hold something). */
  watermarks(): Watermark[];
  /** The highest change-log seq among the keys that start with `prefix` (non-empty), 0 if none. */
  lastSeqUnder(prefix: string): number;
  getDoc(id: string): DocEntry | undefined;
  /**
   * Notes newest first by `updated` (ties by id ascending); `trashed` and `conflicted` filter, and
   * when omitted every doc is listed. With `after`, reads only as far as the page needs.
   */
  listDocs(query?: DocQuery): DocEntry[];
  /**
   * Full-text search of live (not trashed) notes' title and body. Any user text is accepted:
   * it is treated as words to match (prefix match on each word), never as query syntax.
   * Best match first; `offset` skips that many hits (pages of a ranked list).
   */
  search(text: string, limit?: number, offset?: number): SearchHit[];
  /** The kept superseded versions of `key`, newest first (by `at`, then dot). */
  history(key: string): HistoryEntry[];
  /** The kept version contexts of `key`. */
  contexts(key: string): VersionContext[];
  close(): void;
}
