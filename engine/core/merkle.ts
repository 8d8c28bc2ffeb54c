// Merkle tree over the keyspace, in memory. A key's place is fixed by the nibbles of its hash
// (fanout 16), so every replica has the same shape whatever the order of writes. A node's digest
// is the XOR of the 128-bit leaf hashes below it: a write changes the digests of exactly the
// nodes on its path (O(depth), no rebuild), and equal sets of (key, state) give equal digests.
// Leaf hashes already cover the key, so two different keys never cancel each other out.
//
// Levels 0..DENSE_DEPTH are flat arrays; below that a node is computed on demand from its
// bucket's keys (at 1M keys a bucket holds ~15).
//
// Memory and open time (issue 11): a key is found by its key hash in an open-addressing table of
// typed arrays, and its name (the key string) is optional. A tree restored from a snapshot
// (`fromSnapshot`: key hashes and leaves, no names) learns a name when the key is written or
// looked up, and asks its `KeyNames` source for all names only when keysUnder() first needs them
// (an anti-entropy session that lists keys, or a test), hashing each once. So opening 1M keys
// reads one blob and holds ~46 bytes per key instead of a million strings in a Map; the names
// cost their memory (and ~1 s of hashing at 1M) only once a session descends to the keys. All
// at once, because finding the names of one bucket would need the store to index keys by hash,
// and that index costs every new key a random B-tree insert (measured: ~20% of the write path's
// new-key throughput).

import { HASH_BYTES, keyHashInto } from './codec.ts';
import { StoreError } from './errors.ts';

export const FANOUT = 16;
export const DENSE_DEPTH = 4;
/** Paths never go deeper than the key hash has nibbles. */
export const MAX_PATH_DEPTH = HASH_BYTES * 2;
const BUCKETS = FANOUT ** DENSE_DEPTH;

/** A node address: the nibbles of the key hash from the root down, each 0..15. */
export type Path = readonly number[];

export interface NodeSummary {
  readonly count: number;
  /** 16-byte XOR of the leaf hashes below the node (all zero when empty). */
  readonly digest: Uint8Array;
}

export interface LeafEntry {
  readonly key: string;
  readonly keyHash: Uint8Array;
  readonly leaf: Uint8Array;
}

/** The read side the anti-entropy session needs. */
export interface MerkleView {
  readonly size: number;
  node(path: Path): NodeSummary;
  children(path: Path): NodeSummary[];
  keysUnder(path: Path): LeafEntry[];
}

/** Where a tree restored without names finds them: every stored key (as a one-element row). */
export type KeyNames = () => Iterable<readonly [string]>;

export function nibble(hash: Uint8Array, i: number): number {
  const b = hash[i >> 1];
  return (i & 1) === 0 ? b >> 4 : b & 15;
}

function pathIndex(path: Path): number {
  let index = 0;
  for (const n of path) index = index * FANOUT + n;
  return index;
}

/** The depth-4 bucket of a key hash: its first 16 bits. */
function bucketOf(h: Uint8Array, offset = 0): number {
  return (h[offset] << 8) | h[offset + 1];
}

/** 32 bits of a key hash for the open-addressing table (bytes 2..5: past the bucket bits). */
function probeStart(h: Uint8Array, offset: number, mask: number): number {
  return ((h[offset + 2] << 24) | (h[offset + 3] << 16) | (h[offset + 4] << 8) | h[offset + 5]) & mask;
}

export class MerkleTree implements MerkleView {
  /** Names known so far: every key this process wrote, read or listed. */
  private readonly slots = new Map<string, number>();
  private names: (string | undefined)[] = [];
  private count = 0;
  private keyHashes = new Uint8Array(0);
  private leaves = new Uint8Array(0);
  /** Open addressing by key hash, linear probing: slot + 1, 0 = empty. */
  private table = new Int32Array(0);
  private readonly digests: Uint8Array[] = [];
  private readonly counts: Uint32Array[] = [];
  /** Each depth-4 bucket's slots as a linked list: first slot (-1 = empty), then next slot. */
  private readonly bucketHead = new Int32Array(BUCKETS).fill(-1);
  private nextInBucket = new Int32Array(0);
  private readonly keyNames: KeyNames | undefined;
  // Scratch for a key hash looked up or inserted, and for a leaf's change: read at once, never
  // kept, so every write does not allocate two arrays.
  private readonly hashScratch = new Uint8Array(HASH_BYTES);
  private readonly deltaScratch = new Uint8Array(HASH_BYTES);

  constructor(keyNames?: KeyNames) {
    this.keyNames = keyNames;
    for (let level = 0; level <= DENSE_DEPTH; level++) {
      this.digests.push(new Uint8Array(FANOUT ** level * HASH_BYTES));
      this.counts.push(new Uint32Array(FANOUT ** level));
    }
  }

