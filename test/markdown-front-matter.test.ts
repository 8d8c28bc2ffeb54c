// The mapping between a Markdown file and a note's fields (engine/markdown/front-matter.ts): which
// front-matter keys become fields, that every other key stays in the body in the user's own bytes,
// the title fallbacks, and that rendering a note and reading it back gives the same fields and
// the same body byte for byte, for any body.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseMarkdown, renderMarkdown, titleFromHeading } from '../engine/markdown/front-matter.ts';
import { planImport } from '../engine/markdown/import-plan.ts';

const SEED = 0x13_f00d;
console.log(`front-matter property seed: ${SEED}`);

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('front matter -> note fields', () => {
  test('mapped keys are consumed; a block of only mapped keys leaves the body without it', () => {
    const got = parseMarkdown('---\nid: abc-1\ntitle: Hello\ncreated: 2023-01-05T10:20:30.123Z\nupdated: "2023-01-06T00:00:00Z"\ntrashed: true\n---\nBody\n');
    assert.deepEqual(got.fields, { id: 'abc-1', title: 'Hello', created: Date.UTC(2023, 0, 5, 10, 20, 30, 123), updated: Date.UTC(2023, 0, 6), trashed: true });
    assert.equal(got.body, 'Body\n');
  });

  test('unmapped keys stay in the body in their own bytes (comments, order, quoting, lists)', () => {
    const file = '---\n# my comment\ntags: [a,  b]\ntitle: T\naliases:\n  - One\n  - "Two"\ncreated: 2023-01-05\nstatus:   draft\n---\ntext\n';
    const got = parseMarkdown(file);
    assert.equal(got.fields.title, 'T');
    assert.equal(got.fields.created, Date.UTC(2023, 0, 5));
    assert.equal(got.body, '---\n# my comment\ntags: [a,  b]\naliases:\n  - One\n  - "Two"\nstatus:   draft\n---\ntext\n');
  });

  test('a mapped key whose value is unusable is not consumed: it stays in the body', () => {
    const got = parseMarkdown('---\nid: Not An Id!\ntitle: 2024\ncreated: someday\n---\nx');
    assert.deepEqual(got.fields, {});
    assert.equal(got.body, '---\nid: Not An Id!\ntitle: 2024\ncreated: someday\n---\nx');
  });

  test('a multi-line mapped value is removed whole', () => {
    const got = parseMarkdown('---\ntitle: >\n  folded\n  title\nkeep: 1\n---\nx');
    assert.equal(got.fields.title, 'folded title\n');
    assert.equal(got.body, '---\nkeep: 1\n---\nx');
  });

  test('text that is not front matter is all body: no closing line, broken YAML, a list, another language', () => {
    for (const text of [
      '---\ntitle: never closed\n',
      '---\nbroken: [yaml\n---\nbody',
      '---\n- a\n- b\n---\nbody',
      '---js\n{ title: (() => { throw new Error("evaluated") })() }\n---\nbody',
      '--- \ntitle: x\n---\n',
      'no front matter at all',
      '',
    ]) {
      const got = parseMarkdown(text);
      assert.deepEqual(got.fields, {}, text);
      assert.equal(got.body, text);
    }
  });

  test('Windows line endings are kept in the body', () => {
    const got = parseMarkdown('---\r\ntitle: W\r\n---\r\nline one\r\nline two\r\n');
    assert.equal(got.fields.title, 'W');
    assert.equal(got.body, 'line one\r\nline two\r\n');
  });

  test('the title falls back to the first level-1 heading outside code, then to the file name', () => {
    assert.equal(titleFromHeading('intro\n## Sub\n```\n# in code\n```\n#  The Title  ##\n# Second'), 'The Title');
    assert.equal(titleFromHeading('#hashtag is no heading\n~~~\n# fenced\n~~~'), undefined);
    const plan = planImport('vault', [
      { path: 'fm.md', bytes: utf8('---\ntitle: From front matter\n---\n# From heading'), size: 0, modified: 1_000 },
      { path: 'h.md', bytes: utf8('# From heading\ntext'), size: 0, modified: 1_000 },
      { path: 'sub/From file name.markdown', bytes: utf8('just text'), size: 0, modified: 1_000 },
    ]);
    assert.deepEqual(plan.notes.map((n) => [n.title, n.folder]), [['From front matter', ''], ['From heading', ''], ['From file name', 'sub']]);
  });
});

describe('note -> file -> note', () => {
  test('an id that YAML would read as a number is quoted, and reads back as the same id', () => {
    // Hex ids drawn at random: `1e49315218218468` is a float to YAML, all digits an integer (an
    // export of such a note once imported as a new note, with the id line left in its body).
    for (const id of ['1e49315218218468', '1234567890123456', '0123456789012345', '0e00000000000000', 'abcdef0123456789']) {
      const file = renderMarkdown({ id, title: 'T', body: 'b', created: 1, updated: 2 });
      const back = parseMarkdown(file);
      assert.equal(back.fields.id, id, file);
      assert.equal(back.body, 'b', file);
    }
    assert.match(renderMarkdown({ id: 'abcdef0123456789', title: 'T', body: 'b', created: 1, updated: 2 }), /^---\nid: abcdef0123456789\n/, 'an id YAML reads as text stays bare');
  });

  test('a body with a block of its own gets our keys merged into that one block', () => {
    const body = '---\ntags: [x]\n---\n# Hi\n';
    const text = renderMarkdown({ id: 'n1', title: 'Hi', body, created: 1_700_000_000_000, updated: 1_700_000_000_001 });
    assert.equal(text, '---\nid: n1\ntitle: "Hi"\ncreated: 2023-11-14T22:13:20.000Z\nupdated: 2023-11-14T22:13:20.001Z\ntags: [x]\n---\n# Hi\n');
    assert.equal(parseMarkdown(text).body, body);
  });

  test('any title and any body read back exactly (property, fixed seed)', () => {
    const bodyArb = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 200 }),
      fc.tuple(fc.constantFrom('---\n', '---\r\n', '---\ntitle: x\n---\n', '---\ntags: [a]\n---\n', '---\n---\n', '---\nk: v\n'), fc.string({ unit: 'grapheme', maxLength: 80 })).map(([a, b]) => a + b),
    );
    const titleArb = fc.string({ unit: 'grapheme', maxLength: 60 });
    const timeArb = fc.integer({ min: 1, max: 4_102_444_800_000 });
    fc.assert(fc.property(titleArb, bodyArb, timeArb, timeArb, fc.boolean(), (title, body, created, updated, trashed) => {
      const back = parseMarkdown(renderMarkdown({ id: 'abc', title, body, created, updated, trashed }));
      assert.equal(back.body, body);
      assert.deepEqual(back.fields, { id: 'abc', title, created, updated, ...(trashed ? { trashed } : {}) });
    }), { seed: SEED, numRuns: 1000 });
  });
});
