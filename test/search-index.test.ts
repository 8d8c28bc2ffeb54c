// The SQLite store keeps its full-text index in step with the notes' doc rows itself (writeDoc in
// engine/store/sqlite.ts, since format 7; triggers did it before). Random sequences of doc
// writes, in batches of random size, go through the SQLite store and the reference memory
// store: after every batch FTS5's own integrity check holds (no text was removed from the index
// that it did not hold) and every word finds the same notes in both (no stale or missing text).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import fc from 'fast-check';
import { MemoryStore } from '../engine/store/memory.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import type { DocEntry } from '../engine/store/store.ts';

const SEED = 0x5ea7c4;
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'kappa'];
const IDS = ['a', 'b', 'c', 'd'];

const text = fc.array(fc.constantFrom(...WORDS), { maxLength: 4 }).map((w) => w.join(' '));
const write = fc.record({
  id: fc.constantFrom(...IDS),
  title: text,
  body: text,
  trashed: fc.boolean(),
  conflicted: fc.boolean(),
  updated: fc.integer({ min: 1, max: 1000 }),
});
// A batch writes each id at most once, as a commit does.
const batch = fc.uniqueArray(write, { selector: (w) => w.id, minLength: 1, maxLength: IDS.length });

function integrityCheck(file: string): void {
  const db = new DatabaseSync(file);
  try {
    // Throws if the index is inconsistent, e.g. after a removal of text it never held. (Not
    // checked against the docs table: trashed notes are left out of the index on purpose.)
    db.exec("INSERT INTO docs_fts (docs_fts, rank) VALUES ('integrity-check', 0)");
  } finally {
    db.close();
  }
}

test('the search index matches the notes after any sequence of writes, trashing and restoring included', () => {
  console.log(`# fast-check seed ${SEED}`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-search-index-'));
  let run = 0;
  try {
    fc.assert(fc.property(fc.array(batch, { minLength: 1, maxLength: 8 }), (batches) => {
      const file = path.join(root, `s${run++}.db`);
      const sqlite = SqliteStore.open(file);
      const memory = new MemoryStore(sqlite.replicaId);
      try {
        for (const b of batches) {
          const docs: DocEntry[] = b.map((w) => ({ ...w, created: 1 }));
          sqlite.commit({ puts: [], docs });
          memory.commit({ puts: [], docs });
          integrityCheck(file);
          for (const word of WORDS) {
            const found = (s: SqliteStore | MemoryStore) => s.search(word).map((h) => h.id).sort();
            assert.deepEqual(found(sqlite), found(memory), `"${word}" finds the same notes`);
          }
        }
      } finally {
        sqlite.close();
      }
    }), { seed: SEED, numRuns: 60 });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a commit of many notes is searchable as a whole, and a failed one leaves the index as it was', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-search-index-'));
  const file = path.join(root, 'vault.db');
  const store = SqliteStore.open(file);
  try {
    const many = Array.from({ length: 500 }, (_, i) => ({ id: `n${i}`, title: `title ${i}`, body: `${WORDS[i % WORDS.length]} body`, updated: i + 1, created: 1, trashed: false, conflicted: false }));
    store.commit({ puts: [], docs: many });
    assert.equal(store.search('alpha', 1000).length, Math.ceil(500 / WORDS.length));
    integrityCheck(file);
    // The last doc is invalid (a lone surrogate): the batch is refused before anything is written.
    const bad = [{ ...many[0], body: 'omega now' }, { ...many[1], body: 'bad \ud800' }];
    assert.throws(() => store.commit({ puts: [], docs: bad }), { name: 'ValidationError' });
    assert.deepEqual(store.search('omega now').map((h) => h.id), [], 'the refused batch changed nothing');
    assert.equal(store.search('alpha', 1000).length, Math.ceil(500 / WORDS.length));
    integrityCheck(file);
  } finally {
    store.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
