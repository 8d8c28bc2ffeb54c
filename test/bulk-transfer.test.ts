// A peer that holds nothing gets the whole vault (issue 11, initial sync): the sender passes its
// stored bytes on without decoding them, in key order, and the receiver merges the long message
// in chunks as it arrives. Key order is what keeps that cheap: a note's fields travel together,
// so each note is indexed about once, however many chunks the transfer takes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AntiEntropySession, INBOX_BYTES } from '../engine/core/anti-entropy.ts';
import { decodeFrame, type Step } from '../engine/core/protocol.ts';
import { noteKey, notesIndexer } from '../engine/notes.ts';
import { Replica, type DocIndexer } from '../engine/replica.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { A, B, NOW, SALT } from './protocol-helpers.ts';
import { Prng } from './prng.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { syncPair } from '../engine/sync-pair.ts';

const NOTES = 3_000;
// ~2 KB of words drawn at random: 3,000 notes are several inboxes even compressed on the wire.
const rng = new Prng(0xb01c);
const WORDS = Array.from({ length: 2_000 }, () => Array.from({ length: rng.int(2, 9) }, () => String.fromCharCode(97 + rng.int(0, 25))).join(''));
const body = (): string => Array.from({ length: 350 }, () => WORDS[rng.int(0, WORDS.length - 1)]).join(' ').slice(0, 2_000);

function vault(): Replica {
  const r = Replica.open(new MemoryStore(A), { now: () => NOW, indexer: notesIndexer });
  for (let start = 0; start < NOTES; start += 500) {
    const writes = [];
    for (let i = start; i < start + 500; i++) {
      const id = `n${String(i).padStart(5, '0')}`;
      writes.push({ key: noteKey(id, 'title'), value: `note ${i}` }, { key: noteKey(id, 'body'), value: `${i} ${body()}` }, { key: noteKey(id, 'created'), value: String(NOW - i) });
    }
    r.write(writes);
  }
  return r;
}

test('a whole vault arrives in key order, is merged in chunks as it comes, and each note is indexed about once', () => {
  const source = vault();
  const indexed = new Map<string, number>();
  let commits = 0;
  const counting: DocIndexer = (keys, get) => {
    commits++;
    const docs = notesIndexer(keys, get);
    for (const d of docs) indexed.set(d.id, (indexed.get(d.id) ?? 0) + 1);
    return docs;
  };
  const joiner = Replica.open(new MemoryStore(B), { now: () => NOW, indexer: counting });

  const { session: init, frames } = AntiEntropySession.initiate(joiner, { salt: SALT });
  const resp = AntiEntropySession.respond(source);
  const reply = frames.flatMap((f) => resp.receive(f));
  const keys = reply.flatMap((f) => (decodeFrame(f, 4) as Step).records.map((r) => r.key));
  assert.equal(keys.length, NOTES * 3);
  assert.deepEqual(keys, [...keys].sort(), 'records travel in key order');

  let mergedBeforeTheEnd = 0;
  for (const [i, f] of reply.entries()) {
    init.receive(f);
    if (i < reply.length - 1) mergedBeforeTheEnd = joiner.tree.node([]).count;
  }
  assert.equal(init.status, 'done');
  const wire = reply.reduce((n, f) => n + f.length, 0);
  assert.ok(init.stats.recordBytesReceived > 2 * INBOX_BYTES, `the records (${init.stats.recordBytesReceived} B) fill several inboxes`);
  assert.ok(wire < init.stats.recordBytesReceived * 0.8, `compressed on the wire: ${wire} B for ${init.stats.recordBytesReceived} B of records`);
  assert.ok(mergedBeforeTheEnd > 0, 'records were merged before the last frame arrived');
  assert.deepEqual(joiner.tree.node([]).digest, source.tree.node([]).digest, 'the joiner holds the whole vault');
  assert.ok(commits >= 2, `merged in ${commits} commits`);
  assert.equal(indexed.size, NOTES);
  // A note whose fields straddle two chunks is indexed once per chunk: at most one per boundary.
  const twice = [...indexed.values()].filter((n) => n > 1).length;
  assert.ok(twice <= commits - 1, `${twice} notes indexed more than once in ${commits} commits`);
  assert.equal(Math.max(...indexed.values()), twice > 0 ? 2 : 1);
  assert.equal(joiner.storage.search(WORDS[7], 5).length, 5);
});

test('a store read as it is sent: writes made mid-transfer wait for the next session, and the announced total holds', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bulk-transfer-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = SqliteStore.open(join(dir, 'notes.db'));
  t.after(() => store.close());
  const source = Replica.open(store, { now: () => NOW, indexer: notesIndexer });
  source.write(Array.from({ length: 2_000 }, (_, i) => ({ key: noteKey(`n${i}`, 'body'), value: `${i} ${body()}` })));
  const joiner = Replica.open(new MemoryStore(B), { now: () => NOW, indexer: notesIndexer });

  // The reply taken frame by frame, as a link takes it.
  const resp = AntiEntropySession.respond(source);
  const { session: init, frames: hello } = AntiEntropySession.initiate(joiner, { salt: SALT });
  const taken = resp.answer(hello[0])[Symbol.iterator]();
  const first = taken.next();
  assert.equal(first.done, false);
  // Both keys sort after everything the first frame carried: a read that saw them would send them.
  source.write([{ key: noteKey('zz-late', 'body'), value: 'written while the transfer ran' }, { key: noteKey('n999', 'body'), value: 'edited while the transfer ran' }]);
  init.receive(first.value!);
  for (let f = taken.next(); !f.done; f = taken.next()) init.receive(f.value);
  assert.equal(init.status, 'done', init.error?.message);
  assert.equal(init.progress?.recordsTotal, 2_000, 'the total announced is what was sent');
  assert.equal(joiner.get(noteKey('zz-late', 'body')), undefined, 'a write after the snapshot waits for the next session');
  assert.match(String(joiner.get(noteKey('n999', 'body'))?.versions[0].value), /^999 [a-z]/);
  const next = syncPair(joiner, source);
  assert.ok(next.ok);
  assert.deepEqual(joiner.tree.root(), source.tree.root());
});
