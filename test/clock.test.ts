// Hybrid logical clock properties. Stamps order every write of every device, and merge() relies
// on a device never issuing the same or a smaller stamp twice, whatever its wall clock does.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareStamps, DEFAULT_MAX_AHEAD_MS, observe, tick, type Stamp } from '../engine/core/clock.ts';
import { Replica } from '../engine/replica.ts';
import { stampOf } from '../engine/core/record.ts';
import { MemoryStore } from '../engine/store/memory.ts';

const SEED = 0x5eed_c10c;
const RUNS = { seed: SEED, numRuns: 300 };
const MAX_COUNTER = 0xffff_ffff;
const ME = '00000000000000aa';
const PEERS = ['0000000000000001', '00000000000000aa', '00000000000000ff'];

// Wall times drawn from a small window so that repeats and backward steps are common, plus the
// occasional jump, which is what an NTP correction or a sleeping laptop looks like.
const nowArb = fc.oneof(fc.integer({ min: 1_000, max: 1_010 }), fc.integer({ min: 0, max: 2_000_000 }));

// Counters near the limit matter: the clock must borrow a millisecond rather than wrap.
const counterArb = fc.oneof(fc.nat({ max: 3 }), fc.integer({ min: MAX_COUNTER - 2, max: MAX_COUNTER }));

const stampArb: fc.Arbitrary<Stamp> = fc.record({
  wall: fc.oneof(fc.integer({ min: 1_000, max: 1_003 }), fc.nat({ max: 2_000_000 })),
  counter: counterArb,
  device: fc.constantFrom(...PEERS),
});

function assertAfter(later: Stamp, earlier: Stamp | null, why: string): void {
  if (earlier === null) return;
  assert.ok(compareStamps(later, earlier) > 0, `${why}: ${JSON.stringify(later)} is not after ${JSON.stringify(earlier)}`);
}

test('tick is strictly monotonic even when the wall clock repeats or steps back', () => {
  fc.assert(
    fc.property(fc.option(stampArb, { nil: null }), fc.array(nowArb, { minLength: 1, maxLength: 60 }), (start, nows) => {
      let last = start === null ? null : { ...start, device: ME };
      for (const now of nows) {
        const next = tick(last, ME, now);
        assertAfter(next, last, `tick at now=${now}`);
        assert.equal(next.device, ME);
        // An HLC never reads earlier than the wall clock that stamped it.
        assert.ok(next.wall >= now);
        assert.ok(Number.isSafeInteger(next.counter) && next.counter >= 0 && next.counter <= MAX_COUNTER);
        last = next;
      }
    }),
    RUNS,
  );
});

test('a clock restarted from its persisted last stamp keeps issuing later stamps', () => {
  fc.assert(
    fc.property(fc.array(nowArb, { minLength: 1, maxLength: 20 }), fc.array(nowArb, { minLength: 1, maxLength: 20 }), (before, after) => {
      let last: Stamp | null = null;
      for (const now of before) last = tick(last, ME, now);
      // What a store writes and reads back: plain data, no object identity.
      let restored = JSON.parse(JSON.stringify(last)) as Stamp;
      const persisted = restored;
      for (const now of after) {
        const next = tick(restored, ME, now);
        assertAfter(next, persisted, 'after restart');
        assertAfter(next, restored, 'after restart');
        restored = next;
      }
    }),
    RUNS,
  );
});

test('a replica reopened on its store stamps after its last write even if the clock went back', () => {
  fc.assert(
    fc.property(fc.array(nowArb, { minLength: 1, maxLength: 8 }), fc.array(nowArb, { minLength: 1, maxLength: 8 }), (before, after) => {
      const store = new MemoryStore(ME);
      // The wall clock reads `cur` however often the replica asks (a write may read it more than
      // once: its stamp, its history entry).
      let cur = 0;
      const stampsOf = (replica: Replica, nows: number[]) =>
        nows.map((now, i) => {
          cur = now;
          const [rec] = replica.write([{ key: `k${i % 3}`, value: `v${now}` }]);
          const v = rec.state.versions.find((x) => x.device === ME)!;
          return { wall: v.wall, counter: v.tick, device: v.device };
        });
      const first = stampsOf(Replica.open(store, { now: () => cur }), before);
      const second = stampsOf(Replica.open(store, { now: () => cur }), after);
      const all = [...first, ...second];
      for (let i = 1; i < all.length; i++) assertAfter(all[i], all[i - 1], `write ${i}`);
    }),
    { seed: SEED, numRuns: 100 },
  );
});

test('compareStamps is a total order', () => {
  fc.assert(
    fc.property(stampArb, stampArb, stampArb, (a, b, c) => {
      assert.equal(compareStamps(a, a), 0);
      assert.ok(Math.sign(compareStamps(a, b)) === -Math.sign(compareStamps(b, a)));
      const same = a.wall === b.wall && a.counter === b.counter && a.device === b.device;
      assert.equal(compareStamps(a, b) === 0, same);
      if (compareStamps(a, b) <= 0 && compareStamps(b, c) <= 0) assert.ok(compareStamps(a, c) <= 0);
      if (compareStamps(a, b) < 0 && compareStamps(b, c) < 0) assert.ok(compareStamps(a, c) < 0);
    }),
    { seed: SEED, numRuns: 2000 },
  );
});

test('sorting by compareStamps does not depend on the input order', () => {
  fc.assert(
    fc.property(fc.uniqueArray(stampArb, { selector: (s) => `${s.wall}/${s.counter}/${s.device}`, maxLength: 12 }), fc.nat(), (stamps, rot) => {
      const shifted = [...stamps.slice(rot % (stamps.length || 1)), ...stamps.slice(0, rot % (stamps.length || 1))];
      assert.deepEqual([...stamps].sort(compareStamps), [...shifted].reverse().sort(compareStamps));
    }),
    RUNS,
  );
});

