// merge() properties over reachable states (see test/histories.ts). merge() is the one function
// every sync path goes through, so if it is not a proper join of version sets, replicas diverge
// or a note edited on two laptops loses one of the edits.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareStamps } from '../engine/core/clock.ts';
import { EMPTY_STATE, editDelta, fateOf, merge, stampOf, statesEqual, winner, writeDelta, type KeyState } from '../engine/core/record.ts';
import {
  DEVICES, KEYS, dotOf, dotsOf, keysOf, localWrite, mergeInto, opsArb, replay, unsupersededWrites, valueArb, type History,
} from './histories.ts';
import { Prng } from './prng.ts';

const SEED = 0x0dd_ba11;
const RUNS = { seed: SEED, numRuns: 500 };

const show = (s: KeyState | undefined) => JSON.stringify(s);

// Histories are generated as operation lists and replayed inside each property: the replay is
// mutated by the property (more writes), and fast-check re-runs a value while shrinking, so a
// shared History object would carry one run's writes into the next. It also keeps
// counterexamples short: a list of operations rather than every state.
const historyArb = opsArb(30);
// Histories that also type on in conflicted keys, for properties every reachable state must have.
const anyHistoryArb = opsArb(30, true);
// Indexes into a history's snapshots, reduced modulo their number once it is known.
const pickArb = fc.nat({ max: 1_000_000 });

/** States of one key only: merge() is defined per key. */
function pickOfKey(h: History, key: string, n: number): KeyState {
  const ofKey = h.snapshots.filter((s) => s.key === key);
  return ofKey.length === 0 ? EMPTY_STATE : ofKey[n % ofKey.length].state;
}

function assertCanonical(s: KeyState): void {
  for (let i = 1; i < s.versions.length; i++) {
    assert.ok(compareStamps(stampOf(s.versions[i - 1]), stampOf(s.versions[i])) > 0, `versions not winner first: ${show(s)}`);
  }
  const devices = Object.keys(s.context);
  assert.deepEqual(devices, [...devices].sort(), 'context not sorted by device');
  for (const v of s.versions) assert.ok((s.context[v.device] ?? 0) >= v.counter, `version outside its context: ${show(s)}`);
}

test('merge is commutative, associative and idempotent on reachable states', () => {
  fc.assert(
    fc.property(anyHistoryArb, fc.constantFrom(...KEYS), pickArb, pickArb, pickArb, (ops, key, i, j, k) => {
      const h = replay(ops);
      const a = pickOfKey(h, key, i);
      const b = pickOfKey(h, key, j);
      const c = pickOfKey(h, key, k);
      assert.ok(statesEqual(merge(a, b), merge(b, a)), `commutativity:\n${show(a)}\n${show(b)}`);
      assert.ok(statesEqual(merge(merge(a, b), c), merge(a, merge(b, c))), 'associativity');
      assert.ok(statesEqual(merge(a, a), a), 'idempotence');
      assert.ok(statesEqual(merge(a, merge(a, b)), merge(a, b)), 'absorption');
      assert.ok(statesEqual(merge(a, undefined), a) && statesEqual(merge(undefined, a), a), 'undefined is the identity');
    }),
    RUNS,
  );
});

test('merge results are canonical: versions winner first by stamp, contexts sorted', () => {
  fc.assert(
    fc.property(anyHistoryArb, fc.constantFrom(...KEYS), pickArb, pickArb, (ops, key, i, j) => {
      const h = replay(ops);
      for (const s of h.snapshots) assertCanonical(s.state);
      assertCanonical(merge(pickOfKey(h, key, i), pickOfKey(h, key, j)));
    }),
    RUNS,
  );
});

test('a write supersedes every version its writer had seen, whatever the clocks say', () => {
  fc.assert(
    fc.property(historyArb, fc.nat({ max: DEVICES.length - 1 }), fc.constantFrom(...KEYS), valueArb, fc.nat({ max: 40 }), pickArb, (ops, d, key, value, now, n) => {
      const h = replay(ops);
      const w = localWrite(h, d, key, value, now);
      assert.deepEqual(dotsOf(w.after), [dotOf(w)], 'a local write leaves exactly its own version');
      for (const v of w.before?.versions ?? []) assert.equal(fateOf(w.after, v.device, v.counter), 'superseded');
      // Merging the write with any state ever held, older or concurrent, cannot bring back a
      // version the writer had seen, even if that version carries a later stamp.
      const other = pickOfKey(h, key, n);
      const merged = merge(w.after, other);
      for (const v of merged.versions) {
        if (v.device === w.device && v.counter === w.counter) continue;
        assert.ok((w.seen[v.device] ?? 0) < v.counter, `version ${dotOf(v)} came back although the write saw it`);
      }
      assert.ok(merged.versions.some((v) => v.device === w.device && v.counter === w.counter), 'the write itself was dropped');
    }),
    RUNS,
  );
});