  /**
   * Restores a tree from snapshot() output. The names of its keys come later, from `keyNames`.
   * Throws StoreError E_STORE_DAMAGED if the snapshot is not a whole number of entries or repeats
   * a key hash.
   */
  static fromSnapshot(data: Uint8Array, keyNames: KeyNames): MerkleTree {
    if (data.length % (2 * HASH_BYTES) !== 0) throw new StoreError('E_STORE_DAMAGED', `tree snapshot of ${data.length} bytes is not a whole number of entries`);
    const n = data.length / (2 * HASH_BYTES);
    const tree = new MerkleTree(keyNames);
    tree.reserve(n, 1);
    tree.keyHashes.set(data.subarray(0, n * HASH_BYTES));
    tree.leaves.set(data.subarray(n * HASH_BYTES));
    for (let slot = 0; slot < n; slot++) {
      const at = slot * HASH_BYTES;
      if (tree.find(tree.keyHashes, at) >= 0) throw new StoreError('E_STORE_DAMAGED', 'tree snapshot holds a key hash twice');
      tree.tableInsert(slot);
      const b = bucketOf(tree.keyHashes, at);
      tree.link(b, slot);
      tree.count = slot + 1;
    }
    // The dense levels from the leaves, bottom level first, then each level from the one below.
    const bottom = tree.digests[DENSE_DEPTH];
    const bottomCounts = tree.counts[DENSE_DEPTH];
    for (let slot = 0; slot < n; slot++) {
      const at = slot * HASH_BYTES;
      const base = bucketOf(tree.keyHashes, at) * HASH_BYTES;
      for (let i = 0; i < HASH_BYTES; i++) bottom[base + i] ^= tree.leaves[at + i];
      bottomCounts[bucketOf(tree.keyHashes, at)]++;
    }
    for (let level = DENSE_DEPTH - 1; level >= 0; level--) {
      const below = tree.digests[level + 1];
      const here = tree.digests[level];
      for (let child = 0; child < FANOUT ** (level + 1); child++) {
        const parent = Math.floor(child / FANOUT);
        tree.counts[level][parent] += tree.counts[level + 1][child];
        for (let i = 0; i < HASH_BYTES; i++) here[parent * HASH_BYTES + i] ^= below[child * HASH_BYTES + i];
      }
    }
    return tree;
  }

  /** Key hashes then leaves of every key, in slot order: what fromSnapshot() restores. */
  snapshot(): Uint8Array {
    const n = this.count;
    const out = new Uint8Array(n * 2 * HASH_BYTES);
    out.set(this.keyHashes.subarray(0, n * HASH_BYTES));
    out.set(this.leaves.subarray(0, n * HASH_BYTES), n * HASH_BYTES);
    return out;
  }

  get size(): number {
    return this.count;
  }

  /** Sets a key's leaf hash, or removes the key with `null`. */
  set(key: string, leaf: Uint8Array | null, hashOfKey?: Uint8Array): void {
    // slotOf() inlined: one Map lookup per write, and the key hash only when it is needed.
    let h = hashOfKey;
    let slot = this.slots.get(key);
    if (slot === undefined) {
      if (this.slots.size === this.count) {
        slot = -1; // every name is known: a new key
      } else {
        h ??= keyHashInto(key, this.hashScratch);
        slot = this.find(h, 0);
        if (slot >= 0) this.name(slot, key);
      }
    }
    if (slot < 0) {
      if (leaf === null) return;
      this.insert(key, h ?? keyHashInto(key, this.hashScratch), leaf);
    } else if (leaf === null) {
      this.remove(slot);
    } else {
      const at = slot * HASH_BYTES;
      const delta = this.deltaScratch;
      for (let i = 0; i < HASH_BYTES; i++) {
        delta[i] = this.leaves[at + i] ^ leaf[i];
        this.leaves[at + i] = leaf[i];
      }
      this.apply(this.keyHashes, at, delta, 0);
    }
  }

  has(key: string): boolean {
    return this.slotOf(key) >= 0;
  }

  leafOf(key: string): Uint8Array | undefined {
    const slot = this.slotOf(key);
    return slot < 0 ? undefined : this.leaves.slice(slot * HASH_BYTES, (slot + 1) * HASH_BYTES);
  }

  root(): NodeSummary {
    return this.node([]);
  }

