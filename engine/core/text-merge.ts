// Line-based 3-way merge of concurrent versions of a text field (node-diff3), pure and
// deterministic: the same base and versions give the same bytes on every device, whatever order
// the versions arrived in, because callers pass the versions in canonical dot order.
//
// diff3 reports changes to neighbouring lines as one overlapping region (line 2 changed here,
// line 3 there). When both sides only replaced lines one for one in such a region, each line was
// changed on at most one side and is taken from that side: the region is bounded by the same
// anchors, so nothing can move. Any other overlap (a line changed on both sides differently,
// lines added or removed next to the other side's change) stays a conflict.
//
// A merge is "clean" only when no region was changed on both sides AND every change of one side
// is separated from every change of another side by an anchor: an unchanged line that is not
// blank and occurs once in each of the three texts. Without such an anchor diff3 may have lined
// the texts up on a blank or repeated line and put an edit in the wrong place or twice; then the
// versions stay a conflict (nothing is lost either way).

import { diff3Merge, diff3MergeRegions } from 'node-diff3';

export type MergeOutcome =
  | { readonly clean: true; readonly text: string }
  /** `text` is the merge with each doubtful region marked (both sides, git-style markers). */
  | { readonly clean: false; readonly text: string; readonly reason: 'overlap' | 'anchor' };

export const MARK_START = '<<<<<<<';
export const MARK_MIDDLE = '=======';
export const MARK_END = '>>>>>>>';

function lines(text: string): string[] {
  return text.split('\n');
}

function counts(xs: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

/** Whether every change of one side is anchored away from every change of the other. */
function anchored(a: string[], o: string[], b: string[]): boolean {
  const ca = counts(a);
  const co = counts(o);
  const cb = counts(b);
  const isAnchor = (line: string): boolean => line.trim() !== '' && co.get(line) === 1 && ca.get(line) === 1 && cb.get(line) === 1;
  let lastSide: 'a' | 'b' | 'mixed' | null = null;
  let anchorSince = false;
  for (const r of diff3MergeRegions(a, o, b)) {
    let side: 'a' | 'b' | 'both' | 'mixed';
    if (r.stable && r.buffer === 'o') {
      if (r.bufferContent.some(isAnchor)) anchorSince = true;
      continue;
    }
    if (r.stable) side = r.buffer === 'a' ? 'a' : 'b';
    else side = sameLines(r.aContent, r.bContent) ? 'both' : 'mixed';
    // The same change on both sides cannot be misplaced against itself.
    if (side === 'both') continue;
    // A line-by-line region holds both sides' changes: it needs an anchor from any change.
    if (lastSide !== null && (lastSide !== side || side === 'mixed') && !anchorSince) return false;
    lastSide = side;
    anchorSince = false;
  }
  return true;
}

function sameLines(x: readonly string[], y: readonly string[]): boolean {
  return x.length === y.length && x.every((l, i) => l === y[i]);
}

/** One-for-one line replacements on both sides, each line changed on at most one: merged. */
function lineByLine(a: readonly string[], o: readonly string[], b: readonly string[]): string[] | undefined {
  if (a.length !== o.length || b.length !== o.length) return undefined;
  const out: string[] = [];
  for (let i = 0; i < o.length; i++) {
    if (a[i] === o[i]) out.push(b[i]);
    else if (b[i] === o[i] || b[i] === a[i]) out.push(a[i]);
    else return undefined;
  }
  return out;
}

/** Merges `a` and `b`, both derived from `base`. */
export function merge3(a: string, base: string, b: string): MergeOutcome {
  if (a === b) return { clean: true, text: a };
  if (a === base) return { clean: true, text: b };
  if (b === base) return { clean: true, text: a };
  const la = lines(a);
  const lo = lines(base);
  const lb = lines(b);
  const out: string[] = [];
  let overlap = false;
  for (const block of diff3Merge(la, lo, lb)) {
    if (block.ok) out.push(...(block.ok as string[]));
    else if (block.conflict) {
      const { a: ca, o: co, b: cb } = block.conflict;
      const resolved = lineByLine(ca, co, cb);
      if (resolved !== undefined) {
        out.push(...resolved);
        continue;
      }
      overlap = true;
      out.push(MARK_START, ...ca, MARK_MIDDLE, ...cb, MARK_END);
    }
  }
  const text = out.join('\n');
  if (overlap) return { clean: false, text, reason: 'overlap' };
  if (!anchored(la, lo, lb)) return { clean: false, text: markWhole(a, b), reason: 'anchor' };
  return { clean: true, text };
}

function markWhole(a: string, b: string): string {
  return [MARK_START, a, MARK_MIDDLE, b, MARK_END].join('\n');
}

/**
 * Merges several versions derived from one base, folding left in the given (canonical) order.
 * Identical texts must be passed once.
 */
export function mergeVersions(base: string, versions: readonly string[]): MergeOutcome {
  if (versions.length === 0) return { clean: true, text: base };
  let acc = versions[0];
  for (const next of versions.slice(1)) {
    const step = merge3(acc, base, next);
    if (!step.clean) return step;
    acc = step.text;
  }
  return { clean: true, text: acc };
}
