// Export file names: a table of hostile titles and the names they become, each checked to be a
// valid name on Linux, macOS and Windows, and names kept unique the way the loosest of those
// systems compares them (case-insensitive, Unicode-normalized).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPortableName, MAX_NAME_BYTES, NameAllocator, safeFolder, safeSegment } from '../engine/markdown/file-names.ts';
import { planExport } from '../engine/markdown/export-plan.ts';
import type { Note } from '../engine/core/note-types.ts';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

// title -> file name of the export
const TABLE: readonly (readonly [string, string])[] = [
  ['Plain title', 'Plain title.md'],
  ['a/b\\c', 'a_b_c.md'],
  ['What? *"quoted"* <tag> | pipe: colon', 'What_ __quoted__ _tag_ _ pipe_ colon.md'],
  ['CON', 'CON_.md'],
  ['con.txt', 'con_.txt.md'],
  ['Lpt9', 'Lpt9_.md'],
  ['COM¹', 'COM¹_.md'],
  ['aux .notes', 'aux_ .notes.md'],
  ['NULL is fine', 'NULL is fine.md'],
  ['trailing dots...', 'trailing dots.md'],
  ['trailing space   ', 'trailing space.md'],
  ['  leading space', 'leading space.md'],
  ['.hidden', '_hidden.md'],
  ['..', 'Untitled.md'],
  ['', 'Untitled.md'],
  ['   ', 'Untitled.md'],
  ['tab\there\nnewline\u0000nul\u007fdel', 'tab_here_newline_nul_del.md'],
  ['x'.repeat(300), `${'x'.repeat(180)}.md`],
  ['日本語'.repeat(100), `${'日本語'.repeat(20)}.md`],
  ['🎉'.repeat(100), `${'🎉'.repeat(45)}.md`],
  ['lone \ud800 surrogate', 'lone \ufffd surrogate.md'],
  ['e\u0301clair', '\u00e9clair.md'],
];

describe('export file names', () => {
  for (const [title, expected] of TABLE) {
    test(`${JSON.stringify(title.length > 40 ? `${title.slice(0, 40)}…` : title)} -> ${JSON.stringify(expected.length > 40 ? `${expected.slice(0, 40)}…` : expected)}`, () => {
      const name = new NameAllocator().take('', safeSegment(title), '.md');
      assert.equal(name, expected);
      assert.ok(isPortableName(name), `${name} is valid on Linux, macOS and Windows`);
      assert.ok(bytes(name) <= MAX_NAME_BYTES);
    });
  }

  test('clashing names get a counter, compared case-insensitively and after Unicode normalization', () => {
    const names = new NameAllocator();
    const got = ['Same', 'same', 'SAME', '\u00e9t\u00e9', 'e\u0301te\u0301', 'a:b', 'a?b'].map((t) => names.take('', safeSegment(t), '.md'));
    assert.deepEqual(got, ['Same.md', 'same (2).md', 'SAME (3).md', 'été.md', 'été (2).md', 'a_b.md', 'a_b (2).md']);
    // The same name in another folder is no clash.
    assert.equal(names.take('Sub', 'Same', '.md'), 'Sub/Same.md');
    assert.equal(names.take('sub', 'same', '.md'), 'sub/same (2).md');
  });

  test('a long name keeps room for the conflict suffix and the counter', () => {
    const names = new NameAllocator();
    const stem = safeSegment('界'.repeat(200));
    const first = names.take('', stem, '.md', ' (conflict from 0123456789abcdef)');
    const second = names.take('', stem, '.md', ' (conflict from 0123456789abcdef)');
    for (const n of [first, second]) {
      assert.ok(isPortableName(n), n);
      assert.ok(bytes(n) <= MAX_NAME_BYTES);
    }
    assert.notEqual(first, second);
  });

  test('folders are made of safe segments', () => {
    assert.equal(safeFolder(''), '');
    assert.equal(safeFolder('Projects/2024'), 'Projects/2024');
    assert.equal(safeFolder('a:b/CON/x.'), 'a_b/CON_/x');
    assert.equal(safeFolder('.git/..'), '_git/_');
  });

  test('an export of notes titled with every entry of the table has only portable, unique paths', () => {
    const notes: Note[] = TABLE.map(([title], i) => ({
      id: `n${i}`, title, body: `body ${i}`, created: 1_700_000_000_000 + i, updated: 1_700_000_000_500 + i,
      trashed: false, folder: i % 3 === 0 ? 'Folder: one' : '', conflicts: {}, rev: '',
    }));
    const files = planExport(notes);
    assert.equal(files.length, notes.length);
    const seen = new Set<string>();
    for (const f of files) {
      for (const segment of f.path.split('/')) assert.ok(isPortableName(segment), `${f.path}: ${segment}`);
      const key = f.path.normalize('NFC').toLowerCase();
      assert.ok(!seen.has(key), `duplicate ${f.path}`);
      seen.add(key);
    }
  });
});
