// Merkle tree over the keyspace, in memory. A key's place is fixed by the nibbles of its hash
// (fanout 16), so every replica has the same shape whatever the order of writes. A node's digest
// is the XOR of the 128-bit leaf hashes below it: a write changes the digests of exactly the
// nodes on its path (O(depth), no rebuild), and equal sets of (key, state) give equal digests.
// Leaf hashes already cover the key, so two different keys never cancel each other out.
//
// Levels 0..DENSE_DEPTH are flat arrays; below that a node is computed on demand from its
// bucket's keys (at 1M keys a bucket holds ~15), which keeps memory near 40 bytes per key.

import { HASH_BYTES, keyHash } from './codec.ts';

export const FANOUT = 16;
export const DENSE_DEPTH = 4;
/** Paths never go deeper than the key hash has nibbles. */
export const MAX_PATH_DEPTH = HASH_BYTES * 2;

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

export function nibble(hash: Uint8Array, i: number): number {
  const b = hash[i >> 1];
  return (i & 1) === 0 ? b >> 4 : b & 15;
}

function pathIndex(path: Path): number {
  let index = 0;
  for (const n of path) index = index * FANOUT + n;
  return index;
}

export class MerkleTree implements MerkleView {
  private readonly slots = new Map<string, number>();
  private keys: string[] = [];
  private keyHashes = new Uint8Array(0);
  private leaves = new Uint8Array(0);
  private readonly digests: Uint8Array[] = [];
  private readonly counts: Uint32Array[] = [];
  private readonly buckets: (number[] | undefined)[];

  constructor() {
    for (let level = 0; level <= DENSE_DEPTH; level++) {
      this.digests.push(new Uint8Array(FANOUT ** level * HASH_BYTES));
      this.counts.push(new Uint32Array(FANOUT ** level));
    }
    this.buckets = new Array(FANOUT ** DENSE_DEPTH);
  }

  get size(): number {
    return this.keys.length;
  }

  /** Sets a key's leaf hash, or removes the key with `null`. */
  set(key: string, leaf: Uint8Array | null, hashOfKey?: Uint8Array): void {
    const slot = this.slots.get(key);
    if (slot === undefined) {
      if (leaf === null) return;
      this.insert(key, hashOfKey ?? keyHash(key), leaf);
    } else if (leaf === null) {
      this.remove(key, slot);
    } else {
      const old = this.leaves.subarray(slot * HASH_BYTES, (slot + 1) * HASH_BYTES);
      const delta = new Uint8Array(HASH_BYTES);
      for (let i = 0; i < HASH_BYTES; i++) delta[i] = old[i] ^ leaf[i];
      old.set(leaf);
      this.apply(this.keyHashOf(slot), delta, 0);
    }
  }

  has(key: string): boolean {
    return this.slots.has(key);
  }

