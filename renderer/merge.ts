// The editor's 3-way merge of a remote change into unsaved typing (base = the text the host last
// acknowledged, local = the editor, remote = the host's new text). The renderer may import only
// the API types from app/, so this is the renderer's own copy of the rule the engine applies to
// concurrent versions (engine/core/text-merge.ts): node-diff3 over lines; neighbouring one-for-one
// line replacements merge line by line; a merge whose changes from the two sides are not
// separated by an unchanged, non-blank, unique line is refused. Refused means: keep the local
// text and let the host keep both versions (a conflict), never drop either side.

import { diff3Merge, diff3MergeRegions } from 'node-diff3';

function counts(xs: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

function same(x: readonly string[], y: readonly string[]): boolean {
  return x.length === y.length && x.every((l, i) => l === y[i]);
}

function anchored(a: string[], o: string[], b: string[]): boolean {
  const [ca, co, cb] = [counts(a), counts(o), counts(b)];
  const isAnchor = (l: string): boolean => l.trim() !== '' && co.get(l) === 1 && ca.get(l) === 1 && cb.get(l) === 1;
  let last: string | null = null;
  let anchor = false;
  for (const r of diff3MergeRegions(a, o, b)) {
    if (r.stable && r.buffer === 'o') {
      if (r.bufferContent.some(isAnchor)) anchor = true;
      continue;
    }
    const side = r.stable ? r.buffer : same(r.aContent, r.bContent) ? 'both' : 'mixed';
    if (side === 'both') continue;
    if (last !== null && (last !== side || side === 'mixed') && !anchor) return false;
    last = side;
    anchor = false;
  }
  return true;
}

/** The merged text, or null when the two sides overlap or cannot be placed for certain. */
export function mergeEdits(local: string, base: string, remote: string): string | null {
  if (local === remote || remote === base) return local;
  if (local === base) return remote;
  const [a, o, b] = [local.split('\n'), base.split('\n'), remote.split('\n')];
  const out: string[] = [];
  for (const block of diff3Merge(a, o, b)) {
    if (block.ok) {
      out.push(...(block.ok as string[]));
      continue;
    }
    const c = block.conflict!;
    if (c.a.length !== c.o.length || c.b.length !== c.o.length) return null;
    for (let i = 0; i < c.o.length; i++) {
      if (c.a[i] === c.o[i]) out.push(c.b[i]);
      else if (c.b[i] === c.o[i] || c.b[i] === c.a[i]) out.push(c.a[i]);
      else return null;
    }
  }
  return anchored(a, o, b) ? out.join('\n') : null;
}
