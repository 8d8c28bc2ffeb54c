// Merkle tree over the keyspace. Anti-entropy trusts it completely: if two replicas with the same
// records had different digests, sessions would never end equal; if different records had the
// same digest, a difference would never be repaired. Every check compares the tree against a
// plain model (a Map of key -> leaf, digests recomputed from scratch).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HASH_BYTES, keyHash } from '../engine/core/codec.ts';
import { DENSE_DEPTH, FANOUT, MAX_PATH_DEPTH, MerkleTree, nibble, type NodeSummary, type Path } from '../engine/core/merkle.ts';
import { Prng } from './prng.ts';

const SEED = 0x7ee5;
const RUNS = { seed: SEED, numRuns: 150 };

interface ModelEntry {
  readonly hash: Uint8Array;
  readonly leaf: Uint8Array;
}
type Model = Map<string, ModelEntry>;

const leafArb = fc.uint8Array({ minLength: HASH_BYTES, maxLength: HASH_BYTES });
const keyArb = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });

function under(hash: Uint8Array, path: Path): boolean {
  return path.every((n, i) => nibble(hash, i) === n);
}

function modelNode(model: Model, path: Path): NodeSummary {
  const digest = new Uint8Array(HASH_BYTES);
  let count = 0;
  for (const e of model.values()) {
    if (!under(e.hash, path)) continue;
    count++;
    for (let i = 0; i < HASH_BYTES; i++) digest[i] ^= e.leaf[i];
  }
  return { count, digest };
}

function modelKeysUnder(model: Model, path: Path): string[] {
  return [...model].filter(([, e]) => under(e.hash, path)).map(([k]) => k).sort();
}

function treeKeysUnder(tree: MerkleTree, path: Path): string[] {
  return tree.keysUnder(path).map((e) => e.key).sort();
}

function pathOf(hash: Uint8Array, depth: number): number[] {
  return Array.from({ length: depth }, (_, i) => nibble(hash, i));
}

/** The paths worth checking: the root, every level-1 node, and each key's path down to `deepest`. */
function interestingPaths(model: Model, deepest: number): Path[] {
  const paths: Path[] = [[]];
  for (let n = 0; n < FANOUT; n++) paths.push([n]);
  for (const e of model.values()) for (let d = 2; d <= deepest; d++) paths.push(pathOf(e.hash, d));
  return paths;
}

function assertMatchesModel(tree: MerkleTree, model: Model, deepest = DENSE_DEPTH + 2): void {
  assert.equal(tree.size, model.size);
  for (const path of interestingPaths(model, deepest)) {
    const mine = tree.node(path);
    const want = modelNode(model, path);
    assert.equal(mine.count, want.count, `count at ${path.join('.')}`);
    assert.deepEqual(mine.digest, want.digest, `digest at ${path.join('.')}`);
  }
  for (const [key, e] of model) assert.deepEqual(tree.leafOf(key), e.leaf, `leaf of ${JSON.stringify(key)}`);
  assert.deepEqual(treeKeysUnder(tree, []), [...model.keys()].sort());
}

function build(entries: Iterable<readonly [string, ModelEntry]>): MerkleTree {
  const tree = new MerkleTree();
  for (const [key, e] of entries) tree.set(key, e.leaf, e.hash);
  return tree;
}

function modelOf(pairs: readonly (readonly [string, Uint8Array])[]): Model {
  return new Map(pairs.map(([k, leaf]) => [k, { hash: keyHash(k), leaf }]));
}

const pairsArb = fc.uniqueArray(fc.tuple(keyArb, leafArb), { selector: ([k]) => k, maxLength: 120, size: 'max' });

test('the root does not depend on insertion order', () => {
  fc.assert(
    fc.property(pairsArb, fc.nat(), (pairs, shuffleSeed) => {
      const a = new MerkleTree();
      for (const [k, leaf] of pairs) a.set(k, leaf);
      const b = new MerkleTree();
      for (const [k, leaf] of new Prng(shuffleSeed).shuffle(pairs)) b.set(k, leaf);
      assert.deepEqual(a.root(), b.root());
      assert.deepEqual(a.children([]), b.children([]));
      assertMatchesModel(a, modelOf(pairs));
    }),
    RUNS,
  );
});

test('incremental set, update and remove end where a fresh build of the final set does', () => {
  // A small key pool so that updates and removals of present keys are common, and removals move
  // slots around (the tree keeps its arrays dense by moving the last slot into the hole).
  const opArb = fc.tuple(fc.nat({ max: 30 }), fc.option(leafArb, { nil: null, freq: 3 }));
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 200, size: 'max' }), (ops) => {
      const tree = new MerkleTree();
      const model: Model = new Map();
      ops.forEach(([k, leaf], i) => {
        const key = `key-${k}`;
        tree.set(key, leaf);
        if (leaf === null) model.delete(key);
        else model.set(key, { hash: keyHash(key), leaf: new Uint8Array(leaf) });
        if (i % 50 === 49) assertMatchesModel(tree, model);
      });
      assertMatchesModel(tree, model);
      const fresh = build(model);
      assert.deepEqual(tree.root(), fresh.root());
      for (let n = 0; n < FANOUT; n++) assert.deepEqual(tree.children([n]), fresh.children([n]));
    }),
    RUNS,
  );
});

test('a leaf passed to set() is copied, so a caller reusing its buffer cannot change the tree', () => {
  const tree = new MerkleTree();
  const leaf = new Uint8Array(HASH_BYTES).fill(7);
  tree.set('note', leaf);
  const before = tree.root();
  leaf.fill(9);
  assert.deepEqual(tree.root(), before);
});