  node(path: Path): NodeSummary {
    if (path.length <= DENSE_DEPTH) {
      const i = pathIndex(path);
      return { count: this.counts[path.length][i], digest: this.digests[path.length].slice(i * HASH_BYTES, (i + 1) * HASH_BYTES) };
    }
    const digest = new Uint8Array(HASH_BYTES);
    let count = 0;
    for (const slot of this.slotsUnder(path)) {
      count++;
      const at = slot * HASH_BYTES;
      for (let i = 0; i < HASH_BYTES; i++) digest[i] ^= this.leaves[at + i];
    }
    return { count, digest };
  }

  children(path: Path): NodeSummary[] {
    const out: NodeSummary[] = [];
    for (let n = 0; n < FANOUT; n++) out.push(this.node([...path, n]));
    return out;
  }

  keysUnder(path: Path): LeafEntry[] {
    if (this.slots.size < this.count) this.learnNames();
    return [...this.slotsUnder(path)].map((slot) => ({
      key: this.names[slot] as string,
      keyHash: this.keyHashes.slice(slot * HASH_BYTES, (slot + 1) * HASH_BYTES),
      leaf: this.leaves.slice(slot * HASH_BYTES, (slot + 1) * HASH_BYTES),
    }));
  }

  /** Approximate bytes held by the tree's own arrays (not counting the key strings). */
  footprint(): number {
    let bytes = this.keyHashes.byteLength + this.leaves.byteLength + this.table.byteLength;
    bytes += this.bucketHead.byteLength + this.nextInBucket.byteLength;
    for (let level = 0; level <= DENSE_DEPTH; level++) bytes += this.digests[level].byteLength + this.counts[level].byteLength;
    return bytes;
  }

  private link(bucket: number, slot: number): void {
    this.nextInBucket[slot] = this.bucketHead[bucket];
    this.bucketHead[bucket] = slot;
  }

  private unlink(bucket: number, slot: number): void {
    if (this.bucketHead[bucket] === slot) {
      this.bucketHead[bucket] = this.nextInBucket[slot];
      return;
    }
    let prev = this.bucketHead[bucket];
    while (this.nextInBucket[prev] !== slot) prev = this.nextInBucket[prev];
    this.nextInBucket[prev] = this.nextInBucket[slot];
  }

  /** Slot of `key`, or -1. A key found by its hash gets its name recorded. */
  private slotOf(key: string, hashOfKey?: Uint8Array): number {
    const known = this.slots.get(key);
    if (known !== undefined) return known;
    if (this.count === this.slots.size) return -1; // every name is known: the Map is complete
    const slot = this.find(hashOfKey ?? keyHashInto(key, this.hashScratch), 0);
    if (slot >= 0) this.name(slot, key);
    return slot;
  }

  private name(slot: number, key: string): void {
    this.names[slot] = key;
    this.slots.set(key, slot);
  }

  /** Names every slot. */
  private learnNames(): void {
    if (this.keyNames === undefined) throw new Error('invariant: a tree without names has no KeyNames source');
    for (const [key] of this.keyNames()) {
      if (this.slots.has(key)) continue;
      const slot = this.find(keyHashInto(key, this.hashScratch), 0);
      if (slot >= 0 && this.names[slot] === undefined) this.name(slot, key);
    }
    if (this.slots.size < this.count) throw new Error(`invariant: the store names ${this.slots.size} of the tree's ${this.count} keys`);
  }

  /** The depth-4 buckets [first, end) a path covers. */
  private bucketRange(path: Path): [number, number] {
    const depth = Math.min(path.length, DENSE_DEPTH);
    const first = pathIndex(path.slice(0, depth)) * FANOUT ** (DENSE_DEPTH - depth);
    return [first, first + FANOUT ** (DENSE_DEPTH - depth)];
  }

  private *slotsUnder(path: Path): Generator<number> {
    const [first, last] = this.bucketRange(path);
    for (let b = first; b < last; b++) {
      for (let slot = this.bucketHead[b]; slot >= 0; slot = this.nextInBucket[slot]) {
        if (path.length <= DENSE_DEPTH || this.matches(slot, path)) yield slot;
      }
    }
  }

  private matches(slot: number, path: Path): boolean {
    const h = this.keyHashes.subarray(slot * HASH_BYTES, (slot + 1) * HASH_BYTES);
    for (let i = DENSE_DEPTH; i < path.length; i++) if (nibble(h, i) !== path[i]) return false;
    return true;
  }

  /** Slot holding the key hash at `h[offset..]`, or -1. */
  private find(h: Uint8Array, offset: number): number {
    const mask = this.table.length - 1;
    if (mask < 0) return -1;
    for (let i = probeStart(h, offset, mask); ; i = (i + 1) & mask) {
      const entry = this.table[i];
      if (entry === 0) return -1;
      if (this.sameHash(entry - 1, h, offset)) return entry - 1;
    }
  }

