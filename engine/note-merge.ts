// Automatic merging of a note's text fields: the Replica's autoMerge hook (replica.ts) and the
// merged draft the conflicts view offers. Pure logic lives in core/text-merge.ts and
// core/history.ts; this module picks what to merge.
//
// Determinism: the versions are grouped by text (identical texts are one side, so two devices
// that wrote the same merge as different dots are never a conflict and are not merged again)
// and the groups are ordered by their smallest dot; the base is the common ancestor's text. Every
// device that holds the same versions and ancestor therefore writes the same bytes.

import { commonAncestor } from './core/history.ts';
import { compareDots, dotOf, type Dot, type KeyState } from './core/record.ts';
import { mergeVersions, type MergeOutcome } from './core/text-merge.ts';
import type { Ancestry } from './replica.ts';

export interface TextGroup {
  readonly text: string;
  /** Sorted canonically. */
  readonly dots: readonly Dot[];
}

/** The distinct texts of a state's versions, in canonical order; undefined if any is a tombstone. */
export function textGroups(state: KeyState): TextGroup[] | undefined {
  const byText = new Map<string, Dot[]>();
  for (const v of state.versions) {
    if (v.value === null) return undefined;
    const list = byText.get(v.value) ?? [];
    list.push(dotOf(v));
    byText.set(v.value, list);
  }
  return [...byText].map(([text, dots]) => ({ text, dots: dots.sort(compareDots) })).sort((a, b) => compareDots(a.dots[0], b.dots[0]));
}

/**
 * The merge of a state's distinct texts against their common ancestor, if one is known here;
 * `lenient` for a draft the user reviews (core/history.ts).
 */
export function mergeState(state: KeyState, ancestry: Ancestry, lenient = false): MergeOutcome | undefined {
  const groups = textGroups(state);
  if (groups === undefined || groups.length < 2) return undefined;
  const base = commonAncestor(groups.flatMap((g) => g.dots), ancestry.history, ancestry.contexts, lenient);
  if (base === undefined || base.value === null) return undefined;
  return mergeVersions(base.value, groups.map((g) => g.text));
}