  leafOf(key: string): Uint8Array | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.leaves.slice(slot * HASH_BYTES, (slot + 1) * HASH_BYTES);
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
      const leaf = this.leaves.subarray(slot * HASH_BYTES, (slot + 1) * HASH_BYTES);
      for (let i = 0; i < HASH_BYTES; i++) digest[i] ^= leaf[i];
    }
    return { count, digest };
  }

  children(path: Path): NodeSummary[] {
    const out: NodeSummary[] = [];
    for (let n = 0; n < FANOUT; n++) out.push(this.node([...path, n]));
    return out;
  }

  keysUnder(path: Path): LeafEntry[] {
    return [...this.slotsUnder(path)].map((slot) => ({
      key: this.keys[slot],
      keyHash: this.keyHashOf(slot),
      leaf: this.leaves.slice(slot * HASH_BYTES, (slot + 1) * HASH_BYTES),
    }));
  }

  /** Approximate bytes held by the tree's own arrays (not counting the key strings). */
  footprint(): number {
    let bytes = this.keyHashes.byteLength + this.leaves.byteLength;
    for (let level = 0; level <= DENSE_DEPTH; level++) bytes += this.digests[level].byteLength + this.counts[level].byteLength;
    return bytes;
  }

  private *slotsUnder(path: Path): Generator<number> {
    const depth = Math.min(path.length, DENSE_DEPTH);
    const first = pathIndex(path.slice(0, depth)) * FANOUT ** (DENSE_DEPTH - depth);
    const last = first + FANOUT ** (DENSE_DEPTH - depth);
    for (let b = first; b < last; b++) {
      const bucket = this.buckets[b];
      if (bucket === undefined) continue;
      for (const slot of bucket) {
        if (path.length <= DENSE_DEPTH || this.matches(slot, path)) yield slot;
      }
    }
  }

  private matches(slot: number, path: Path): boolean {
    const h = this.keyHashOf(slot);
    for (let i = DENSE_DEPTH; i < path.length; i++) if (nibble(h, i) !== path[i]) return false;
    return true;
  }

  private keyHashOf(slot: number): Uint8Array {
    return this.keyHashes.subarray(slot * HASH_BYTES, (slot + 1) * HASH_BYTES);
  }

  private bucketOf(h: Uint8Array): number {
    let index = 0;
    for (let i = 0; i < DENSE_DEPTH; i++) index = index * FANOUT + nibble(h, i);
    return index;
  }

  private insert(key: string, h: Uint8Array, leaf: Uint8Array): void {
    const slot = this.keys.length;
    if ((slot + 1) * HASH_BYTES > this.leaves.length) this.grow();
    this.keys.push(key);
    this.slots.set(key, slot);
    this.keyHashes.set(h.subarray(0, HASH_BYTES), slot * HASH_BYTES);
    this.leaves.set(leaf, slot * HASH_BYTES);
    const b = this.bucketOf(h);
    (this.buckets[b] ??= []).push(slot);
    this.apply(h, leaf, 1);
  }

  private remove(key: string, slot: number): void {
    const h = this.keyHashOf(slot).slice();
    this.apply(h, this.leaves.slice(slot * HASH_BYTES, (slot + 1) * HASH_BYTES), -1);
    const bucket = this.buckets[this.bucketOf(h)]!;
    bucket.splice(bucket.indexOf(slot), 1);
    // Keep slots dense: the last slot moves into the hole.
    const lastSlot = this.keys.length - 1;
    if (slot !== lastSlot) {
      const movedKey = this.keys[lastSlot];
      this.keys[slot] = movedKey;
      this.slots.set(movedKey, slot);
      this.keyHashes.copyWithin(slot * HASH_BYTES, lastSlot * HASH_BYTES, (lastSlot + 1) * HASH_BYTES);
      this.leaves.copyWithin(slot * HASH_BYTES, lastSlot * HASH_BYTES, (lastSlot + 1) * HASH_BYTES);
      const movedBucket = this.buckets[this.bucketOf(this.keyHashOf(slot))]!;
      movedBucket[movedBucket.indexOf(lastSlot)] = slot;
    }
    this.keys.pop();
    this.slots.delete(key);
  }

  private grow(): void {
    const capacity = Math.max(1024, this.keys.length * 2) * HASH_BYTES;
    const hashes = new Uint8Array(capacity);
    hashes.set(this.keyHashes);
    this.keyHashes = hashes;
    const leaves = new Uint8Array(capacity);
    leaves.set(this.leaves);
    this.leaves = leaves;
  }

  /** XORs `delta` into every dense node on the key's path and adjusts their counts. */
  private apply(h: Uint8Array, delta: Uint8Array, countChange: number): void {
    let index = 0;
    for (let level = 0; level <= DENSE_DEPTH; level++) {
      if (level > 0) index = index * FANOUT + nibble(h, level - 1);
      const digests = this.digests[level];
      const base = index * HASH_BYTES;
      for (let i = 0; i < HASH_BYTES; i++) digests[base + i] ^= delta[i];
      this.counts[level][index] += countChange;
    }
  }
}