test('observe: a remote stamp within the bound orders every later local tick after it', () => {
  fc.assert(
    fc.property(
      fc.option(stampArb, { nil: null }),
      stampArb,
      nowArb,
      nowArb,
      fc.integer({ min: 0, max: 5_000_000 }),
      (start, remote, now, later, maxAhead) => {
        fc.pre(remote.wall <= now + maxAhead);
        const last = start === null ? null : { ...start, device: ME };
        const seen = observe(last, remote, ME, now, maxAhead);
        assert.equal(seen.capped, false);
        assert.equal(seen.skewMs, remote.wall - now);
        // Observing never winds our own clock back.
        if (last !== null) assert.ok(seen.last !== null && compareStamps(seen.last, last) >= 0);
        // Even when our wall clock then reads earlier than the remote one did.
        const next = tick(seen.last, ME, later);
        assertAfter(next, remote, 'tick after observe');
        assertAfter(next, last, 'tick after observe');
      },
    ),
    { seed: SEED, numRuns: 1000 },
  );
});

test('observe: a remote stamp beyond now + maxAheadMs is capped and reported with its skew', () => {
  fc.assert(
    fc.property(
      fc.option(stampArb, { nil: null }),
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.integer({ min: 0, max: 100_000 }),
      fc.integer({ min: 1, max: 10_000_000 }),
      fc.array(fc.integer({ min: -50, max: 0 }), { maxLength: 10 }),
      (start, now, maxAhead, beyond, laterOffsets) => {
        const limit = now + maxAhead;
        // The persisted clock itself is within the bound (it came from our own ticks).
        fc.pre(start === null || start.wall <= limit);
        const last = start === null ? null : { ...start, device: ME };
        const remote: Stamp = { wall: limit + beyond, counter: 7, device: PEERS[2] };
        const seen = observe(last, remote, ME, now, maxAhead);
        assert.equal(seen.capped, true);
        assert.equal(seen.skewMs, remote.wall - now);
        assert.ok(seen.last !== null && seen.last.wall <= limit, `clock dragged to ${seen.last?.wall}, bound ${limit}`);
        if (last !== null) assert.ok(compareStamps(seen.last, last) >= 0);
        // Later local writes at (or before) the same wall time stay within the bound: they do not
        // inherit the remote device's idea of the time. A borrowed millisecond on counter overflow
        // is the only way past it.
        let clock = seen.last;
        for (const off of laterOffsets) {
          const next = tick(clock, ME, now + off);
          assertAfter(next, clock, 'tick after capped observe');
          const borrowed = clock.counter === MAX_COUNTER ? 1 : 0;
          assert.ok(next.wall <= Math.max(limit, clock.wall) + borrowed, `local tick jumped to ${next.wall}, bound ${limit}`);
          clock = next;
        }
      },
    ),
    { seed: SEED, numRuns: 500 },
  );
});

test('observe uses a one-day bound by default', () => {
  const now = 10_000_000;
  assert.equal(observe(null, { wall: now + DEFAULT_MAX_AHEAD_MS, counter: 0, device: PEERS[0] }, ME, now).capped, false);
  const far = observe(null, { wall: now + DEFAULT_MAX_AHEAD_MS + 1, counter: 0, device: PEERS[0] }, ME, now);
  assert.equal(far.capped, true);
  assert.equal(far.skewMs, DEFAULT_MAX_AHEAD_MS + 1);
});

test('a replica stamps its next writes after every write it has merged', () => {
  // Without this, an edit made right after seeing a peer's edit of another note could sort before
  // it: "newest wins" among concurrent versions would then contradict what the user saw.
  fc.assert(
    fc.property(fc.integer({ min: -100_000, max: 100_000 }), fc.nat({ max: 5 }), fc.integer({ min: -60_000, max: 0 }), (peerSkew, peerWrites, drift) => {
      const base = 1_700_000_000_000;
      let localNow = base;
      const peer = Replica.open(new MemoryStore(PEERS[0]), { now: () => base + peerSkew });
      const local = Replica.open(new MemoryStore(ME), { now: () => localNow });
      let latest: Stamp | null = null;
      for (let i = 0; i <= peerWrites; i++) {
        const [rec] = peer.write([{ key: `peer-${i}`, value: 'v' }]);
        local.apply([rec]);
        latest = stampOf(rec.state.versions[0]);
      }
      localNow = base + drift;
      const [mine] = local.write([{ key: 'mine', value: 'v' }]);
      assertAfter(stampOf(mine.state.versions[0]), latest, 'local write after merging');
    }),
    { seed: SEED, numRuns: 200 },
  );
});

test('a replica receiving a write from a far-future clock caps its own clock and records the skew', () => {
  const day = 24 * 60 * 60 * 1000;
  const now = 1_700_000_000_000;
  const future = Replica.open(new MemoryStore(PEERS[2]), { now: () => now + 30 * day });
  const local = Replica.open(new MemoryStore(ME), { now: () => now, maxAheadMs: day });
  local.apply(future.write([{ key: 'note', value: 'from the future' }]));
  const skew = local.skew.get(PEERS[2]);
  assert.ok(skew !== undefined);
  assert.equal(skew.capped, true);
  assert.equal(skew.aheadMs, 30 * day);
  const [rec] = local.write([{ key: 'other', value: 'mine' }]);
  assert.ok(rec.state.versions[0].wall <= now + day, 'local stamps must not adopt the far-future time');
  // The far-future write still merged: capping limits the clock, not what is kept.
  assert.equal(local.get('note')?.versions[0].value, 'from the future');
});