  private sameHash(slot: number, h: Uint8Array, offset: number): boolean {
    const at = slot * HASH_BYTES;
    for (let i = 0; i < HASH_BYTES; i++) if (this.keyHashes[at + i] !== h[offset + i]) return false;
    return true;
  }

  private tableInsert(slot: number): void {
    const mask = this.table.length - 1;
    let i = probeStart(this.keyHashes, slot * HASH_BYTES, mask);
    while (this.table[i] !== 0) i = (i + 1) & mask;
    this.table[i] = slot + 1;
  }

  /** Removes `slot`'s table entry, shifting later entries of its probe run back (no tombstones). */
  private tableDelete(slot: number): void {
    const mask = this.table.length - 1;
    let i = probeStart(this.keyHashes, slot * HASH_BYTES, mask);
    while (this.table[i] !== slot + 1) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; this.table[j] !== 0; j = (j + 1) & mask) {
      const home = probeStart(this.keyHashes, (this.table[j] - 1) * HASH_BYTES, mask);
      // The entry at j may fill the hole at i if its home is not within (i, j] cyclically.
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
      if (inRange) continue;
      this.table[i] = this.table[j];
      i = j;
    }
    this.table[i] = 0;
  }

  private tableMove(from: number, to: number): void {
    const mask = this.table.length - 1;
    let i = probeStart(this.keyHashes, to * HASH_BYTES, mask);
    while (this.table[i] !== from + 1) i = (i + 1) & mask;
    this.table[i] = to + 1;
  }

  private insert(key: string, h: Uint8Array, leaf: Uint8Array): void {
    const slot = this.count;
    this.reserve(slot + 1);
    const at = slot * HASH_BYTES;
    for (let i = 0; i < HASH_BYTES; i++) {
      this.keyHashes[at + i] = h[i];
      this.leaves[at + i] = leaf[i];
    }
    this.count++;
    this.tableInsert(slot);
    this.name(slot, key);
    this.link(bucketOf(h), slot);
    this.apply(h, 0, leaf, 1);
  }

  private remove(slot: number): void {
    const at = slot * HASH_BYTES;
    const h = this.keyHashes.slice(at, at + HASH_BYTES);
    this.apply(h, 0, this.leaves.slice(at, at + HASH_BYTES), -1);
    this.unlink(bucketOf(h), slot);
    this.tableDelete(slot);
    const key = this.names[slot];
    if (key !== undefined) this.slots.delete(key);
    // Keep slots dense: the last slot moves into the hole.
    const lastSlot = this.count - 1;
    if (slot !== lastSlot) {
      this.keyHashes.copyWithin(at, lastSlot * HASH_BYTES, (lastSlot + 1) * HASH_BYTES);
      this.leaves.copyWithin(at, lastSlot * HASH_BYTES, (lastSlot + 1) * HASH_BYTES);
      this.tableMove(lastSlot, slot);
      const moved = this.names[lastSlot];
      this.names[slot] = moved;
      if (moved !== undefined) this.slots.set(moved, slot);
      const movedBucket = bucketOf(this.keyHashes, at);
      this.unlink(movedBucket, lastSlot);
      this.link(movedBucket, slot);
    }
    if (this.names.length > lastSlot) this.names.length = lastSlot;
    this.count = lastSlot;
  }

  /** Room for `n` keys: arrays grow by `growth` (amortized appends), the table stays at most half full. */
  private reserve(n: number, growth = 1.5): void {
    if (n * HASH_BYTES > this.leaves.length) {
      const capacity = Math.max(1024, Math.ceil(n * growth)) * HASH_BYTES;
      const hashes = new Uint8Array(capacity);
      hashes.set(this.keyHashes);
      this.keyHashes = hashes;
      const leaves = new Uint8Array(capacity);
      leaves.set(this.leaves);
      this.leaves = leaves;
      const next = new Int32Array(capacity / HASH_BYTES);
      next.set(this.nextInBucket);
      this.nextInBucket = next;
    }
    if (n * 2 > this.table.length) {
      let size = 2048;
      while (size < n * 2) size *= 2;
      this.table = new Int32Array(size);
      for (let slot = 0; slot < this.count; slot++) this.tableInsert(slot);
    }
  }

  /** XORs `delta` into every dense node on the path of the key hash at `h[offset..]`. */
  private apply(h: Uint8Array, offset: number, delta: Uint8Array, countChange: number): void {
    let index = 0;
    for (let level = 0; level <= DENSE_DEPTH; level++) {
      if (level > 0) index = index * FANOUT + nibble(h, offset * 2 + level - 1);
      const digests = this.digests[level];
      const base = index * HASH_BYTES;
      for (let i = 0; i < HASH_BYTES; i++) digests[base + i] ^= delta[i];
      this.counts[level][index] += countChange;
    }
  }
}
