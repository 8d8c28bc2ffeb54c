// What every Storage must do, whatever keeps the bytes. Each implementation registers this suite
// (see store.test.ts); a behaviour the replica relies on belongs here, not in one store's tests.

import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import fc from 'fast-check';
import type { Stamp } from '../engine/core/clock.ts';
import { decodeRecord, encodeRecord, leafHash } from '../engine/core/codec.ts';
import { ValidationError } from '../engine/core/errors.ts';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../engine/core/limits.ts';
import { merge, statesEqual, writeDelta, type KeyState } from '../engine/core/record.ts';
import type { DocEntry, Put, Storage } from '../engine/store/store.ts';

export interface StoreFixture {
  store: Storage;
  /** Closes nothing itself: the suite closes `store` first, then expects the same data back. */
  reopen?: () => Promise<Storage>;
  /** Closes whatever is still open and removes every file. */
  cleanup: () => Promise<void>;
}

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccc';
const ALL = Number.MAX_SAFE_INTEGER;

function stamp(wall: number, device = A, counter = 0): Stamp {
  return { wall, counter, device };
}

/** A put plus the leaf hash the store must report for it. */
/** SQL that takes a SqliteStore file back to before the tree-snapshot step (issue 11), for tests of older steps. */
export const UNDO_TREE_SNAPSHOT = 'DROP TABLE tree_snapshot;';

export function putOf(key: string, state: KeyState): Put & { readonly hash: Uint8Array } {
  return { key, state, hash: leafHash(encodeRecord({ key, state })) };
}

function write(key: string, value: string | null, wall: number, device = A, prior?: KeyState): Put & { readonly hash: Uint8Array } {
  return putOf(key, writeDelta(prior, stamp(wall, device), value));
}

