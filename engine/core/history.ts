// Superseded versions a device keeps (the store's history table), and what they tell about
// ancestry. A 3-way merge needs the text both sides started from; the record model keeps no
// parent links, so ancestry is read off what this device itself learnt:
//
//   - the exact causal context of a version is known for a write made here (its delta's context)
//     and for a version that arrived alone in a peer's state (a state with one version has
//     exactly that version's context); those contexts are kept beside the history;
//   - otherwise only a device's own line is certain: its write n is issued after its write n-1
//     (contexts are downward closed), so earlier versions of the same device are in the past.
//
// An upper bound (a multi-version state's context) is never used: it may name a version one side
// never saw, and a merge against that base would undo that side's edits. Unknown ancestry keeps
// a conflict; it never guesses.

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
function before(h: Dot, x: Dot, contexts: ReadonlyMap<string, Context>): boolean {
  if (sameDots(h, x)) return false;
  const ctx = contexts.get(dotKey(x));
  if (ctx !== undefined) return (ctx[h.device] ?? 0) >= h.counter;
  return h.device === x.device && h.counter < x.counter;
}

/**
 * The entries in the causal past of `dot` (and the entry of `dot` itself, if it is one), as
 * indices into `entries`. Transitive: a past entry's own known past counts too.
 */
export function pastOf(dot: Dot, entries: readonly HistoryEntry[], contexts: ReadonlyMap<string, Context>): Set<number> {
  const out = new Set<number>();
  const stack: Dot[] = [dot];
  const self = entries.findIndex((e) => sameDots(e, dot));
  if (self >= 0) out.add(self);
  while (stack.length > 0) {
    const n = stack.pop() as Dot;
    entries.forEach((e, i) => {
      if (out.has(i) || !before(e, n, contexts)) return;
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
export function commonAncestor(dots: readonly Dot[], entries: readonly HistoryEntry[], contexts: ReadonlyMap<string, Context>): HistoryEntry | undefined {
  if (dots.length === 0) return undefined;
  let common: Set<number> | undefined;
  for (const d of dots) {
    const past = pastOf(d, entries, contexts);
    common = common === undefined ? past : new Set([...common].filter((i) => past.has(i)));
  }
  if (common === undefined || common.size === 0) return undefined;
  const candidates = [...common];
  const pasts = new Map(candidates.map((j) => [j, pastOf(entries[j], entries, contexts)]));
  const maximal = candidates.filter((i) => !candidates.some((j) => j !== i && (pasts.get(j) as Set<number>).has(i)));
  if (maximal.length === 0) return undefined;
  const first = entries[maximal[0]];
  return maximal.every((i) => entries[i].value === first.value) ? first : undefined;
}