test('node counts and digests add up: each node is the sum of its children', () => {
  fc.assert(
    fc.property(pairsArb, (pairs) => {
      const tree = build(modelOf(pairs));
      const model = modelOf(pairs);
      for (const path of interestingPaths(model, DENSE_DEPTH + 1)) {
        const parent = tree.node(path);
        const kids = tree.children(path);
        assert.equal(kids.length, FANOUT);
        assert.equal(kids.reduce((n, c) => n + c.count, 0), parent.count, `children counts at ${path.join('.')}`);
        const xor = new Uint8Array(HASH_BYTES);
        for (const c of kids) for (let i = 0; i < HASH_BYTES; i++) xor[i] ^= c.digest[i];
        assert.deepEqual(xor, parent.digest);
        assert.equal(tree.keysUnder(path).length, parent.count);
      }
    }),
    RUNS,
  );
});

/**
 * Key hashes that share long prefixes, so that paths below DENSE_DEPTH hold several keys. Real
 * SHA-256 prefixes collide that deep only at millions of keys; set() takes a precomputed hash,
 * which lets the test build the crowded buckets directly.
 */
const clusteredArb = fc
  .tuple(
    fc.array(fc.nat({ max: 15 }), { minLength: MAX_PATH_DEPTH, maxLength: MAX_PATH_DEPTH }),
    fc.array(fc.tuple(fc.integer({ min: 0, max: 12 }), fc.uint8Array({ minLength: HASH_BYTES, maxLength: HASH_BYTES }), leafArb), { minLength: 1, maxLength: 60 }),
  )
  .map(([base, raw]) =>
    raw.map(([shared, random, leaf], i) => {
      // The first `shared` nibbles come from the common base, the rest are random.
      const hash = new Uint8Array(random);
      for (let n = 0; n < shared; n++) {
        const b = n >> 1;
        hash[b] = (n & 1) === 0 ? (base[n] << 4) | (hash[b] & 15) : (hash[b] & 0xf0) | base[n];
      }
      return [`k${i}`, { hash, leaf }] as const;
    }),
  );

test('keysUnder and node below DENSE_DEPTH list exactly the keys on that path', () => {
  let crowdedDeepPaths = 0;
  fc.assert(
    fc.property(clusteredArb, fc.array(fc.nat({ max: 15 }), { maxLength: 4 }), (entries, tail) => {
      const model: Model = new Map(entries);
      const tree = build(entries);
      for (const e of model.values()) {
        for (let depth = DENSE_DEPTH + 1; depth <= Math.min(MAX_PATH_DEPTH, 14); depth++) {
          const path = pathOf(e.hash, depth);
          const keys = treeKeysUnder(tree, path);
          assert.deepEqual(keys, modelKeysUnder(model, path), `keys under ${path.join('.')}`);
          assert.deepEqual(tree.node(path), modelNode(model, path));
          if (keys.length > 1) crowdedDeepPaths++;
        }
        // A sibling path that may well be empty.
        const sibling = [...pathOf(e.hash, DENSE_DEPTH), ...tail];
        assert.deepEqual(treeKeysUnder(tree, sibling), modelKeysUnder(model, sibling));
      }
      const entriesUnder = tree.keysUnder(pathOf(entries[0][1].hash, MAX_PATH_DEPTH));
      assert.ok(entriesUnder.some((e) => e.key === entries[0][0]));
      for (const e of entriesUnder) {
        assert.deepEqual(e.keyHash, model.get(e.key)!.hash);
        assert.deepEqual(e.leaf, model.get(e.key)!.leaf);
      }
    }),
    RUNS,
  );
  // The generator exists to crowd deep paths; if it stopped doing so this test would be vacuous.
  assert.ok(crowdedDeepPaths > 100, `only ${crowdedDeepPaths} deep paths held more than one key`);
});

test('keysUnder below DENSE_DEPTH with real key hashes, across removals that move slots', () => {
  fc.assert(
    fc.property(pairsArb, fc.array(fc.nat(), { maxLength: 40 }), (pairs, removals) => {
      const model = modelOf(pairs);
      const tree = build(model);
      const keys = [...model.keys()];
      for (const r of removals) {
        if (keys.length === 0) break;
        const [key] = keys.splice(r % keys.length, 1);
        tree.set(key, null);
        model.delete(key);
      }
      for (const [key, e] of model) {
        for (const depth of [DENSE_DEPTH, DENSE_DEPTH + 1, DENSE_DEPTH + 3, MAX_PATH_DEPTH]) {
          const path = pathOf(e.hash, depth);
          assert.ok(treeKeysUnder(tree, path).includes(key), `${key} missing under ${path.join('.')}`);
          assert.deepEqual(treeKeysUnder(tree, path), modelKeysUnder(model, path));
        }
      }
      assertMatchesModel(tree, model);
    }),
    RUNS,
  );
});

test('removing every key leaves the all-zero empty root', () => {
  fc.assert(
    fc.property(pairsArb, fc.nat(), (pairs, shuffleSeed) => {
      const tree = build(modelOf(pairs));
      for (const [k] of new Prng(shuffleSeed).shuffle(pairs)) tree.set(k, null);
      const empty = new MerkleTree();
      assert.equal(tree.size, 0);
      assert.deepEqual(tree.root(), { count: 0, digest: new Uint8Array(HASH_BYTES) });
      assert.deepEqual(tree.root(), empty.root());
      assert.deepEqual(tree.children([]), empty.children([]));
      assert.deepEqual(tree.keysUnder([]), []);
      // Removing an absent key is a no-op, and the emptied tree is reusable.
      tree.set('never-there', null);
      assert.deepEqual(tree.root(), empty.root());
      for (const [k, leaf] of pairs) tree.set(k, leaf);
      assertMatchesModel(tree, modelOf(pairs));
    }),
    RUNS,
  );
});
