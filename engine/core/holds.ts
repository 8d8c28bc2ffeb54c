// Which paired devices are proven to hold a note (engine/PROTOCOL.md, R-HOLD). A device's
// watermark is the highest seq of this replica's change log it is proven to hold; a note is held
// when every one of its keys last changed at or below that seq, because states only grow: what a
// device held once, it holds (or has replaced by something newer) forever. Pure: the caller
// passes in what it knows and the time; nothing here reads a clock or a store.

import type { DeviceHold } from './sync-state.ts';

export interface Watermark {
  readonly peer: string;
  /** The device's replica (its notes database); a new database starts from nothing. */
  readonly replica: string;
  readonly seq: number;
  /** When it was last proven. */
  readonly at: number;
}

/** What one session proved: that `peer`, as `replica`, held our log through `seq` at `at`. */
export type Proof = Watermark;

/**
 * The watermark after a proof, or `current` unchanged when the proof adds nothing. A proof about
 * another replica of the device (it started over) replaces the watermark; a proof of a seq past
 * `ownSeq` is refused (nobody can hold changes this replica never made).
 */
export function advance(current: Watermark | undefined, proof: Proof, ownSeq: number): Watermark | undefined {
  if (!Number.isSafeInteger(proof.seq) || proof.seq < 0 || proof.seq > ownSeq) return current;
  if (current === undefined || current.replica !== proof.replica) return { ...proof };
  if (proof.seq < current.seq) return current;
  return { ...current, seq: proof.seq, at: Math.max(current.at, proof.at) };
}

/** What a host knows of one paired device, to explain whether it holds a note. */
export interface DeviceFacts {
  readonly peer: string;
  readonly name: string | null;
  readonly connected: boolean;
  readonly lastSeen: number | null;
  /** The last anti-entropy session with it, if any ran in this process. */
  readonly lastSession: { readonly ok: boolean; readonly error: string | null } | null;
  readonly watermark: Watermark | undefined;
}

/**
 * One device's hold on a note whose keys last changed at `noteSeq`. `behind(after)` counts this
 * replica's changes after a seq (asked only when the answer is needed).
 */
export function holdOf(d: DeviceFacts, noteSeq: number, behind: (after: number) => number): DeviceHold {
  const w = d.watermark;
  const base = { device: d.peer, name: d.name, verifiedAt: w?.at ?? null };
  if (w !== undefined && w.seq >= noteSeq) return { ...base, holds: true, reason: null };
  // A session that ended well but proved nothing yet (a repair moved records): its proof follows.
  const lag = w !== undefined ? behindText(behind(w.seq)) : d.lastSession?.ok ? 'not proven yet' : 'never synced';
  if (!d.connected) {
    const since = d.lastSeen === null ? 'offline, not seen since this device started' : `offline since ${new Date(d.lastSeen).toISOString()}`;
    return { ...base, holds: false, reason: `${since}; ${lag}` };
  }
  if (d.lastSession !== null && !d.lastSession.ok) return { ...base, holds: false, reason: `last sync failed: ${d.lastSession.error ?? 'unknown error'}; ${lag}` };
  return { ...base, holds: false, reason: lag };
}

export const BEHIND_COUNT_MAX = 10_000;

function behindText(n: number): string {
  if (n >= BEHIND_COUNT_MAX) return `behind by ${BEHIND_COUNT_MAX.toLocaleString('en-US')}+ changes`;
  return `behind by ${n} change${n === 1 ? '' : 's'}`;
}

/** How many of `marks` cover a note whose keys last changed at `noteSeq`. */
export function holding(marks: Iterable<Watermark | undefined>, noteSeq: number): number {
  let n = 0;
  for (const w of marks) if (w !== undefined && w.seq >= noteSeq) n++;
  return n;
}
