// Anti-entropy cost: round trips and bytes for n keys and d differences, per mode, side by side.
// Each case starts from two converged replicas plus d fresh differences (a quarter each: a key
// edited on A, edited on B, created on A, created on B), so the replicas have met before and hold
// cursors, as peers on one LAN do. `recordBytes` counts only the records that had to move
// (measured against the true difference before the session); the rest is overhead. Protocol
// version 2 compresses large frames, which shrinks records far more than digests and ids, so
// `bytes` is what crossed the link and the overhead is counted on the frames as encoded before
// compression (`plainBytes`): compression must not pass for a smaller protocol.

import { encodeRecord } from '../engine/core/codec.ts';
import { merge, statesEqual } from '../engine/core/record.ts';
import type { Replica } from '../engine/replica.ts';
import { syncPair } from '../engine/sync-pair.ts';
import { plainLength, type Mode } from '../engine/core/protocol.ts';
import { keyFor, load, memoryReplica, valueFor } from './dataset.ts';

export interface AeRow {
  mode: Mode;
  n: number;
  d: number;
  used: string;
  roundTrips: number;
  bytes: number;
  plainBytes: number;
  overheadBytes: number;
  recordBytes: number;
  overheadPerDiff: number | null;
  ms: number;
  converged: boolean;
}

let clock = 1_800_000_000_000;
const now = (): number => ++clock;
let fresh = 0;

function makeDifferences(a: Replica, b: Replica, n: number, d: number): string[] {
  const keys: string[] = [];
  for (let i = 0; i < d; i++) {
    fresh++;
    const side = i % 2 === 0 ? a : b;
    const key = i % 4 < 2 ? keyFor((fresh * 7919) % n) : `note/new-${fresh}/title`;
    if (keys.includes(key)) continue;
    side.write([{ key, value: valueFor(fresh, 1) }]);
    keys.push(key);
  }
  return keys;
}

/** Bytes of the records that must move for the two replicas to hold the union. */
function neededRecordBytes(a: Replica, b: Replica, keys: readonly string[]): number {
  let bytes = 0;
  for (const key of keys) {
    const sa = a.get(key);
    const sb = b.get(key);
    const union = merge(sa, sb);
    if (sb && !statesEqual(sa, union)) bytes += encodeRecord({ key, state: sb }).length;
    if (sa && !statesEqual(sb, union)) bytes += encodeRecord({ key, state: sa }).length;
  }
  return bytes;
}

export function runCase(a: Replica, b: Replica, n: number, d: number, mode: Mode): AeRow {
  const keys = makeDifferences(a, b, n, d);
  const recordBytes = neededRecordBytes(a, b, keys);
  const t0 = performance.now();
  let plainBytes = 0;
  const r = syncPair(a, b, { mode, wire: (f) => ((plainBytes += plainLength(f)), f) });
  const ms = performance.now() - t0;
  if (!r.ok) throw new Error(`session failed: ${r.error?.message}`);
  const bytes = r.initiator.bytesSent + r.initiator.bytesReceived;
  const converged = Buffer.compare(a.tree.root().digest, b.tree.root().digest) === 0;
  return {
    mode, n, d, used: r.initiator.used ?? '?', roundTrips: r.initiator.roundTrips, bytes, plainBytes,
    overheadBytes: plainBytes - recordBytes, recordBytes,
    overheadPerDiff: d === 0 ? null : Math.round((plainBytes - recordBytes) / d), ms: Math.round(ms), converged,
  };
}

export function* antiEntropyRows(sizes: readonly number[], diffs: readonly number[], modes: readonly Mode[], skipWholeAbove: number): Generator<AeRow> {
  for (const n of sizes) {
    const a = memoryReplica('aaaaaaaaaaaaaaaa', now);
    const b = memoryReplica('bbbbbbbbbbbbbbbb', now);
    load([a, b], n);
    // Meet once so both hold cursors, as two laptops that synced before.
    syncPair(a, b);
    for (const d of diffs) {
      for (const mode of modes) {
        if (mode === 'whole' && n > skipWholeAbove) continue;
        yield runCase(a, b, n, d, mode);
      }
    }
  }
}
