// Rounds to converge after a partition heals, against the Demers et al. (1987) estimate
// log2(N) + ln(N) for spreading one update by rumor to N sites.
//
// Setup, per seed: N in-memory replicas (MemoryStore, injected clock) are split into two random
// halves. Each replica writes 1-2 keys (a few of them shared "hot" keys, so there are
// concurrent versions to merge), and each half runs anti-entropy rounds among itself until its
// members agree. Then the partition heals, and rounds are counted: in a round every replica
// starts one anti-entropy session (syncPair, mode auto, no loss) with a peer chosen uniformly
// from all N. The figure is the number of rounds until every replica has the same Merkle root.
//
// A session is push-pull (both ends leave it equal), and within a round sessions run one after
// another, so a replica may pass on in the same round what it learned earlier in that round.
// Both make this faster than the push-only model the estimate describes; it is an upper
// reference, not a prediction.

import { Replica } from '../engine/replica.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { syncPair } from '../engine/sync-pair.ts';
import { allSameRoot, deviceIds, seededSalt, START_TIME } from '../test/chaos-sim.ts';
import { Prng } from '../test/prng.ts';

export interface RoundsRow {
  n: number;
  seeds: number;
  meanRounds: number;
  maxRounds: number;
  minRounds: number;
  /** log2(N) + ln(N), rounded to one decimal. */
  demers: number;
  /** Mean rounds the halves needed to agree among themselves before the heal. */
  meanHalfRounds: number;
  ms: number;
}

const MAX_ROUNDS = 200;

/** Runs one seed; returns the rounds needed after the heal and before it (within the halves). */
export function roundsAfterHeal(n: number, seed: number): { rounds: number; halfRounds: number } {
  const rng = new Prng(seed);
  let time = START_TIME;
  const replicas = deviceIds(rng, n).map((id) => Replica.open(new MemoryStore(id), { now: () => time }));
  const order = rng.shuffle(replicas.map((_, i) => i));
  const halves = [order.slice(0, n >> 1), order.slice(n >> 1)].map((h) => h.map((i) => replicas[i]));
  for (const [i, r] of replicas.entries()) {
    for (let k = rng.int(1, 2); k > 0; k--) {
      time += rng.int(0, 50);
      const key = rng.chance(0.1) ? `hot-${rng.int(0, 2)}` : `note-${i}-${k}`;
      r.write([{ key, value: `${r.replicaId}.${k}` }]);
    }
  }
  const round = (members: readonly Replica[], peers: readonly Replica[]) => {
    for (const r of members) {
      let peer = rng.pick(peers);
      while (peer === r) peer = rng.pick(peers);
      const res = syncPair(r, peer, { mode: 'auto', salt: seededSalt(rng) });
      if (!res.ok) throw new Error(`seed ${seed}: a session without faults failed: ${res.error?.message}`);
    }
  };
  let halfRounds = 0;
  for (const half of halves) {
    let r = 0;
    while (!allSameRoot(half)) {
      if (++r > MAX_ROUNDS) throw new Error(`seed ${seed}: a half did not converge in ${MAX_ROUNDS} rounds`);
      round(half, half);
    }
    halfRounds = Math.max(halfRounds, r);
  }
  let rounds = 0;
  while (!allSameRoot(replicas)) {
    if (++rounds > MAX_ROUNDS) throw new Error(`seed ${seed}: not converged in ${MAX_ROUNDS} rounds`);
    round(replicas, replicas);
  }
  return { rounds, halfRounds };
}

export function chaosRoundsRows(cases: readonly { n: number; seeds: number }[], progress: (s: string) => void = () => {}): RoundsRow[] {
  const rows: RoundsRow[] = [];
  for (const { n, seeds } of cases) {
    const t0 = performance.now();
    const rounds: number[] = [];
    const half: number[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const res = roundsAfterHeal(n, seed);
      rounds.push(res.rounds);
      half.push(res.halfRounds);
      progress(`  rounds n=${n} seed ${seed}: ${res.rounds}\n`);
    }
    const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 100) / 100;
    rows.push({
      n,
      seeds,
      meanRounds: mean(rounds),
      maxRounds: Math.max(...rounds),
      minRounds: Math.min(...rounds),
      demers: Math.round((Math.log2(n) + Math.log(n)) * 10) / 10,
      meanHalfRounds: mean(half),
      ms: Math.round(performance.now() - t0),
    });
  }
  return rows;
}
