// The notes model and the replica facade over real stores: per-field keys, conflicts kept and
// resolved across replicas, trash, search through SQLite FTS5, and writes refused before anything
// is stored.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { compareStamps } from '../engine/core/clock.ts';
import { ValidationError } from '../engine/core/errors.ts';
import { MAX_VALUE_BYTES } from '../engine/core/limits.ts';
import { noteKey, Notes, notesIndexer, parseNoteKey } from '../engine/notes.ts';
import { Replica } from '../engine/replica.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { syncPair } from '../engine/sync-pair.ts';

const dir = mkdtempSync(join(tmpdir(), 'notes-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let wall = 1_750_000_000_000;
const clock = (): number => (wall += 7);

function device(id: string, store: 'memory' | 'sqlite' = 'memory'): Notes {
  const storage = store === 'memory' ? new MemoryStore(id) : SqliteStore.open(join(dir, `${id}-${Math.random()}.db`), { replicaId: id });
  return new Notes(Replica.open(storage, { now: clock, indexer: notesIndexer }));
}

const A = 'a1a1a1a1a1a1a1a1';
const B = 'b2b2b2b2b2b2b2b2';

function sync(x: Notes, y: Notes): void {
  const r = syncPair(x.replica, y.replica);
  assert.ok(r.ok, `session failed: ${r.error?.message}`);
}

describe('notes', () => {
  test('keys name a note field; other keys are not notes', () => {
    assert.deepEqual(parseNoteKey(noteKey('abc', 'body')), { id: 'abc', field: 'body' });
    assert.equal(parseNoteKey('note/abc/color'), null);
    assert.equal(parseNoteKey('other/abc/title'), null);
  });

  test('create, edit and list; only changed fields are written', () => {
    const a = device(A);
    const n = a.create({ title: 'Groceries', body: 'milk' });
    const seq = a.replica.seq();
    a.save(n.id, { title: 'Groceries', body: 'milk, eggs' });
    assert.equal(a.replica.seq(), seq + 1, 'an unchanged title is not rewritten');
    const got = a.get(n.id)!;
    assert.equal(got.body, 'milk, eggs');
    assert.ok(got.updated >= got.created);
    assert.deepEqual(a.list().map((d) => d.id), [n.id]);
  });

  test('title edited on one laptop and body on another merge without a conflict', () => {
    const a = device(A);
    const b = device(B);
    const n = a.create({ title: 'Plan', body: 'v1' });
    sync(a, b);
    a.save(n.id, { title: 'Plan (final)' });
    b.save(n.id, { body: 'v2' });
    sync(a, b);
    for (const x of [a, b]) {
      const got = x.get(n.id)!;
      assert.equal(got.title, 'Plan (final)');
      assert.equal(got.body, 'v2');
      assert.deepEqual(got.conflicts, {});
    }
  });

  test('concurrent body edits are both kept, shown alike everywhere, and a resolution ends them', () => {
    const a = device(A);
    const b = device(B);
    const n = a.create({ title: 't', body: 'base' });
    sync(a, b);
    a.save(n.id, { body: 'from A' });
    b.save(n.id, { body: 'from B' });
    sync(b, a);
    const onA = a.get(n.id)!;
    const onB = b.get(n.id)!;
    assert.deepEqual(onA.conflicts, onB.conflicts);
    assert.deepEqual(onA.conflicts.body?.map((v) => v.value).sort(), ['from A', 'from B']);
    assert.equal(onA.body, onB.body, 'the same winner is shown on both');
    assert.deepEqual(a.conflicted().map((x) => x.id), [n.id]);
    b.resolve(n.id, 'body', 'merged A+B');
    sync(a, b);
    for (const x of [a, b]) {
      assert.equal(x.get(n.id)!.body, 'merged A+B');
      assert.deepEqual(x.get(n.id)!.conflicts, {});
      assert.deepEqual(x.conflicted(), []);
    }
  });

  test('typing into a conflicted field keeps the other device\'s version until resolved', () => {
    const a = device(A);
    const b = device(B);
    const n = a.create({ body: 'base' });
    sync(a, b);
    a.save(n.id, { body: 'A1' });
    b.save(n.id, { body: 'B1' });
    sync(a, b);
    const shown = a.get(n.id)!.body;
    a.save(n.id, { body: `${shown} and more` });
    sync(a, b);
    const values = b.get(n.id)!.conflicts.body?.map((v) => v.value).sort();
    assert.equal(values?.length, 2, 'still two versions after the edit');
    assert.ok(values?.includes(`${shown} and more`), 'the edit replaced the shown version');
    assert.ok(values?.includes('B1'), 'the other device\'s version survived');
  });

  test('trash and restore; an edit made meanwhile elsewhere survives in the trashed note', () => {
    const a = device(A);
    const b = device(B);
    const n = a.create({ title: 'old', body: 'text' });
    sync(a, b);
    a.trash(n.id);
    b.save(n.id, { body: 'edited while trashed elsewhere' });
    sync(a, b);
    assert.equal(b.get(n.id)!.trashed, true);
    assert.equal(b.get(n.id)!.body, 'edited while trashed elsewhere');
    assert.deepEqual(b.list().map((d) => d.id), []);
    assert.deepEqual(b.list({ trashed: true }).map((d) => d.id), [n.id]);
    b.restore(n.id);
    sync(a, b);
    assert.equal(a.get(n.id)!.trashed, false);
  });

  test('search finds live notes through SQLite FTS5 and follows edits from peers', () => {
    const a = device(A, 'sqlite');
    const b = device(B, 'sqlite');
    const n = a.create({ title: 'Recipes', body: 'Pancakes need buttermilk' });
    a.create({ title: 'Other', body: 'nothing here' });
    sync(a, b);
    assert.deepEqual(b.search('butter').map((h) => h.id), [n.id]);
    a.save(n.id, { body: 'Waffles need yeast' });
    sync(a, b);
    assert.deepEqual(b.search('butter'), []);
    assert.deepEqual(b.search('waff').map((h) => h.id), [n.id]);
    b.trash(n.id);
    assert.deepEqual(b.search('waff'), [], 'trashed notes are not found');
  });

  test('bad input is refused and changes nothing', () => {
    const a = device(A);
    const n = a.create({ body: 'x' });
    const seq = a.replica.seq();
    const root = Buffer.from(a.replica.tree.root().digest).toString('hex');
    assert.throws(() => a.save(n.id, { title: 'ok', body: 'y'.repeat(MAX_VALUE_BYTES + 1) }), { code: 'E_VALUE_TOO_LARGE' });
    assert.throws(() => a.save(n.id, { body: 'bad \ud800 surrogate' }), ValidationError);
    assert.throws(() => a.get('../etc'), { code: 'E_INVALID_KEY' });
    assert.throws(() => a.save('missing', { body: 'x' }), { code: 'E_NOT_FOUND' });
    assert.throws(() => a.create({}, n.id), { code: 'E_INVALID_KEY' });
    assert.equal(a.replica.seq(), seq);
    assert.equal(Buffer.from(a.replica.tree.root().digest).toString('hex'), root);
    assert.equal(a.get(n.id)!.title, '', 'the valid half of a refused save was not written either');
  });
});

describe('replica', () => {
  test('stamps stay monotonic across a restart even when the wall clock stepped back', () => {
    const file = join(dir, 'restart.db');
    let now = 2_000_000_000_000;
    const first = Replica.open(SqliteStore.open(file), { now: () => now });
    const before = first.write([{ key: 'k', value: '1' }])[0].state.versions[0];
    first.storage.close();
    now -= 3_600_000; // the laptop's clock was set back an hour
    const second = Replica.open(SqliteStore.open(file), { now: () => now });
    const afterRestart = second.write([{ key: 'k', value: '2' }])[0].state.versions[0];
    assert.ok(compareStamps({ wall: afterRestart.wall, counter: afterRestart.tick, device: afterRestart.device }, { wall: before.wall, counter: before.tick, device: before.device }) > 0);
    assert.equal(second.get('k')!.versions.length, 1, 'the later write superseded the earlier one');
    second.storage.close();
  });

  test('a peer clock far ahead still merges but cannot drag ours past the bound; skew is recorded', () => {
    const now = 2_000_000_000_000;
    const day = 24 * 3_600_000;
    const ahead = Replica.open(new MemoryStore(B), { now: () => now + 3 * day });
    const local = Replica.open(new MemoryStore(A), { now: () => now, maxAheadMs: day });
    local.apply(ahead.write([{ key: 'k', value: 'from the future' }]), 'gossip');
    assert.equal(local.get('k')!.versions[0].value, 'from the future');
    assert.ok(local.lastStamp()!.wall <= now + day, 'clock capped at now + bound');
    assert.deepEqual({ ...local.skew.get(B)!, at: 0 }, { aheadMs: 3 * day, capped: true, at: 0 });
    // A causally later local write still supersedes it, whatever the stamps say.
    local.write([{ key: 'k', value: 'local edit' }]);
    assert.deepEqual(local.get('k')!.versions.map((v) => v.value), ['local edit']);
  });

  test('counters record which path delivered each change, and listeners hear every commit', () => {
    const a = Replica.open(new MemoryStore(A), { now: clock });
    const b = Replica.open(new MemoryStore(B), { now: clock });
    const heard: string[] = [];
    b.onChange((e) => heard.push(`${e.origin}:${e.records.length}`));
    b.apply(a.write([{ key: 'g', value: '1' }]), 'gossip');
    a.write([{ key: 'x', value: '1' }, { key: 'y', value: '2' }]);
    syncPair(a, b);
    b.apply(a.write([{ key: 'g', value: '1' }]).map((r) => r), 'gossip');
    b.apply([{ key: 'g', state: a.get('g')! }], 'gossip'); // a duplicate changes nothing
    assert.deepEqual(b.counters, { local: 0, gossip: 2, 'anti-entropy': 2, import: 0, merge: 0 });
    assert.deepEqual(heard, ['gossip:1', 'anti-entropy:2', 'gossip:1']);
  });
});