function doc(id: string, updated: number, fields: Partial<DocEntry> = {}): DocEntry {
  return { id, title: `title ${id}`, body: `body of ${id}`, updated, created: 1, trashed: false, conflicted: false, ...fields };
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Everything observable through the interface, for "nothing changed" and "it all came back". */
function snapshot(store: Storage, keys: string[], replicas: string[]) {
  return {
    seq: store.seq(),
    changes: store.changesSince(0, ALL),
    hashes: [...store.scanHashes()].map(([k, h]) => `${k}=${hex(h)}`).sort(),
    states: keys.map((k) => store.get(k)),
    clock: store.clock(),
    cursors: replicas.map((r) => store.cursor(r)),
    live: store.listDocs({ trashed: false }),
    trash: store.listDocs({ trashed: true }),
    search: store.search('body'),
  };
}

function assertSameState(actual: KeyState | undefined, expected: KeyState, what: string): void {
  assert.ok(statesEqual(actual, expected), `${what}: got ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`);
}

export function storeConformance(name: string, make: () => Promise<StoreFixture>): void {
  /** Runs `body` against a fresh store and always cleans up, even when an assertion fails. */
  const withStore = (body: (f: StoreFixture, t: TestContext) => Promise<void> | void) => async (t: TestContext) => {
    const f = await make();
    try {
      await body(f, t);
    } finally {
      await f.cleanup();
    }
  };

  describe(`Storage conformance: ${name}`, () => {
    test('a new store is empty and has a device id', withStore(({ store }) => {
      assert.match(store.replicaId, /^[0-9a-f]{16}$/);
      assert.equal(store.seq(), 0);
      assert.equal(store.get('k'), undefined);
      assert.deepEqual(store.changesSince(0, 10), []);
      assert.deepEqual([...store.scanHashes()], []);
      assert.equal(store.clock(), null);
      assert.equal(store.cursor(B), undefined);
      assert.equal(store.getDoc('n'), undefined);
      assert.deepEqual(store.listDocs(), []);
      assert.deepEqual(store.search('anything'), []);
    }));

    test('get returns exactly the state that was committed', withStore(({ store }) => {
      const single = writeDelta(undefined, stamp(1000), 'hello');
      const conflict = merge(writeDelta(undefined, stamp(2000, A), 'mine'), writeDelta(undefined, stamp(2001, B), 'theirs'));
      const deleted = writeDelta(single, stamp(3000, C, 7), null);
      const unicode = writeDelta(undefined, stamp(4000), 'naïve 🦊 \u0000 text');
      assert.equal(conflict.versions.length, 2, 'fixture: concurrent writes keep both versions');
      store.commit({ puts: [putOf('one', single), putOf('two', conflict), putOf('gone', deleted), putOf('ü/🦊', unicode)] });
      assertSameState(store.get('one'), single, 'single');
      assertSameState(store.get('two'), conflict, 'conflict');
      assertSameState(store.get('gone'), deleted, 'tombstone');
      assertSameState(store.get('ü/🦊'), unicode, 'unicode key and value');
      assert.equal(store.get('three'), undefined);

      const later = writeDelta(conflict, stamp(5000, C), 'resolved');
      store.commit({ puts: [putOf('two', later)] });
      assertSameState(store.get('two'), later, 'overwrite');

      const many = store.getMany(['ü/🦊', 'three', 'two', 'one', 'two', 'a"quote\\', '']);
      assert.deepEqual([...many.keys()].sort(), ['one', 'two', 'ü/🦊'].sort(), 'getMany returns the stored keys asked for, each once');
      assertSameState(many.get('two'), later, 'getMany: overwrite');
      assertSameState(many.get('ü/🦊'), unicode, 'getMany: unicode key and value');
      assertSameState(many.get('one'), single, 'getMany: single');
      assert.equal(store.getMany([]).size, 0);
      assertSameState(store.getMany(['two']).get('two'), later, 'getMany: one key');
      assert.equal(store.getMany(['three']).size, 0, 'getMany: one key not stored');
    }));

    test('every put gets the next sequence number, and only puts do', withStore(({ store }) => {
      store.commit({ puts: [write('a', 'x', 1)] });
      assert.equal(store.seq(), 1);
      store.commit({ puts: [write('b', 'x', 2), write('c', 'x', 3), write('b', 'y', 4)] });
      assert.equal(store.seq(), 4, 'each put in a batch counts, even two for one key');
      store.commit({ puts: [], docs: [doc('n', 1)], clock: stamp(9), cursors: [{ replica: B, seq: 3 }] });
      assert.equal(store.seq(), 4, 'docs, clock and cursors are not changes');
      const seqs = store.changesSince(0, ALL).map((c) => c.seq);
      assert.deepEqual(seqs, [1, 3, 4]);
    }));

    test('changesSince lists each key once, at its newest seq, ascending and limited', withStore(({ store }) => {
      store.commit({ puts: [write('a', '1', 1), write('b', '1', 2), write('c', '1', 3)] });
      store.commit({ puts: [write('a', '2', 4)] });
      assert.deepEqual(store.changesSince(0, ALL), [{ key: 'b', seq: 2 }, { key: 'c', seq: 3 }, { key: 'a', seq: 4 }]);
      assert.deepEqual(store.changesSince(2, ALL), [{ key: 'c', seq: 3 }, { key: 'a', seq: 4 }]);
      assert.deepEqual(store.changesSince(0, 2), [{ key: 'b', seq: 2 }, { key: 'c', seq: 3 }]);
      assert.deepEqual(store.changesSince(1, 1), [{ key: 'b', seq: 2 }], 'a stale entry does not use up the limit');
      assert.deepEqual(store.changesSince(4, ALL), []);
      assert.deepEqual(store.changesSince(0, 0), []);
    }));

    test('changesSince matches a model under many rewrites', withStore(({ store }) => {
      // Enough rewrites of few keys that a log which keeps stale entries must compact them.
      const newest = new Map<string, number>();
      let seq = 0;
      // Keys written once, first: compaction must never drop a change that is still the newest.
      const quiet = Array.from({ length: 20 }, (_, i) => write(`quiet${i}`, 'v', i + 1));
      store.commit({ puts: quiet });
      for (const p of quiet) newest.set(p.key, ++seq);
      for (let round = 0; round < 60; round++) {
        const puts = Array.from({ length: 50 }, (_, i) => write(`k${(round * 7 + i * 13) % 37}`, `${round}.${i}`, round * 100 + i));
        store.commit({ puts });
        for (const p of puts) newest.set(p.key, ++seq);
      }
      const model = [...newest].map(([key, s]) => ({ key, seq: s })).sort((x, y) => x.seq - y.seq);
      assert.equal(store.seq(), seq);
      assert.deepEqual(store.changesSince(0, ALL), model);
      const mid = model[10].seq;
      assert.deepEqual(store.changesSince(mid, 5), model.filter((c) => c.seq > mid).slice(0, 5));
      assert.deepEqual(store.changesSince(mid - 1, ALL), model.filter((c) => c.seq > mid - 1));
    }));

    test('scanHashes lists every key with the hash last put for it', withStore(({ store }) => {
      const puts = Array.from({ length: 100 }, (_, i) => write(`key/${i}`, `v${i}`, i + 1));
      assert.deepEqual(store.commit({ puts }).map(hex), puts.map((p) => hex(p.hash)), 'commit returns the leaf hashes in order');
      const rewritten = write('key/5', 'changed', 500);
      store.commit({ puts: [rewritten] });
      const expected = new Map(puts.map((p) => [p.key, hex(p.hash)]));
      expected.set('key/5', hex(rewritten.hash));
      const scanned = new Map([...store.scanHashes()].map(([k, h]) => [k, hex(h)]));
      assert.deepEqual(scanned, expected);
    }));

    test('a snapshot streams every record as encodeRecord writes it, in key order, as of when it was taken', withStore(({ store }) => {
      const keys = ['b/2', 'a/1', 'c/3', 'a/10', 'b/1'];
      store.commit({ puts: keys.map((k, i) => write(k, `value of ${k}`, i + 1)) });
      store.commit({ puts: [write('a/1', 'rewritten', 50)] });
      const expected = [...keys].sort().map((key) => ({ key, bytes: hex(encodeRecord({ key, state: store.get(key)! })) }));
      const snap = store.snapshot();
      // Written after the snapshot: in the store, not in the snapshot.
      store.commit({ puts: [write('a/1', 'after', 60), write('d/4', 'after', 61)] });
      try {
        assert.equal(snap.count, keys.length);
        assert.equal(snap.bytes, expected.reduce((n, e) => n + e.bytes.length / 2, 0));
        assert.deepEqual([...snap.records()].map((r) => ({ key: r.key, bytes: hex(r.encoded) })), expected);
      } finally {
        snap.close();
      }
      snap.close();
      const later = store.snapshot();
      try {
        assert.equal(decodeRecord(later.records()[Symbol.iterator]().next().value!.encoded).state.versions[0].value, 'after');
      } finally {
        later.close();
      }
    }));

    test('the clock and cursors keep their last committed values', withStore(({ store }) => {
      store.commit({ puts: [], clock: stamp(1000, A, 2), cursors: [{ replica: B, seq: 10 }, { replica: C, seq: 3 }] });
      assert.deepEqual(store.clock(), stamp(1000, A, 2));
      store.commit({ puts: [write('k', 'v', 1)], clock: stamp(1001, A, 0), cursors: [{ replica: B, seq: 12 }] });
      assert.deepEqual(store.clock(), stamp(1001, A, 0));
      assert.equal(store.cursor(B), 12);
      assert.equal(store.cursor(C), 3, 'a cursor not in the batch is untouched');
      store.commit({ puts: [] });
      assert.deepEqual(store.clock(), stamp(1001, A, 0), 'a batch without a clock keeps the old one');
    }));

    test('docs are upserted by id and listed newest first, live or trashed', withStore(({ store }) => {
      store.commit({ puts: [], docs: [doc('old', 100), doc('new', 300), doc('mid', 200), doc('bin', 400, { trashed: true })] });
      assert.deepEqual(store.getDoc('mid'), doc('mid', 200));
      assert.deepEqual(store.listDocs().map((d) => d.id), ['bin', 'new', 'mid', 'old'], 'without a filter: every doc');
      assert.deepEqual(store.listDocs({ trashed: false }).map((d) => d.id), ['new', 'mid', 'old']);
      assert.deepEqual(store.listDocs({ trashed: true }).map((d) => d.id), ['bin']);
      assert.deepEqual(store.listDocs({ trashed: false, limit: 2 }).map((d) => d.id), ['new', 'mid']);
      assert.deepEqual(store.listDocs({ trashed: false, limit: 2, offset: 1 }).map((d) => d.id), ['mid', 'old']);
      assert.deepEqual(store.listDocs({ trashed: false, offset: 2 }).map((d) => d.id), ['old']);
      assert.deepEqual(store.listDocs({ limit: 1, offset: 1 }).map((d) => d.id), ['new']);

      const edited = doc('old', 500, { title: 'Edited', conflicted: true });
      store.commit({ puts: [], docs: [edited, doc('new', 300, { trashed: true })] });
      assert.deepEqual(store.getDoc('old'), edited);
      assert.deepEqual(store.listDocs({ trashed: false }).map((d) => d.id), ['old', 'mid']);
      assert.deepEqual(store.listDocs({ trashed: true }).map((d) => d.id), ['bin', 'new']);
    }));

    test('keyset pages: each doc once, and a page boundary holds while docs above it change', withStore(({ store }) => {
      // Ties on `updated` span page boundaries: ordering within one millisecond is by id.
      const docs = Array.from({ length: 23 }, (_, i) => doc(`n${String(i).padStart(2, '0')}`, 1000 + Math.floor(i / 3)));
      store.commit({ puts: [], docs: [...docs, doc('bin', 1005, { trashed: true })] });
      const expected = store.listDocs({ trashed: false }).map((d) => d.id);
      assert.equal(expected.length, 23);
      const seen: string[] = [];
      let after: { updated: number; id: string } | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const page = store.listDocs({ trashed: false, limit: 4, after });
        if (page.length === 0) break;
        seen.push(...page.map((d) => d.id));
        const last = page.at(-1)!;
        after = { updated: last.updated, id: last.id };
        // A note above the boundary changes (moves to the top) and a new one appears: the next
        // page still starts right after the last doc returned.
        if (pages === 1) store.commit({ puts: [], docs: [doc(seen[0], 5000, { title: 'edited' }), doc('zz-new', 5001)] });
      }
      assert.deepEqual(seen, expected, 'every doc exactly once, in list order');
      assert.deepEqual(store.listDocs({ trashed: true, after: { updated: 1006, id: '' } }).map((d) => d.id), ['bin']);
      assert.deepEqual(store.listDocs({ after: { updated: 1001, id: 'n04' }, limit: 3 }).map((d) => d.id), ['n05', 'n00', 'n01'], 'without a filter, trashed included');
      assert.deepEqual(store.listDocs({ trashed: false, after: { updated: 0, id: '' } }), [], 'past the oldest');
    }));

    test('conflicted filters the list, newest first, live and trashed', withStore(({ store }) => {
      store.commit({ puts: [], docs: [doc('a', 1, { conflicted: true }), doc('b', 2), doc('c', 3, { conflicted: true, trashed: true }), doc('d', 4, { conflicted: true })] });
      assert.deepEqual(store.listDocs({ conflicted: true }).map((d) => d.id), ['d', 'c', 'a']);
      assert.deepEqual(store.listDocs({ conflicted: true, trashed: false }).map((d) => d.id), ['d', 'a']);
      assert.deepEqual(store.listDocs({ conflicted: false }).map((d) => d.id), ['b']);
      store.commit({ puts: [], docs: [doc('d', 5)] });
      assert.deepEqual(store.listDocs({ conflicted: true }).map((d) => d.id), ['c', 'a'], 'a resolved note leaves the conflicts list');
      assert.deepEqual(store.listDocs({ conflicted: true, limit: 1, after: { updated: 3, id: 'c' } }).map((d) => d.id), ['a']);
    }));

    test('a malformed keyset position is refused as invalid input', withStore(({ store }) => {
      store.commit({ puts: [], docs: [doc('a', 1)] });
      for (const after of [null, { updated: -1, id: 'a' }, { updated: 1.5, id: 'a' }, { updated: 1 }, { updated: 1, id: 7 }, { updated: 1, id: '\uD800' }]) {
        assert.throws(() => store.listDocs({ after: after as never }), { name: 'ValidationError', code: 'E_INVALID_VALUE' }, JSON.stringify(after));
      }
      assert.throws(() => store.listDocs({ after: { updated: 1, id: 'a' }, offset: 1 }), { name: 'ValidationError', code: 'E_INVALID_VALUE' });
      assert.deepEqual(store.listDocs().map((d) => d.id), ['a'], 'nothing changed');
    }));

    test('search pages by offset over the same ranking', withStore(({ store }) => {
      store.commit({ puts: [], docs: Array.from({ length: 7 }, (_, i) => doc(`s${i}`, 100 + i, { body: `apple number ${i}` })) });
      const all = store.search('apple', 50).map((h) => h.id);
      assert.equal(all.length, 7);
      const paged = [...store.search('apple', 3, 0), ...store.search('apple', 3, 3), ...store.search('apple', 3, 6)].map((h) => h.id);
      assert.deepEqual(paged, all);
      assert.deepEqual(store.search('apple', 3, 7), []);
    }));

    test('docs with equal update times list in a stable order', withStore(({ store }) => {
      store.commit({ puts: [], docs: [doc('b', 7), doc('c', 7), doc('a', 7)] });
      assert.deepEqual(store.listDocs().map((d) => d.id), ['a', 'b', 'c']);
    }));

    test('search finds live notes by word prefix, case- and accent-insensitively', withStore(({ store }) => {
      store.commit({
        puts: [],
        docs: [
          doc('recipe', 3, { title: 'Crème brûlée', body: 'Caramelise the sugar with a blowtorch.' }),
          doc('trip', 2, { title: 'Lisbon trip', body: 'Pastéis de nata near the tram stop. Buy sugar.' }),
          doc('old', 1, { title: 'Sugar notes', body: 'Thrown away.', trashed: true }),
        ],
      });
      const ids = (q: string) => store.search(q).map((h) => h.id).sort();
      assert.deepEqual(ids('sug'), ['recipe', 'trip'], 'prefix, and the trashed note is not found');
      assert.deepEqual(ids('SUGAR blow'), ['recipe'], 'every word must match');
      assert.deepEqual(ids('creme'), ['recipe'], 'accents fold');
      assert.deepEqual(ids('lis tram'), ['trip'], 'words may match in title or body');
      assert.deepEqual(ids('ugar'), [], 'a prefix, not a substring');
      assert.deepEqual(ids('sugar zebra'), []);
      const hit = store.search('blowtorch')[0];
      assert.equal(hit.title, 'Crème brûlée');
      assert.match(hit.snippet, /blowtorch/);
    }));

    test('search follows edits and trashing', withStore(({ store }) => {
      store.commit({ puts: [], docs: [doc('n', 1, { title: 'Draft', body: 'apples' })] });
      assert.equal(store.search('apples').length, 1);
      store.commit({ puts: [], docs: [doc('n', 2, { title: 'Draft', body: 'pears' })] });
      assert.deepEqual(store.search('apples'), [], 'the old text is no longer indexed');
      assert.equal(store.search('pears').length, 1);
      store.commit({ puts: [], docs: [doc('n', 3, { title: 'Draft', body: 'pears', trashed: true })] });
      assert.deepEqual(store.search('pears'), []);
      store.commit({ puts: [], docs: [doc('n', 4, { title: 'Draft', body: 'pears', trashed: false })] });
      assert.equal(store.search('pears').length, 1, 'restored from the trash, found again');
    }));

    test('a title match ranks above a body-only match, and limit caps the hits', withStore(({ store }) => {
      store.commit({
        puts: [],
        docs: [
          doc('body', 9, { title: 'Misc', body: 'a long list of things, one of them is a budget, then more words' }),
          doc('title', 1, { title: 'Budget 2025', body: 'numbers' }),
        ],
      });
      assert.deepEqual(store.search('budget').map((h) => h.id), ['title', 'body']);
      assert.deepEqual(store.search('budget', 1).map((h) => h.id), ['title']);
    }));

    test('search treats any text as words, never as query syntax', withStore(({ store }) => {
      store.commit({ puts: [], docs: [doc('n', 1, { title: 'title and or not', body: 'near quotes "x" 🦊 fox' })] });
      for (const hostile of ['"', '""', 'AND OR NOT (', ')', '*', '**', 'title:', 'title:and', 'NEAR(', '^', '-', '+', '{title}:x', '', '   ', '🦊', '\u0301', 'x" OR "y', "'; DROP TABLE docs; --"]) {
        assert.doesNotThrow(() => store.search(hostile), `search(${JSON.stringify(hostile)})`);
      }
      assert.deepEqual(store.search(''), []);
      assert.deepEqual(store.search('🦊'), [], 'no words in it, so nothing to match');
      assert.deepEqual(store.search('AND OR NOT').map((h) => h.id), ['n'], 'operators are ordinary words');
      assert.deepEqual(store.search('title:').map((h) => h.id), ['n'], 'a column filter is a word');
      assert.deepEqual(store.search('"fox').map((h) => h.id), ['n']);
    }));

    test('search never throws on arbitrary text', withStore(({ store }) => {
      store.commit({ puts: [], docs: [doc('n', 1, { title: 'some title', body: 'some body text' })] });
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
          const hits = store.search(text);
          assert.ok(Array.isArray(hits));
        }),
        { numRuns: 300 },
      );
    }));

    test('an invalid batch throws ValidationError and changes nothing', withStore(({ store }) => {
      const first = write('kept', 'v1', 1);
      store.commit({ puts: [first], docs: [doc('d', 1)], clock: stamp(1), cursors: [{ replica: B, seq: 1 }] });
      const keys = ['kept', 'fresh', 'x'.repeat(MAX_KEY_BYTES + 1), 'big', 'huge', 'bad'];
      const before = snapshot(store, keys, [B, C]);
      const good = { puts: [write('kept', 'v2', 2, A, first.state), write('fresh', 'v', 3)], docs: [doc('d', 2, { body: 'changed' }), doc('e', 3)], clock: stamp(9), cursors: [{ replica: B, seq: 5 }, { replica: C, seq: 1 }] };
      const threeVersions = merge(merge(writeDelta(undefined, stamp(1, A), 'a'.repeat(MAX_VALUE_BYTES)), writeDelta(undefined, stamp(1, B), 'b'.repeat(MAX_VALUE_BYTES))), writeDelta(undefined, stamp(1, C), 'c'.repeat(MAX_VALUE_BYTES)));
      const cases: [string, object][] = [
        ['key over the limit', { ...good, puts: [...good.puts, write('x'.repeat(MAX_KEY_BYTES + 1), 'v', 5)] }],
        ['empty key', { ...good, puts: [...good.puts, write('', 'v', 5)] }],
        ['value over the limit', { ...good, puts: [...good.puts, write('big', 'x'.repeat(MAX_VALUE_BYTES + 1), 5)] }],
        ['record over the limit', { ...good, puts: [...good.puts, putOf('huge', threeVersions)] }],
        ['state with a bad device id', { ...good, puts: [...good.puts, { key: 'bad', state: { context: { nothex: 1 }, versions: [] }, hash: new Uint8Array(16) }] }],
        ['doc with a numeric title', { ...good, docs: [...good.docs, { ...doc('f', 1), title: 42 }] }],
        ['doc with a string timestamp', { ...good, docs: [...good.docs, { ...doc('f', 1), updated: '5' }] }],
        ['doc with a non-boolean flag', { ...good, docs: [...good.docs, { ...doc('f', 1), trashed: 0 }] }],
        ['clock with a bad device', { ...good, clock: { wall: 1, counter: 0, device: 'me' } }],
        ['negative cursor', { ...good, cursors: [{ replica: B, seq: -1 }] }],
      ];
      for (const [what, batch] of cases) {
        assert.throws(() => store.commit(batch as never), ValidationError, what);
        assert.deepEqual(snapshot(store, keys, [B, C]), before, `${what}: the store changed`);
      }
      store.commit(good);
      assert.equal(store.seq(), before.seq + 2, 'refused batches used up no sequence numbers');
    }));

    test('close is idempotent and the store refuses use afterwards', withStore(({ store }) => {
      store.close();
      store.close();
      for (const use of [() => store.get('k'), () => store.commit({ puts: [] }), () => store.seq(), () => store.changesSince(0, 1), () => store.scanHashes(), () => store.clock(), () => store.listDocs(), () => store.search('x')]) {
        assert.throws(use, { name: 'StoreError', code: 'E_STORE_CLOSED' });
      }
    }));

    test('everything survives close and reopen', withStore(async ({ store, reopen }, t) => {
      if (reopen === undefined) {
        t.skip(`${name} cannot be reopened`);
        return;
      }
      const keys = ['a', 'b', 'c'];
      const conflict = merge(writeDelta(undefined, stamp(10, A), 'x'), writeDelta(undefined, stamp(11, B), 'y'));
      store.commit({ puts: [write('a', '1', 1), putOf('b', conflict), write('c', null, 3)], docs: [doc('d', 5, { body: 'persistent body' }), doc('t', 6, { trashed: true })], clock: stamp(12, A, 3), cursors: [{ replica: B, seq: 40 }] });
      store.commit({ puts: [write('a', '2', 13)] });
      const before = snapshot(store, keys, [B, C]);
      const id = store.replicaId;
      store.close();
      const again = await reopen();
      assert.equal(again.replicaId, id);
      assert.deepEqual(snapshot(again, keys, [B, C]), before);
      assert.deepEqual(again.search('persist').map((h) => h.id), ['d']);
      again.commit({ puts: [write('d', 'v', 14)] });
      assert.equal(again.seq(), before.seq + 1, 'sequence numbers continue after reopen');
    }));
  });
}
