// Seeded chaos simulation, in memory: replicas over MemoryStore with injected clocks write, spread
// their writes by rumor (lossy, duplicated, reordered), run anti-entropy sessions over a wire that
// drops and duplicates frames, get partitioned into two groups and healed, and restart from their
// stores. At the end (partition healed, no loss) anti-entropy rounds must bring every replica to
// the same Merkle root and the same state of every key, with no write lost.
//
// Everything random comes from the seed (the session salts too), so a seed replays its run.
// Used by test/chaos.test.ts and, for the rounds-to-converge figures, by bench/chaos-rounds.ts.

import assert from 'node:assert/strict';
import { compareStamps, type Stamp } from '../engine/core/clock.ts';
import type { KeyRecord } from '../engine/core/codec.ts';
import { fateOf, isConflict, stampOf, statesEqual, type Value } from '../engine/core/record.ts';
import { Replica, type Write } from '../engine/replica.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { syncPair, type PairOptions, type PairResult } from '../engine/sync-pair.ts';
import { SALT_BYTES, type Mode } from '../engine/core/protocol.ts';
import { dotOf, unsupersededWrites, type WriteDot } from './histories.ts';
import { Prng } from './prng.ts';

export interface ChaosOptions {
  readonly replicas?: number;
  /** Steps of the chaotic phase; each step is a write, a rumor delivery, a session or an event. */
  readonly steps?: number;
  /** Rumor loss rate and frame fault rate (loss plus duplication) during the chaotic phase. */
  readonly faultRate?: number;
  /** Bound on the final anti-entropy rounds (each replica starts one session per round). */
  readonly maxFinalRounds?: number;
  /**
   * Fault injection for the simulator's own test: a restarted replica does not get its clock back
   * from the store (as if the HLC were not persisted). The stamp checks must then fail.
   */
  readonly forgetClockOnRestart?: boolean;
}

export interface ChaosStats {
  writes: number;
  rumorsSent: number;
  rumorsLost: number;
  rumorsDuplicated: number;
  rumorsDelivered: number;
  /** Rumors dropped because a partition or a restart came between send and delivery. */
  rumorsCut: number;
  sessions: number;
  faultySessions: number;
  failedSessions: number;
  partitions: number;
  blockedByPartition: number;
  restarts: number;
  conflictsSeen: number;
  finalRounds: number;
  maxFinalRounds: number;
}

export function newChaosStats(): ChaosStats {
  return {
    writes: 0,
    rumorsSent: 0,
    rumorsLost: 0,
    rumorsDuplicated: 0,
    rumorsDelivered: 0,
    rumorsCut: 0,
    sessions: 0,
    faultySessions: 0,
    failedSessions: 0,
    partitions: 0,
    blockedByPartition: 0,
    restarts: 0,
    conflictsSeen: 0,
    finalRounds: 0,
    maxFinalRounds: 0,
  };
}

const HOT_KEYS = ['hot-0', 'hot-1', 'hot-2'];
const MODES: readonly Mode[] = ['auto', 'auto', 'merkle', 'recent', 'whole'];
export const START_TIME = 1_700_000_000_000;

export function deviceIds(rng: Prng, n: number): string[] {
  const ids = new Set<string>();
  while (ids.size < n) ids.add(Array.from({ length: 16 }, () => rng.int(0, 15).toString(16)).join(''));
  return [...ids];
}

export function sameRoot(a: Replica, b: Replica): boolean {
  const x = a.tree.root();
  const y = b.tree.root();
  return x.count === y.count && Buffer.from(x.digest).equals(Buffer.from(y.digest));
}

export function allSameRoot(replicas: readonly Replica[]): boolean {
  return replicas.every((r) => sameRoot(r, replicas[0]));
}

/** A session salt from the seed, so runs replay exactly. */
export function seededSalt(rng: Prng): Uint8Array {
  return Uint8Array.from({ length: SALT_BYTES }, () => rng.int(0, 255));
}

/**
 * A wire that loses and duplicates frames at `rate` in total (half each). syncPair's wire returns
 * one frame for one frame, so a duplicate is modelled as an earlier frame from the same side
 * arriving again in place of the current one (the current one is then lost too): harsher than a
 * real duplicate, which would arrive in addition.
 */
export function lossyWire(rng: Prng, rate: number): NonNullable<PairOptions['wire']> {
  const previous: Record<'initiator' | 'responder', Uint8Array[]> = { initiator: [], responder: [] };
  return (frame, from) => {
    const sent = previous[from];
    sent.push(frame);
    const roll = rng.float();
    if (roll < rate / 2) return null;
    if (roll < rate && sent.length > 1) return rng.pick(sent.slice(0, -1));
    return frame;
  };
}

/** The same store, except that it reports no saved clock. */
function forgetfulClock(store: MemoryStore): MemoryStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'clock') return () => null;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

interface Rumor {
  readonly from: number;
  readonly records: readonly KeyRecord[];
}

/**
 * Runs one seed; throws an AssertionError naming the seed on any violation. Writes its counts
 * into `stats`.
 */
