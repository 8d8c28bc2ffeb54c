// Opening a vault from the persisted Merkle tree snapshot (issue 11): the tree a replica opens
// with must be exactly the tree a full rebuild from every stored key gives, whatever was written
// after the last snapshot, and a snapshot that does not match the store is never trusted.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, test } from 'node:test';
import { MerkleTree } from '../engine/core/merkle.ts';
import { Replica } from '../engine/replica.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import type { Storage } from '../engine/store/store.ts';
import { Prng } from './prng.ts';

const SEED = 0x5a7e;
let dir: string;
let n = 0;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-tree-snapshot-'));
  console.log(`tree-snapshot seed ${SEED}`);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(): string {
  return path.join(dir, `vault-${++n}.db`);
}

/** The tree a full rebuild from every stored leaf hash gives (the pre-snapshot way). */
function rebuilt(store: Storage): MerkleTree {
  const tree = new MerkleTree();
  for (const [key, hash] of store.scanHashes()) tree.set(key, hash);
  return tree;
}

/** What `fn` wrote to stderr (the logger's lines). */
function logged(fn: () => void): string {
  const lines: string[] = [];
  const original = process.stderr.write;
  process.stderr.write = ((chunk: string) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = original;
  }
  return lines.join('');
}

function assertSameTree(actual: MerkleTree, expected: MerkleTree): void {
  assert.equal(actual.size, expected.size);
  assert.deepEqual(actual.root(), expected.root());
  for (let a = 0; a < 16; a++) assert.deepEqual(actual.children([a]), expected.children([a]), `children of ${a}`);
  const entries = (t: MerkleTree) => t.keysUnder([]).map((e) => `${e.key}=${Buffer.from(e.leaf).toString('hex')}`).sort();
  assert.deepEqual(entries(actual), entries(expected));
}

function writeRandom(replica: Replica, prng: Prng, count: number, keys: number): void {
  for (let i = 0; i < count; i += 7) {
    const batch = new Map<string, string>();
    for (let j = 0; j < 7; j++) batch.set(`note/${prng.int(0, keys - 1)}/body`, `v${prng.int(0, 1_000_000)}`);
    replica.write([...batch].map(([key, value]) => ({ key, value })));
  }
}

test('a reopened replica has the tree of a full rebuild, with writes before and after the last snapshot', () => {
  const prng = new Prng(SEED);
  const f = file();
  let store = SqliteStore.open(f);
  let replica = Replica.open(store, { snapshotEvery: 50 });
  writeRandom(replica, prng, 400, 200);
  store.close();
  for (let round = 0; round < 4; round++) {
    store = SqliteStore.open(f);
    assert.ok(store.treeStore?.treeSnapshot() !== undefined, 'a snapshot was saved');
    replica = Replica.open(store, { snapshotEvery: 50 });
    assertSameTree(replica.tree, rebuilt(store));
    // Edits of known and unknown-name keys, and new keys, on the restored tree.
    writeRandom(replica, prng, 30 + round * 20, 260);
    assertSameTree(replica.tree, rebuilt(store));
    store.close();
  }
});

test('a restored tree names a key when it is read, written or listed', () => {
  const f = file();
  const store = SqliteStore.open(f);
  const replica = Replica.open(store, { snapshotEvery: 1 });
  replica.write(Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
  store.close();
  const again = SqliteStore.open(f);
  try {
    const r = Replica.open(again, { snapshotEvery: 1 });
    assert.equal(r.get('k3')?.versions[0].value, 'v3');
    assert.equal(r.get('missing'), undefined);
    assert.equal(r.tree.has('k39'), true);
    assert.deepEqual(r.tree.keysUnder([]).map((e) => e.key).sort(), Array.from({ length: 40 }, (_, i) => `k${i}`).sort());
  } finally {
    again.close();
  }
});

test('a snapshot that does not match the store is dropped and the tree rebuilt', () => {
  const damages = [
    // Bytes changed behind the checksum's back: read as no snapshot.
    "UPDATE tree_snapshot SET data = substr(data, 33)",
    // A whole, checksummed snapshot of the wrong shape, or claiming puts it does not hold.
    "UPDATE tree_snapshot SET data = x'0102', crc = 3066839698",
    'UPDATE tree_snapshot SET seq = seq + 1000',
  ];
  for (const damage of damages) {
    const f = file();
    const store = SqliteStore.open(f);
    Replica.open(store, { snapshotEvery: 1 }).write(Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
    // Written after the snapshot: a snapshot claiming a later seq would miss the new key.
    Replica.open(store).write([{ key: 'k1', value: 'edited' }, { key: 'late', value: 'x' }]);
    store.close();
    const db = new DatabaseSync(f);
    db.exec(damage);
    db.close();
    const again = SqliteStore.open(f);
    try {
      const warned = logged(() => assertSameTree(Replica.open(again).tree, rebuilt(again)));
      if (!damage.startsWith('UPDATE tree_snapshot SET data = substr')) assert.match(warned, /snapshot (is unreadable|does not match the store)/, damage);
    } finally {
      again.close();
    }
  }
});

test('a snapshot is saved after a quarter of the tree in changes, so a growing vault rewrites it ever less often', () => {
  const f = file();
  const store = SqliteStore.open(f);
  try {
    const replica = Replica.open(store, { snapshotEvery: 10 });
    const savedAt = (): number | undefined => store.treeStore?.treeSnapshot()?.seq;
    replica.write(Array.from({ length: 400 }, (_, i) => ({ key: `k${i}`, value: 'v' })));
    assert.equal(savedAt(), 400, 'the first 400 keys: one batch of more than 10 changes');
    // 400 keys: the next snapshot waits for 100 changes, not 10.
    for (let i = 0; i < 99; i++) replica.write([{ key: `k${i}`, value: 'w' }]);
    assert.equal(savedAt(), 400, 'after 99 changes the snapshot is the old one');
    replica.write([{ key: 'k99', value: 'w' }]);
    assert.equal(savedAt(), 500, 'the 100th change saves one');
  } finally {
    store.close();
  }
});
