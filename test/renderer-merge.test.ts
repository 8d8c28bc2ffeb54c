// The editor's merge of a remote change into unsaved typing (renderer/merge.ts) is the renderer's
// own copy of the engine's rule (engine/core/text-merge.ts), because the renderer imports nothing
// from the engine. This keeps the two copies in agreement: same text when clean, refused exactly
// when the engine would keep a conflict.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { merge3 } from '../engine/core/text-merge.ts';
import { mergeEdits } from '../renderer/merge.ts';

test('the editor merges another paragraph\'s edit into typing, and refuses overlaps and unanchored edits', () => {
  const base = 'Title\n\nFirst paragraph.\n\nSecond paragraph.\n\nThird paragraph.';
  const local = base.replace('First paragraph.', 'First paragraph. Typed here');
  const remote = base.replace('Third paragraph.', 'Third paragraph, edited there.');
  assert.equal(mergeEdits(local, base, remote), 'Title\n\nFirst paragraph. Typed here\n\nSecond paragraph.\n\nThird paragraph, edited there.');
  assert.equal(mergeEdits(base.replace('Second', 'My second'), base, base.replace('Second', 'Their second')), null);
  assert.equal(mergeEdits('x\n\nB', '\n\n', 'A\n\ny'), null);
  assert.equal(mergeEdits(local, base, base), local, 'nothing remote: the typing stays');
});

test('property: the editor\'s merge and the engine\'s agree (seeded)', () => {
  const SEED = 0x4ed17;
  console.log(`# fast-check seed ${SEED}`);
  const lineArb = fc.constantFrom('alpha', 'beta', 'gamma', '', 'delta', '- item', 'epsilon');
  const editArb = fc.array(fc.tuple(fc.nat(20), fc.constantFrom('ins', 'del', 'rep'), lineArb), { maxLength: 4 });
  const apply = (lines: string[], edits: [number, string, string][]): string[] => {
    const out = [...lines];
    for (const [at, kind, text] of edits) {
      const i = out.length === 0 ? 0 : at % (out.length + (kind === 'ins' ? 1 : 0));
      if (kind === 'ins') out.splice(i, 0, text);
      else if (out.length > 0 && kind === 'del') out.splice(i % out.length, 1);
      else if (out.length > 0) out[i % out.length] = `${text} (changed)`;
    }
    return out;
  };
  fc.assert(fc.property(fc.array(lineArb, { minLength: 1, maxLength: 12 }), editArb, editArb, (baseLines, ea, eb) => {
    const base = baseLines.join('\n');
    const a = apply(baseLines, ea).join('\n');
    const b = apply(baseLines, eb).join('\n');
    const engine = merge3(a, base, b);
    const editor = mergeEdits(a, base, b);
    if (engine.clean) assert.equal(editor, engine.text);
    else assert.equal(editor, null);
  }), { seed: SEED, numRuns: 2000 });
});