export function simulateChaos(seed: number, stats: ChaosStats = newChaosStats(), opts: ChaosOptions = {}): ChaosStats {
  const rng = new Prng(seed);
  const n = opts.replicas ?? 10;
  const steps = opts.steps ?? 80;
  const faultRate = opts.faultRate ?? 0.2;
  const maxFinalRounds = opts.maxFinalRounds ?? 40;
  const fail: (msg: string) => never = (msg) => assert.fail(`chaos seed ${seed}: ${msg}`);

  const ids = deviceIds(rng, n);
  let time = START_TIME;
  const skew = ids.map(() => rng.int(-120_000, 120_000));
  const clockOf = (i: number) => () => time + skew[i];
  const stores = ids.map((id) => new MemoryStore(id));
  const replicas = stores.map((s, i) => Replica.open(s, { now: clockOf(i) }));
  // In-flight rumors, per receiver, delivered in random order.
  const inbox: Rumor[][] = ids.map(() => []);
  // Partition: group[i] is 0 or 1; null when the network is whole.
  let group: number[] | null = null;
  let partitionEnds = 0;
  const reachable = (a: number, b: number) => group === null || group[a] === group[b];

  const writes: WriteDot[] = [];
  const editedInConflict = new Set<string>();
  /** Per device, the newest stamp it ever issued: a restart must never issue an older one. */
  const lastIssued = new Map<string, Stamp>();
  let newKeys = 0;
  const allKeys = new Set<string>();

  const randomBatch = (r: Replica, step: number): Write[] => {
    const tag = `${r.replicaId.slice(-4)}@${step}`;
    const conflicted = HOT_KEYS.filter((k) => isConflict(r.get(k)));
    if (conflicted.length > 0 && rng.chance(0.15)) return [{ key: rng.pick(conflicted), value: `${tag} typed on`, mode: 'keep-conflicts' }];
    // (The tree's keysUnder([]) walks every dense bucket; the keys ever written are far fewer.)
    const known = [...allKeys].filter((k) => r.tree.has(k));
    const live = known.filter((k) => r.get(k)?.versions[0].value !== null);
    const deleted = known.filter((k) => r.get(k)?.versions[0].value === null);
    const batch = new Map<string, Value>();
    const size = rng.chance(0.8) ? 1 : rng.int(2, 3);
    for (let i = 0; i < size; i++) {
      const roll = rng.float();
      const text = `${tag}.${i}`;
      if (roll < 0.25 || known.length === 0) batch.set(`note-${seed}-${newKeys++}`, text);
      else if (roll < 0.6) batch.set(rng.pick(HOT_KEYS), text);
      else if (roll < 0.72) batch.set(rng.pick(known), text);
      else if (roll < 0.87 && live.length > 0) batch.set(rng.pick(live), null);
      else if (deleted.length > 0) batch.set(rng.pick(deleted), `undeleted ${text}`);
      else batch.set(rng.pick(HOT_KEYS), null);
    }
    return [...batch].map(([key, value]) => ({ key, value }));
  };

  const write = (i: number, step: number) => {
    const r = replicas[i];
    const batch = randomBatch(r, step);
    for (const w of batch) if (w.mode === 'keep-conflicts') editedInConflict.add(w.key);
    const records = r.write(batch);
    for (const rec of records) {
      const counter = rec.state.context[r.replicaId];
      const v = rec.state.versions.find((x) => x.device === r.replicaId && x.counter === counter);
      if (v === undefined) fail(`write to ${rec.key} is not in its own result`);
      const prev = lastIssued.get(r.replicaId);
      if (prev !== undefined && compareStamps(stampOf(v), prev) <= 0) fail(`${r.replicaId} issued stamp ${JSON.stringify(stampOf(v))} not after ${JSON.stringify(prev)}`);
      lastIssued.set(r.replicaId, stampOf(v));
      allKeys.add(rec.key);
      writes.push({ key: rec.key, device: r.replicaId, counter, seen: rec.state.context });
      stats.writes++;
    }
    // Rumor: the write's records go to every other replica, some lost, some twice.
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      stats.rumorsSent++;
      if (!reachable(i, j)) {
        stats.blockedByPartition++;
        continue;
      }
      if (rng.chance(faultRate)) {
        stats.rumorsLost++;
        continue;
      }
      inbox[j].push({ from: i, records });
      if (rng.chance(faultRate)) {
        inbox[j].push({ from: i, records });
        stats.rumorsDuplicated++;
      }
    }
  };

  const deliver = (j: number) => {
    const queue = inbox[j];
    if (queue.length === 0) return;
    const [rumor] = queue.splice(rng.int(0, queue.length - 1), 1);
    // A partition that started while the rumor was in flight cuts it too.
    if (!reachable(rumor.from, j)) {
      stats.rumorsCut++;
      return;
    }
    replicas[j].apply(rumor.records, 'gossip');
    stats.rumorsDelivered++;
  };

  const session = (i: number, j: number, faulty: boolean, mode: Mode): PairResult => {
    const a = replicas[i];
    const b = replicas[j];
    const res = syncPair(a, b, {
      mode,
      salt: seededSalt(rng),
      wire: faulty ? lossyWire(rng, faultRate) : undefined,
    });
    stats.sessions++;
    if (faulty) stats.faultySessions++;
    if (!res.ok) {
      stats.failedSessions++;
      if (!faulty) fail(`a session without faults failed (${mode}): ${res.error?.code} ${res.error?.message}`);
    } else if (!faulty && !sameRoot(a, b)) {
      fail(`roots differ after a completed session without faults (${mode}, used ${res.initiator.used})`);
    }
    return res;
  };

  const restart = (i: number) => {
    const before = replicas[i];
    const last = before.lastStamp();
    // The process dies: rumors on their way to it are gone. The store object keeps its data.
    stats.rumorsCut += inbox[i].length;
    inbox[i] = [];
    const store = opts.forgetClockOnRestart ? forgetfulClock(stores[i]) : stores[i];
    const after = Replica.open(store, { now: clockOf(i) });
    if (opts.forgetClockOnRestart) stores[i] = store;
    if (!opts.forgetClockOnRestart && JSON.stringify(after.lastStamp()) !== JSON.stringify(last)) fail(`restarted ${after.replicaId} reloaded clock ${JSON.stringify(after.lastStamp())}, had ${JSON.stringify(last)}`);
    if (!sameRoot(after, before)) fail(`restarted ${after.replicaId} has another root`);
    replicas[i] = after;
    stats.restarts++;
  };

  for (let step = 0; step < steps; step++) {
    if (!rng.chance(0.3)) time += rng.int(1, 3_000);
    // Now and then a laptop's clock is corrected backwards: the reloaded HLC must not follow it.
    if (rng.chance(0.02)) skew[rng.int(0, n - 1)] -= rng.int(1_000, 600_000);

    if (group !== null && step >= partitionEnds) group = null;
    else if (group === null && rng.chance(0.02)) {
      // Two non-empty groups.
      const g = ids.map(() => rng.int(0, 1));
      g[0] = 0;
      g[1 + rng.int(0, n - 2)] = 1;
      group = g;
      partitionEnds = step + rng.int(10, 40);
      stats.partitions++;
    }

    const roll = rng.float();
    if (roll < 0.45) write(rng.int(0, n - 1), step);
    else if (roll < 0.86) {
      // A burst of rumor deliveries at one receiver, in random order.
      for (let j = 0; j < n; j++) for (let k = rng.int(0, 3); k > 0; k--) deliver(j);
    } else if (roll < 0.97) {
      const i = rng.int(0, n - 1);
      const j = (i + rng.int(1, n - 1)) % n;
      if (!reachable(i, j)) {
        stats.blockedByPartition++;
        continue;
      }
      session(i, j, rng.chance(0.5), rng.pick(MODES));
    } else {
      restart(rng.int(0, n - 1));
    }
    for (const r of replicas) for (const key of HOT_KEYS) if (isConflict(r.get(key))) stats.conflictsSeen++;
  }

  // Heal: partition over, no more loss; rumors still in flight are lost. Every replica restarts
  // once more (a reboot after the outage) and anti-entropy rounds run until every root agrees.
  group = null;
  for (let j = 0; j < n; j++) {
    stats.rumorsCut += inbox[j].length;
    inbox[j] = [];
  }
  if (rng.chance(0.5)) restart(rng.int(0, n - 1));
  let rounds = 0;
  while (!allSameRoot(replicas)) {
    if (++rounds > maxFinalRounds) fail(`not converged after ${maxFinalRounds} anti-entropy rounds`);
    for (let i = 0; i < n; i++) session(i, (i + rng.int(1, n - 1)) % n, false, 'auto');
  }
  stats.finalRounds += rounds;
  stats.maxFinalRounds = Math.max(stats.maxFinalRounds, rounds);

  // Identical states of every key, and NO WRITE LOST.
  const keys = allKeys;
  for (const r of replicas) if (r.tree.size !== keys.size) fail(`${r.replicaId} holds ${r.tree.size} keys, ${keys.size} were written`);
  for (const key of keys) {
    const state = replicas[0].get(key);
    if (state === undefined) fail(`key ${key} vanished`);
    for (const r of replicas) if (!statesEqual(r.get(key), state)) fail(`replicas disagree on ${key}:\n${JSON.stringify(state)}\n${JSON.stringify(r.get(key))}`);
    // Plain writes only: the survivors are exactly the writes no other write of the key had seen.
    if (editedInConflict.has(key)) continue;
    const expected = unsupersededWrites(writes, key).map(dotOf).sort();
    const actual = state.versions.map(dotOf).sort();
    if (expected.join() !== actual.join()) fail(`versions of ${key} are [${actual}], expected [${expected}]`);
  }
  for (const w of writes) {
    for (const r of replicas) {
      const fate = fateOf(r.get(w.key), w.device, w.counter);
      if (fate === 'unseen') fail(`write ${dotOf(w)} to ${w.key} was lost on ${r.replicaId}`);
    }
  }
  return stats;
}
