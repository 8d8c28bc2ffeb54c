// Base-aware saves, automatic 3-way merging of text fields and version history (issue 8), on
// real replicas synced by the real anti-entropy session (in memory and on SQLite files).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeRev, encodeRev } from '../engine/core/rev.ts';
import { merge3, mergeVersions } from '../engine/core/text-merge.ts';
import { noteKey, Notes, notesReplicaOptions } from '../engine/notes.ts';
import { Replica } from '../engine/replica.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { MIGRATIONS } from '../engine/store/migrations.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { syncPair } from '../engine/sync-pair.ts';
import { UNDO_TREE_SNAPSHOT } from './store-conformance.ts';

const dir = mkdtempSync(join(tmpdir(), 'merge-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let wall = 1_750_000_000_000;
const clock = (): number => (wall += 7);

const A = 'a1a1a1a1a1a1a1a1';
const B = 'b2b2b2b2b2b2b2b2';
const C = 'c3c3c3c3c3c3c3c3';
let files = 0;

function device(id: string, store: 'memory' | 'sqlite' = 'memory', file?: string): Notes {
  const storage = store === 'memory' ? new MemoryStore(id) : SqliteStore.open(file ?? join(dir, `${id}-${files++}.db`), { replicaId: id });
  return new Notes(Replica.open(storage, { now: clock, ...notesReplicaOptions() }));
}

function sync(x: Notes, y: Notes): void {
  const r = syncPair(x.replica, y.replica);
  assert.ok(r.ok, `session failed: ${r.error?.message}`);
}

const THREE = 'line one\nline two\nline three';

describe('rev and base', () => {
  test('a rev names the shown versions per field and round-trips; other spellings are refused', () => {
    const rev = { title: { shown: [{ device: A, counter: 3 }], other: [] }, body: { shown: [{ device: A, counter: 5 }, { device: B, counter: 2 }], other: [{ device: C, counter: 9 }] } };
    const s = encodeRev(rev);
    assert.equal(s, `${A}.3_.5,${B}.2!${C}.9`, 'a repeated device is written once');
    assert.deepEqual(decodeRev(s), rev);
    for (const bad of [42, '', 'x', `${A}.3`, `${A}.0_`, `${A}.03_`, `${A}.3_${A}.3_`, `${A}.3!!_`, `ZZ.3_`, `${B}.2,${A}.1_`, 'a'.repeat(5000)]) {
      assert.throws(() => decodeRev(bad), { code: 'E_INVALID_BASE' }, `refused: ${String(bad).slice(0, 40)}`);
    }
  });

  test('a malformed or unknown base is refused and changes nothing', () => {
    const a = device(A);
    const n = a.create({ title: 't', body: 'b' });
    const seq = a.replica.seq();
    assert.throws(() => a.save(n.id, { body: 'x' }, 'nonsense'), { code: 'E_INVALID_BASE' });
    assert.throws(() => a.save(n.id, { body: 'x' }, `${A}.1_${B}.7`), { code: 'E_UNKNOWN_BASE' });
    assert.throws(() => a.save(n.id, { body: 'x' }, `${A}.9_.1`), { code: 'E_UNKNOWN_BASE' });
    assert.equal(a.replica.seq(), seq);
    assert.equal(a.get(n.id)!.body, 'b');
  });

  test('"Why": a save with base keeps the edit it had not seen and merges it, on both devices', () => {
    for (const kind of ['memory', 'sqlite'] as const) {
      const a = device(A, kind);
      const b = device(B, kind);
      const n = a.create({ title: 'Plan', body: THREE });
      sync(a, b);
      const seenByA = a.get(n.id)!; // A's editor holds this text
      b.save(n.id, { body: 'line one\nline TWO (B)\nline three' }, b.get(n.id)!.rev);
      sync(a, b); // B's edit reaches A
      a.save(n.id, { body: 'line one\nline two\nline THREE (A)' }, seenByA.rev);
      sync(a, b);
      for (const x of [a, b]) {
        const got = x.get(n.id)!;
        assert.equal(got.body, 'line one\nline TWO (B)\nline THREE (A)', `${kind}: both edits on ${x.replica.replicaId}`);
        assert.deepEqual(got.conflicts, {}, 'no conflict');
      }
      assert.equal(a.replica.counters.merge, 1, 'A merged once');
      assert.equal(b.replica.counters.merge, 0, 'B took the merge from A');
      a.replica.storage.close();
      b.replica.storage.close();
    }
  });

  test('without base a save keeps its old meaning: it supersedes what the device holds', () => {
    const a = device(A);
    const b = device(B);
    const n = a.create({ body: THREE });
    sync(a, b);
    b.save(n.id, { body: 'line one\nline TWO (B)\nline three' });
    sync(a, b);
    a.save(n.id, { body: 'line one\nline two\nline THREE (A)' });
    sync(a, b);
    assert.equal(b.get(n.id)!.body, 'line one\nline two\nline THREE (A)');
    assert.ok(b.history(n.id).some((h) => h.text === 'line one\nline TWO (B)\nline three'), 'the overwritten version is in history');
  });

  test('overlapping edits with base stay a conflict, both kept, with a marked merge offered', () => {
    const a = device(A);
    const b = device(B);
    const n = a.create({ body: THREE });
    sync(a, b);
    const rev = a.get(n.id)!.rev;
    b.save(n.id, { body: 'line one\nline two by B\nline three' }, b.get(n.id)!.rev);
    sync(a, b);
    a.save(n.id, { body: 'line one\nline two by A\nline three' }, rev);
    sync(a, b);
    for (const x of [a, b]) {
      const got = x.get(n.id)!;
      assert.deepEqual(got.conflicts.body?.map((v) => v.value).sort(), ['line one\nline two by A\nline three', 'line one\nline two by B\nline three']);
      assert.equal(got.merged?.body, `line one\n<<<<<<<\nline two by A\n=======\nline two by B\n>>>>>>>\nline three`);
    }
  });

  test('a stale base on the same device merges disjoint edits and refuses overlapping ones', () => {
    const a = device(A);
    const n = a.create({ body: THREE });
    const rev = a.get(n.id)!.rev;
    a.save(n.id, { body: 'line ONE\nline two\nline three' }, rev); // another window
    a.save(n.id, { body: 'line one\nline two\nline THREE' }, rev);
    assert.equal(a.get(n.id)!.body, 'line ONE\nline two\nline THREE');
    const seq = a.replica.seq();
    assert.throws(() => a.save(n.id, { body: 'line one\nline two\nline 3' }, rev), { code: 'E_STALE_BASE' });
    assert.equal(a.replica.seq(), seq, 'nothing written');
  });

  test('a field sent unchanged from its base is not written over a newer edit', () => {
    const a = device(A);
    const b = device(B);
    const n = a.create({ title: 'T', body: THREE });
    sync(a, b);
    const rev = a.get(n.id)!.rev;
    b.save(n.id, { title: 'T by B' }, b.get(n.id)!.rev);
    sync(a, b);
    a.save(n.id, { title: 'T', body: 'changed' }, rev);
    assert.equal(a.get(n.id)!.title, 'T by B');
    assert.equal(a.get(n.id)!.body, 'changed');
  });

  test('a save with base, the history or a resolution of a note that does not exist: E_NOT_FOUND, nothing written', () => {
    const a = device(A);
    const n = a.create({ body: THREE });
    const seq = a.replica.seq();
    const missing = 'ffffffffffffffff';
    assert.throws(() => a.save(missing, { body: 'x' }, n.rev), { code: 'E_NOT_FOUND' });
    assert.throws(() => a.history(missing), { code: 'E_NOT_FOUND' });
    assert.throws(() => a.resolve(missing, 'body', 'x'), { code: 'E_NOT_FOUND' });
    assert.throws(() => a.history('NOT AN ID'), { code: 'E_INVALID_KEY' });
    assert.equal(a.replica.seq(), seq, 'nothing written');
    assert.equal(a.history(n.id).length, 0, 'an existing note without history: an empty list');
  });

  test('typing (a save from the current rev) reads no history; a save from an older rev still finds its base there', () => {
    const storage = SqliteStore.open(join(dir, `typing-${files++}.db`), { replicaId: A });
    const a = new Notes(Replica.open(storage, { now: clock, ...notesReplicaOptions() }));
    const reads = { history: 0, contexts: 0 };
    for (const m of ['history', 'contexts'] as const) {
      const read = storage[m].bind(storage) as (key: string) => never;
      storage[m] = ((key: string) => (reads[m]++, read(key))) as never;
    }
    let n = a.create({ body: THREE });
    const old = n.rev;
    for (const line of ['line ONE', 'line ONE!', 'line ONE!!']) n = a.save(n.id, { body: `${line}\nline two\nline three` }, n.rev);
    assert.deepEqual(reads, { history: 0, contexts: 0 }, 'three typing saves');
    assert.equal(a.history(n.id).length, 3, 'each save kept the text it replaced');
    reads.history = 0;
    n = a.save(n.id, { body: 'line one\nline two\nline THREE' }, old);
    assert.equal(n.body, 'line ONE!!\nline two\nline THREE', 'rebased onto the typing it had not seen');
    assert.ok(reads.history > 0 && reads.contexts > 0, `the old base was read from history (${JSON.stringify(reads)})`);
    storage.close();
  });
});

describe('automatic merge', () => {
  test('offline disjoint edits merge when the devices meet; concurrent merges converge without ping-pong', () => {
    const a = device(A);
    const b = device(B);
    const c = device(C);
    const n = a.create({ body: THREE });
    sync(a, b);
    sync(a, c);
    a.save(n.id, { body: 'line ONE\nline two\nline three' }, a.get(n.id)!.rev);
    b.save(n.id, { body: 'line one\nline two\nline THREE' }, b.get(n.id)!.rev);
    // Each side's edit reaches the other at the same time (two rumors crossing): both merge.
    const key = noteKey(n.id, 'body');
    const [fromA, fromB] = [a.replica.get(key)!, b.replica.get(key)!];
    a.replica.apply([{ key, state: fromB }], 'gossip');
    b.replica.apply([{ key, state: fromA }], 'gossip');
    assert.equal(a.replica.counters.merge, 1, 'A merged');
    assert.equal(b.replica.counters.merge, 1, 'B merged too, concurrently');
    const twins = b.replica.get(noteKey(n.id, 'body'))!;
    sync(a, b);
    assert.equal(a.replica.get(noteKey(n.id, 'body'))!.versions.length, 2, 'two merge writes with identical text');
    assert.equal(twins.versions.length, 1, 'before the next round B held only its own merge');
    sync(a, c);
    const expected = 'line ONE\nline two\nline THREE';
    const mergesBefore = [a, b, c].map((x) => x.replica.counters.merge);
    for (const [x, y] of [[a, b], [b, c], [a, c], [a, b]] as const) sync(x, y);
    for (const x of [a, b, c]) {
      const got = x.get(n.id)!;
      assert.equal(got.body, expected);
      assert.deepEqual(got.conflicts, {}, 'identical merged texts are not a conflict');
    }
    assert.deepEqual([a, b, c].map((x) => x.replica.counters.merge), mergesBefore, 'no merge after the first round: no ping-pong');
    const roots = [a, b, c].map((x) => JSON.stringify(x.replica.tree.root()));
    assert.equal(new Set(roots).size, 1, 'replicas converged');
    // The next edit supersedes the twin merges: one version again.
    a.save(n.id, { body: expected + '\nmore' }, a.get(n.id)!.rev);
    sync(a, b);
    assert.equal(b.replica.get(noteKey(n.id, 'body'))!.versions.length, 1);
  });

  test('edits anchored only on blank or repeated lines stay a conflict', () => {
    assert.equal(merge3('x\n\nB', '\n\n', 'A\n\ny').clean, false);
    assert.equal(merge3('- item\nA\n- item', '- item\n- item', '- item\n- item\nB').clean, false);
    const clean = merge3('one A\ntwo\nthree', 'one\ntwo\nthree', 'one\ntwo\nthree B');
    assert.deepEqual(clean, { clean: true, text: 'one A\ntwo\nthree B' });
    assert.deepEqual(merge3('same', 'base', 'same'), { clean: true, text: 'same' });
    assert.deepEqual(mergeVersions('a\nb\nc\nd\ne', ['A\nb\nc\nd\ne', 'a\nb\nC\nd\ne', 'a\nb\nc\nd\nE']), { clean: true, text: 'A\nb\nC\nd\nE' });
  });

  test('property: random disjoint line edits on two devices merge to one text with both, whatever the order', () => {
    const SEED = 0x8a8a;
    console.log(`# fast-check seed ${SEED}`);
    fc.assert(fc.property(
      fc.integer({ min: 4, max: 30 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      (size, ea, eb, aFirst) => {
        const base = Array.from({ length: size }, (_, i) => `line ${i} of the note`);
        // A edits even lines, B odd lines, never two neighbours: disjoint and anchored.
        const aLines = new Set(ea.map((x) => (x % Math.ceil(size / 4)) * 4).filter((i) => i < size));
        const bLines = new Set(eb.map((x) => (x % Math.ceil(size / 4)) * 4 + 2).filter((i) => i < size));
        const textA = base.map((l, i) => (aLines.has(i) ? `${l} edited on A` : l)).join('\n');
        const textB = base.map((l, i) => (bLines.has(i) ? `${l} edited on B` : l)).join('\n');
        const want = base.map((l, i) => (aLines.has(i) ? `${l} edited on A` : bLines.has(i) ? `${l} edited on B` : l)).join('\n');
        const results: string[] = [];
        for (const order of [aFirst, !aFirst]) {
          const a = device(A);
          const b = device(B);
          const n = a.create({ body: base.join('\n') });
          sync(a, b);
          a.save(n.id, { body: textA }, a.get(n.id)!.rev);
          b.save(n.id, { body: textB }, b.get(n.id)!.rev);
          if (order) sync(a, b);
          else sync(b, a);
          sync(a, b);
          for (const x of [a, b]) {
            const got = x.get(n.id)!;
            assert.deepEqual(got.conflicts, {});
            assert.equal(got.body, want);
            results.push(got.body);
          }
        }
        assert.equal(new Set(results).size, 1, 'same bytes on every device and order');
      },
    ), { seed: SEED, numRuns: 60 });
  });
});

describe('history', () => {
  test('superseded versions are listed with device, time and the superseding write, and survive reopening', () => {
    const file = join(dir, 'history.db');
    const a = device(A, 'sqlite', file);
    const n = a.create({ title: 'T', body: 'v1' });
    a.save(n.id, { body: 'v2' }, a.get(n.id)!.rev);
    a.save(n.id, { title: 'T2', body: 'v3' }, a.get(n.id)!.rev);
    const listed = a.history(n.id);
    a.replica.storage.close();
    assert.deepEqual(listed.map((h) => [h.field, h.text]).sort(), [['body', 'v1'], ['body', 'v2'], ['title', 'T']]);
    const v1 = listed.find((h) => h.text === 'v1')!;
    assert.equal(v1.device, A);
    assert.equal(v1.version, `${A}.1`);
    assert.deepEqual(v1.supersededBy, [`${A}.2`]);
    assert.ok(v1.time > 0 && v1.supersededAt >= v1.time);
    const again = device(A, 'sqlite', file);
    assert.deepEqual(again.history(n.id), listed);
    // Restoring is a normal save with base.
    again.save(n.id, { body: 'v1' }, again.get(n.id)!.rev);
    assert.equal(again.get(n.id)!.body, 'v1');
    assert.ok(again.history(n.id).some((h) => h.text === 'v3'));
    again.replica.storage.close();
  });

  test('property: bounding a history keeps the same versions and contexts on both stores (ties on time included)', () => {
    const SEED = 0x4b1d;
    console.log(`# fast-check seed ${SEED}`);
    const devices = [A, B, C];
    const entry = fc.record({ device: fc.constantFrom(...devices), counter: fc.integer({ min: 1, max: 40 }), at: fc.integer({ min: 1, max: 12 }) });
    fc.assert(fc.property(
      fc.uniqueArray(entry, { minLength: 0, maxLength: 30, selector: (e) => `${e.device}.${e.counter}` }),
      fc.integer({ min: 0, max: 35 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 3 }),
      (entries, keep, before, currentCount) => {
        const key = 'note/x/body';
        const history = entries.map((e) => ({ key, ...e, wall: e.at, tick: 0, value: `v ${e.device} ${e.counter}`, supersededBy: [], at: e.at }));
        // Contexts for every kept version, a few current versions, and one version in neither.
        const current = Array.from({ length: currentCount }, (_, i) => ({ device: devices[i], counter: 100 + i }));
        const contexts = [...entries, ...current, { device: C, counter: 99 }].map((d) => ({ key, device: d.device, counter: d.counter, context: { [d.device]: d.counter } }));
        const stores = [new MemoryStore(A), SqliteStore.open(join(dir, `prune-${files++}.db`), { replicaId: A })];
        const after = stores.map((st) => {
          st.commit({ puts: [], history, contexts });
          st.commit({ puts: [], prune: [{ key, keep, before, current }] });
          const out = {
            history: st.history(key).map((h) => `${h.at}/${h.device}.${h.counter}`),
            contexts: st.contexts(key).map((c) => `${c.device}.${c.counter}`).sort(),
          };
          st.close();
          return out;
        });
        assert.deepEqual(after[1], after[0], 'SQLite prunes as the reference store does');
        assert.ok(after[0].history.length <= keep, 'at most keep versions stay');
      },
    ), { seed: SEED, numRuns: 150 });
  });

  test('history is bounded per field', () => {
    const a = new Notes(Replica.open(new MemoryStore(A), { now: clock, ...notesReplicaOptions(), history: { keys: (k) => k.endsWith('/body'), limits: { keep: 5, maxAgeMs: 1e12 } } }));
    const n = a.create({ body: 'v0' });
    for (let i = 1; i <= 20; i++) a.save(n.id, { body: `v${i}` }, a.get(n.id)!.rev);
    assert.deepEqual(a.history(n.id).map((h) => h.text), ['v19', 'v18', 'v17', 'v16', 'v15']);
  });

  test('history older than the age bound is dropped, except while the field has a conflict', () => {
    let now = 1_800_000_000_000;
    const DAY = 24 * 3600 * 1000;
    const opts = notesReplicaOptions();
    const limits = { keep: 100, maxAgeMs: 10 * DAY };
    const a = new Notes(Replica.open(new MemoryStore(A), { ...opts, now: () => now, history: { keys: opts.history!.keys, limits } }));
    const b = new Notes(Replica.open(new MemoryStore(B), { ...opts, now: () => now, history: { keys: opts.history!.keys, limits } }));
    const n = a.create({ body: 'one\ntwo' });
    a.save(n.id, { body: 'one\ntwo\nthree' }, a.get(n.id)!.rev);
    now += 11 * DAY;
    a.save(n.id, { body: 'one\ntwo\nthree\nfour' }, a.get(n.id)!.rev);
    assert.deepEqual(a.history(n.id).filter((h) => h.field === 'body').map((h) => h.text), ['one\ntwo\nthree'], 'the 11-day-old version is gone');
    // While the field has a conflict nothing is pruned: a merge may need any ancestor.
    sync(a, b);
    a.save(n.id, { body: 'ONE\ntwo\nthree\nfour' }, a.get(n.id)!.rev);
    b.save(n.id, { body: 'Uno\ntwo\nthree\nfour' }, b.get(n.id)!.rev);
    const key = noteKey(n.id, 'body');
    a.replica.apply([{ key, state: b.replica.get(key)! }]);
    assert.equal(a.get(n.id)!.conflicts.body?.length, 2, 'overlapping edits: a conflict');
    now += 30 * DAY;
    const typing = a.get(n.id)!;
    a.save(n.id, { body: `${typing.body}\nsix` }, typing.rev); // typing on in the conflicted note
    assert.ok(a.history(n.id).some((h) => h.text === 'one\ntwo\nthree\nfour'), 'a 30-day-old ancestor kept during the conflict');
    a.resolve(n.id, 'body', 'resolved');
    assert.deepEqual(a.history(n.id).filter((h) => h.field === 'body' && h.supersededAt < now - limits.maxAgeMs), [], 'pruned once resolved');
  });

  test('a store made before the history step upgrades and keeps history from then on', () => {
    const file = join(dir, 'old.db');
    SqliteStore.open(file, { replicaId: A }).close();
    // Turn it back into a store of the format before this step.
    const db = new DatabaseSync(file);
    db.exec(`DROP TABLE history; DROP TABLE version_contexts; ${UNDO_TREE_SNAPSHOT}`);
    const step = MIGRATIONS.findIndex((m) => m.what.startsWith('version history'));
    db.exec(`PRAGMA user_version = ${step + 1}`);
    db.close();
    const a = device(A, 'sqlite', file);
    const n = a.create({ body: 'old' });
    a.save(n.id, { body: 'new' }, a.get(n.id)!.rev);
    assert.deepEqual(a.history(n.id).map((h) => h.text), ['old']);
    a.replica.storage.close();
  });
});