test('concurrent writes on two devices are both kept, and a resolution write supersedes them all', () => {
  fc.assert(
    fc.property(
      historyArb,
      fc.nat({ max: DEVICES.length - 1 }),
      fc.nat({ max: DEVICES.length - 2 }),
      fc.constantFrom(...KEYS),
      fc.tuple(valueArb, valueArb, valueArb),
      fc.tuple(fc.nat({ max: 40 }), fc.nat({ max: 40 }), fc.nat({ max: 40 })),
      (ops, d1, off, key, [v1, v2, v3], [t1, t2, t3]) => {
        const h = replay(ops);
        const d2 = (d1 + 1 + off) % DEVICES.length;
        // Neither device has seen the other's new write: the two are concurrent.
        const w1 = localWrite(h, d1, key, v1, t1);
        const w2 = localWrite(h, d2, key, v2, t2);
        const both = merge(w1.after, w2.after);
        assert.equal(fateOf(both, w1.device, w1.counter), 'kept');
        assert.equal(fateOf(both, w2.device, w2.counter), 'kept');
        assert.ok(statesEqual(both, merge(w2.after, w1.after)));

        // Device 1 sees the conflict and resolves it; its stamp may well be older than either.
        mergeInto(h, d2, d1, key);
        const siblings = h.states[d1].get(key)!.versions;
        assert.ok(siblings.length >= 2);
        const r = localWrite(h, d1, key, v3, t3);
        assert.deepEqual(dotsOf(r.after), [dotOf(r)]);
        for (const s of siblings) assert.equal(fateOf(r.after, s.device, s.counter), 'superseded');
        // And device 2, still holding only its side, adopts the resolution rather than re-raising
        // the conflict.
        assert.deepEqual(dotsOf(merge(h.states[d2].get(key), r.after)), [dotOf(r)]);
      },
    ),
    RUNS,
  );
});

test('a tombstone never lets a value it deleted come back', () => {
  fc.assert(
    fc.property(historyArb, fc.nat({ max: DEVICES.length - 1 }), fc.constantFrom(...KEYS), fc.nat({ max: 40 }), (ops, d, key, now) => {
      const h = replay(ops);
      const older = h.snapshots.filter((s) => s.key === key);
      const del = localWrite(h, d, key, null, now);
      for (const snap of older) {
        const merged = merge(del.after, snap.state);
        for (const v of merged.versions) {
          if (v.device === del.device && v.counter === del.counter) continue;
          // Only a write the deleting device had not seen may survive next to the tombstone.
          assert.ok((del.seen[v.device] ?? 0) < v.counter, `deleted value ${JSON.stringify(v.value)} came back`);
        }
        // A state the deleter had fully seen leaves the key deleted.
        if (snap.state.versions.every((v) => (del.seen[v.device] ?? 0) >= v.counter)) {
          assert.equal(merged.versions[0].value, null);
          assert.equal(merged.versions.length, 1);
        }
      }
    }),
    RUNS,
  );
});

function mergeEverything(held: KeyState[], shuffleSeed: number): KeyState {
  const forward = held.reduce<KeyState>((acc, s) => merge(acc, s), EMPTY_STATE);
  // Folded in another order too: the result must not depend on who syncs with whom first.
  const other = new Prng(shuffleSeed).shuffle(held).reduceRight<KeyState>((acc, s) => merge(s, acc), EMPTY_STATE);
  assert.ok(statesEqual(forward, other), 'merge order changed the result');
  return forward;
}

test('no write is lost: every write is kept or superseded once everything is merged', () => {
  // Plain writes, where the exact survivors are known.
  fc.assert(
    fc.property(opsArb(40), fc.nat(), (ops, shuffleSeed) => {
      const h = replay(ops);
      for (const key of keysOf(h)) {
        const all = mergeEverything(h.states.map((s) => s.get(key)).filter((s): s is KeyState => s !== undefined), shuffleSeed);
        for (const w of h.writes.filter((x) => x.key === key)) {
          const fate = fateOf(all, w.device, w.counter);
          assert.ok(fate === 'kept' || fate === 'superseded', `write ${dotOf(w)} of ${key} is ${fate}`);
        }
        // Stronger than "not unseen": the survivors are exactly the writes no other write saw.
        // A merge that dropped a concurrent version while joining contexts would pass fateOf
        // (the write looks superseded) but fail here.
        assert.deepEqual(dotsOf(all), unsupersededWrites(h.writes, key).map(dotOf).sort());
      }
    }),
    RUNS,
  );
  // With keep-conflicts edits mixed in, fateOf must still never report a write as unseen.
  fc.assert(
    fc.property(opsArb(40, true), fc.nat(), (ops, shuffleSeed) => {
      const h = replay(ops);
      for (const key of keysOf(h)) {
        const all = mergeEverything(h.states.map((s) => s.get(key)).filter((s): s is KeyState => s !== undefined), shuffleSeed);
        for (const w of h.writes.filter((x) => x.key === key)) {
          const fate = fateOf(all, w.device, w.counter);
          assert.ok(fate === 'kept' || fate === 'superseded', `write ${dotOf(w)} of ${key} is ${fate}`);
        }
      }
    }),
    RUNS,
  );
});

// A keep-conflicts edit (typing on in a conflicted note) must not bring back a version that a
// resolution made concurrently elsewhere removed: an earlier editDelta re-issued the editor's own
// versions under new dots, which such a resolution had never seen.
test('a concurrent keep-conflicts edit does not bring back a version a resolution removed', () => {
  const [a, b] = DEVICES;
  const a1 = writeDelta(undefined, { wall: 1, counter: 0, device: a }, 'a1');
  const b1 = writeDelta(undefined, { wall: 2, counter: 0, device: b }, 'b1');
  const conflict = merge(a1, b1); // both devices hold this; b1 is shown (later stamp)
  const resolved = merge(conflict, writeDelta(conflict, { wall: 3, counter: 0, device: b }, 'resolved'));
  const typedOn = merge(conflict, editDelta(conflict, { wall: 3, counter: 0, device: a }, 'a-edit'));
  const final = merge(resolved, typedOn);
  // 'resolved' and 'a-edit' are concurrent, so both stay; 'a1' was superseded by the resolution
  // and written by nobody since.
  assert.deepEqual(final.versions.map((v) => v.value).sort(), ['a-edit', 'resolved']);
});
