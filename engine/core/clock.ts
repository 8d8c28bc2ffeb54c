// Hybrid logical clock. A stamp orders writes totally: (wall ms, counter, device id). Pure: the
// caller passes the wall time in, and persists the returned stamp with the write it stamps.

export interface Stamp {
  readonly wall: number;
  readonly counter: number;
  readonly device: string;
}

/** Default bound on how far a peer's clock may pull ours ahead of our wall time. */
export const DEFAULT_MAX_AHEAD_MS = 24 * 60 * 60 * 1000;

const MAX_COUNTER = 0xffff_ffff;

export function compareStamps(a: Stamp, b: Stamp): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  if (a.device === b.device) return 0;
  return a.device < b.device ? -1 : 1;
}

/**
 * The stamp for a new local event. Strictly greater than `last` even when the wall clock stepped
 * back, so a restart that reloads `last` keeps stamps monotonic.
 */
export function tick(last: Stamp | null, device: string, now: number): Stamp {
  if (last === null || now > last.wall) return { wall: now, counter: 0, device };
  // Wall time did not advance past the last stamp: count within the last millisecond. A counter
  // at its limit borrows the next millisecond rather than wrapping.
  if (last.counter >= MAX_COUNTER) return { wall: last.wall + 1, counter: 0, device };
  return { wall: last.wall, counter: last.counter + 1, device };
}

export interface Observation {
  /** The clock state to keep: local stamps issued after this are greater than it. */
  readonly last: Stamp | null;
  /** How far the remote stamp's wall time is ahead of ours (negative when behind). */
  readonly skewMs: number;
  /** True when the remote stamp was beyond `now + maxAheadMs` and was not fully adopted. */
  readonly capped: boolean;
}

/**
 * Take a remote stamp into account so that later local writes order after it. A remote clock far
 * in the future may not drag ours past `now + maxAheadMs`: its write still merges, it just cannot
 * make every later local stamp lie about the time.
 */
export function observe(
  last: Stamp | null,
  remote: Stamp,
  device: string,
  now: number,
  maxAheadMs: number = DEFAULT_MAX_AHEAD_MS,
): Observation {
  const skewMs = remote.wall - now;
  const limit = now + maxAheadMs;
  const capped = remote.wall > limit;
  const wall = capped ? limit : remote.wall;
  const counter = capped ? 0 : remote.counter;
  // Compared as stamps of one device (wall, then counter): called for every merged version, so
  // without building the two stamps it would compare.
  if (last !== null && (wall < last.wall || (wall === last.wall && counter <= last.counter))) return { last, skewMs, capped };
  return { last: { wall, counter, device }, skewMs, capped };
}
