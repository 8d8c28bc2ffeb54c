// The thin layers between the pure engine and libp2p: rumor encoding and validation, the
// anti-entropy driver over a frame link, and the scheduler's triggers and backoff.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initiateOver, respondOver } from '../engine/net/ae-link.ts';
import { linkPair } from './frame-links.ts';
import { ProtocolError } from '../engine/core/errors.ts';
import { Replica } from '../engine/replica.ts';
import { decodeRumor, encodeRumor, MAX_GOSSIPED_RECORD_BYTES, MAX_RUMOR_BYTES, rumorsFor } from '../engine/core/rumor.ts';
import { Scheduler } from '../engine/net/scheduler.ts';
import { MemoryStore } from '../engine/store/memory.ts';

const VAULT = '0123456789abcdef';
const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
let wall = 1_700_000_000_000;
const replica = (id: string): Replica => Replica.open(new MemoryStore(id), { now: () => (wall += 3) });

describe('rumors', () => {
  test('round trip, and a rumor of another vault is refused', () => {
    const a = replica(A);
    const records = a.write([{ key: 'k', value: 'v' }]);
    const [rumor] = rumorsFor(VAULT, A, records);
    const bytes = encodeRumor(rumor);
    assert.deepEqual(decodeRumor(bytes, VAULT).records, records);
    assert.throws(() => decodeRumor(bytes, 'ffffffffffffffff'), ProtocolError);
  });

  test('every truncation and an unknown version are ProtocolErrors', () => {
    const a = replica(A);
    const bytes = encodeRumor(rumorsFor(VAULT, A, a.write([{ key: 'k', value: 'text' }, { key: 'j', value: null }]))[0]);
    for (let cut = 0; cut < bytes.length; cut++) assert.throws(() => decodeRumor(bytes.subarray(0, cut), VAULT), ProtocolError, `cut at ${cut}`);
    const v2 = bytes.slice();
    v2[0] = 2;
    assert.throws(() => decodeRumor(v2, VAULT), { code: 'E_PROTOCOL_VERSION' });
    assert.throws(() => decodeRumor(new Uint8Array(MAX_RUMOR_BYTES + 1), VAULT), { code: 'E_FRAME_TOO_LARGE' });
  });

  test('large values travel as notices; batches split under the size limit', () => {
    const a = replica(A);
    const big = a.write([{ key: 'big', value: 'x'.repeat(MAX_GOSSIPED_RECORD_BYTES + 1) }]);
    const [rumor] = rumorsFor(VAULT, A, big);
    assert.equal(rumor.records.length, 0);
    assert.deepEqual(rumor.notices, [{ key: 'big', device: A, counter: 1 }]);
    const many = a.write(Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: 'y'.repeat(30_000) })));
    const rumors = rumorsFor(VAULT, A, many);
    assert.ok(rumors.length > 1);
    for (const r of rumors) assert.ok(encodeRumor(r).length <= MAX_RUMOR_BYTES);
    assert.equal(rumors.reduce((n, r) => n + r.records.length, 0), 40);
  });
});

describe('anti-entropy over a frame link', () => {
  test('a session converges two replicas and saves cursors on both sides', async () => {
    const a = replica(A);
    const b = replica(B);
    a.write([{ key: 'x', value: '1' }]);
    b.write([{ key: 'y', value: '2' }]);
    const [la, lb] = linkPair();
    const signal = AbortSignal.timeout(5000);
    const [ra, rb] = await Promise.all([initiateOver(a, la, { peerReplica: B }, signal), respondOver(b, lb, signal)]);
    assert.ok(ra.ok && rb.ok, `${ra.error?.message} ${rb.error?.message}`);
    assert.deepEqual(a.tree.root(), b.tree.root());
    assert.equal(a.cursor(B), 1, "B's log position when it answered");
    assert.equal(b.cursor(A), 1);
  });

  test('a link that goes silent ends the session by its deadline, saving no cursor', async () => {
    const a = replica(A);
    const b = replica(B);
    a.write([{ key: 'x', value: '1' }]);
    b.write([{ key: 'y', value: '2' }]);
    const [la, lb] = linkPair({ dropAfter: 1 });
    const signal = AbortSignal.timeout(300);
    const [ra] = await Promise.all([initiateOver(a, la, { peerReplica: B }, signal), respondOver(b, lb, signal)]);
    assert.equal(ra.ok, false);
    assert.equal(a.cursor(B), undefined);
  });
});

describe('scheduler', () => {
  function fakeTimers() {
    const timers: { fn: () => void; ms: number }[] = [];
    return {
      timers,
      setTimer: (fn: () => void, ms: number) => timers.push({ fn, ms }),
      clearTimer: () => timers.splice(0),
    };
  }

  test('a connection triggers a session; failures back off exponentially up to the cap', async () => {
    let now = 0;
    const runs: string[] = [];
    let result = false;
    const t = fakeTimers();
    const s = new Scheduler({
      connectedPeers: () => ['p'], isBusy: () => false, now: () => now,
      runSession: async (p) => (runs.push(p), result), backoffBaseMs: 1000, backoffMaxMs: 4000, ...t,
    });
    s.start();
    s.peerConnected('p');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(runs, ['p'], 'the connection ran a session');
    assert.equal(s.backoffMs('p'), 1000, 'it failed: back off');
    assert.equal(await s.trigger('p'), false, 'backing off: not run');
    assert.equal(runs.length, 1);
    now += 1000;
    await s.trigger('p');
    assert.equal(s.backoffMs('p'), 2000);
    now += 2000;
    await s.trigger('p');
    now += 4000;
    await s.trigger('p');
    assert.equal(s.backoffMs('p'), 4000, 'capped');
    now += 4000;
    result = true;
    assert.equal(await s.trigger('p'), true);
    assert.equal(s.backoffMs('p'), 0, 'success clears the backoff');
    s.stop();
  });

  test('a peer that answers busy (its own session with us goes ahead) is not backed off', async () => {
    const runs: string[] = [];
    const s = new Scheduler({ connectedPeers: () => ['p'], isBusy: () => false, now: () => 0, runSession: async (p) => (runs.push(p), 'busy' as const), ...fakeTimers() });
    s.start();
    assert.equal(await s.trigger('p'), false, 'a busy answer is not a session that ended well');
    assert.equal(s.backoffMs('p'), 0, 'nor a failure');
    assert.equal(await s.trigger('p'), false);
    assert.deepEqual(runs, ['p', 'p'], 'so the next trigger runs at once');
    s.stop();
  });

  test('ticks pick a connected peer that is neither busy nor backing off, with jittered delays', async () => {
    const runs: string[] = [];
    const t = fakeTimers();
    const s = new Scheduler({
      connectedPeers: () => ['busy', 'free'], isBusy: (p) => p === 'busy', intervalMs: 10_000, jitter: 0.2,
      runSession: async (p) => (runs.push(p), true), random: () => 0.99, ...t,
    });
    s.start();
    assert.equal(t.timers.length, 1);
    assert.ok(t.timers[0].ms > 10_000 && t.timers[0].ms <= 12_000);
    t.timers.shift()!.fn();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(runs, ['free']);
    assert.equal(t.timers.length, 1, 'rearmed after the tick');
    s.stop();
  });
});
