// Superseded versions a device keeps (the store's history table), and what they tell about
// ancestry. A 3-way merge needs the text both sides started from; the record model keeps no
// parent links, so ancestry is read off what this device itself learnt. A version's context is
// kept (version_contexts) only where it is known to name exactly the versions its TEXT was made
// from:
//
//   - a write made here that superseded everything current (a save from an up-to-date base, a
//     save rebased onto what came since, a merge, a resolution): its delta's context;
//   - a version that arrived alone in a peer's state: a state with one version carries exactly
//     that version's context, and such a version was written that way on its device too.
//
// A write that stays beside versions it did not include (a conflict) gets no context: its
// record context covers this device's earlier versions (one device writes one line of counters)
// although its text may not include them. An upper bound (a multi-version state's context) is
// never used either: it may name a version one side never saw, and a merge against that base
// would undo that side's edits. Unknown ancestry keeps a conflict: automatic merges never guess.
// Only the merged draft the conflicts view offers (which the user reviews) also takes a
// device's own earlier versions as ancestors of its later ones (`lenient`).

import { sameDots, type Context, type Dot, type Value } from './record.ts';

export interface HistoryEntry {
  readonly key: string;
  readonly device: string;
  readonly counter: number;
  readonly wall: number;
  readonly tick: number;
  readonly value: Value;
  /** The new versions that superseded it here: one when certain, several when not. */
  readonly supersededBy: readonly Dot[];
  /** Wall ms (this device's clock) when it was superseded here. */
  readonly at: number;
}

/** The exact causal context of one version, where this device learnt it. */
export interface VersionContext {
  readonly key: string;
  readonly device: string;
  readonly counter: number;
  readonly context: Context;
}

export function dotKey(d: Dot): string {
  return `${d.device}.${d.counter}`;
}

/** Keeps the newest `keep` entries of a field, and none older than `maxAgeMs`. */
export interface HistoryLimits {
  readonly keep: number;
  readonly maxAgeMs: number;
}

export const DEFAULT_HISTORY_LIMITS: HistoryLimits = Object.freeze({ keep: 200, maxAgeMs: 365 * 24 * 3600 * 1000 });

/** Whether `h` is in the past of `x` by what is known here (see the top of this file). */
function before(h: Dot, x: Dot, contexts: ReadonlyMap<string, Context>, lenient: boolean): boolean {
  if (sameDots(h, x)) return false;
  const ctx = contexts.get(dotKey(x));
  if (ctx !== undefined) return (ctx[h.device] ?? 0) >= h.counter;
  return lenient && h.device === x.device && h.counter < x.counter;
}

/**
 * The entries in the causal past of `dot` (and the entry of `dot` itself, if it is one), as
 * indices into `entries`. Transitive: a past entry's own known past counts too.
 */
export function pastOf(dot: Dot, entries: readonly HistoryEntry[], contexts: ReadonlyMap<string, Context>, lenient = false): Set<number> {
  const out = new Set<number>();
  const stack: Dot[] = [dot];
  const self = entries.findIndex((e) => sameDots(e, dot));
  if (self >= 0) out.add(self);
  while (stack.length > 0) {
    const n = stack.pop() as Dot;
    entries.forEach((e, i) => {
      if (out.has(i) || !before(e, n, contexts, lenient)) return;
      out.add(i);
      stack.push(e);
    });
  }
  return out;
}

/**
 * The text every one of `dots` was derived from: the newest entry in the past of all of them.
 * Undefined when there is none, or when the newest common entries disagree (criss-cross merges):
 * then no base can be trusted and the versions stay a conflict.
 */
export function commonAncestor(dots: readonly Dot[], entries: readonly HistoryEntry[], contexts: ReadonlyMap<string, Context>, lenient = false): HistoryEntry | undefined {
  if (dots.length === 0) return undefined;
  let common: Set<number> | undefined;
  for (const d of dots) {
    const past = pastOf(d, entries, contexts, lenient);
    common = common === undefined ? past : new Set([...common].filter((i) => past.has(i)));
  }
  if (common === undefined || common.size === 0) return undefined;
  const candidates = [...common];
  const pasts = new Map(candidates.map((j) => [j, pastOf(entries[j], entries, contexts, lenient)]));
  const maximal = candidates.filter((i) => !candidates.some((j) => j !== i && (pasts.get(j) as Set<number>).has(i)));
  if (maximal.length === 0) return undefined;
  const first = entries[maximal[0]];
  return maximal.every((i) => entries[i].value === first.value) ? first : undefined;
}
