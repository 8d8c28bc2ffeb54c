import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { ValidationError } from '../engine/core/errors.ts';
import { writeDelta } from '../engine/core/record.ts';
import { Replica } from '../engine/replica.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { MIGRATIONS } from '../engine/store/migrations.ts';
import { APPLICATION_ID, FTS_TRIGGERS, SCHEMA_VERSION, SqliteStore } from '../engine/store/sqlite.ts';
import type { Storage } from '../engine/store/store.ts';
import { putOf, storeConformance, UNDO_TREE_SNAPSHOT } from './store-conformance.ts';

async function tempDir(): Promise<string> {
  return fs.promises.mkdtemp(path.join(os.tmpdir(), 'notes-store-'));
}

storeConformance('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, cleanup: async () => store.close() };
});

storeConformance('SqliteStore', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'vault.db');
  const opened: Storage[] = [SqliteStore.open(file)];
  return {
    store: opened[0],
    reopen: async () => {
      const s = SqliteStore.open(file);
      opened.push(s);
      return s;
    },
    cleanup: async () => {
      for (const s of opened) s.close();
      await fs.promises.rm(dir, { recursive: true, force: true });
    },
  };
});

describe('MemoryStore', () => {
  test('uses the replica id it is given and refuses a malformed one', () => {
    assert.equal(new MemoryStore('0123456789abcdef').replicaId, '0123456789abcdef');
    assert.notEqual(new MemoryStore().replicaId, new MemoryStore().replicaId);
    assert.throws(() => new MemoryStore('peer-a'), ValidationError);
  });
});

describe('SqliteStore files', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  let n = 0;
  const fresh = () => path.join(dir, `case-${++n}`);

  function sha256(file: string): string {
    return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  }

  /** Opening `file` must fail with `code`, leave its bytes alone and create no side file. */
  function assertRefused(file: string, code: string, message: RegExp): void {
    const sum = sha256(file);
    const listing = fs.readdirSync(path.dirname(file)).sort();
    assert.throws(() => SqliteStore.open(file), (e: unknown) => {
      assert.equal((e as Error).name, 'StoreError');
      assert.equal((e as { code: string }).code, code);
      assert.ok((e as Error).message.includes(file), `message names the path: ${(e as Error).message}`);
      assert.match((e as Error).message, message);
      return true;
    });
    assert.equal(sha256(file), sum, 'file bytes changed');
    assert.deepEqual(fs.readdirSync(path.dirname(file)).sort(), listing, 'a -wal/-shm/-journal or temp file appeared');
  }

  function foreignDb(file: string, setup: string): void {
    const db = new DatabaseSync(file);
    db.exec(setup);
    db.close();
  }

  test('refuses a file that is not SQLite', () => {
    const file = fresh();
    fs.mkdirSync(file);
    const notes = path.join(file, 'notes.txt');
    fs.writeFileSync(notes, 'my precious notes, not a database\n'.repeat(200));
    assertRefused(notes, 'E_STORE_FORMAT', /not a SQLite database/);
  });

  test('refuses an existing empty file', () => {
    const file = fresh();
    fs.mkdirSync(file);
    const empty = path.join(file, 'vault.db');
    fs.writeFileSync(empty, '');
    assertRefused(empty, 'E_STORE_FORMAT', /empty/);
    assert.equal(fs.statSync(empty).size, 0);
  });

  test('refuses a SQLite database of another application', () => {
    const file = fresh();
    fs.mkdirSync(file);
    const db = path.join(file, 'other.db');
    foreignDb(db, 'PRAGMA application_id = 305419896; CREATE TABLE records (key TEXT); INSERT INTO records VALUES (1)');
    assertRefused(db, 'E_STORE_FORMAT', /another application.*0x12345678/);
  });

  test('refuses a WAL-mode SQLite database with no application id without creating side files', () => {
    const file = fresh();
    fs.mkdirSync(file);
    const db = path.join(file, 'plain.db');
    // A WAL database is the case where any ordinary SQLite connection, even read-only, would
    // leave -wal and -shm files behind.
    foreignDb(db, 'PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    assertRefused(db, 'E_STORE_FORMAT', /no application id/);
  });

  test('refuses a foreign database left with an uncheckpointed WAL, leaving both files alone', () => {
    const file = fresh();
    fs.mkdirSync(file);
    const live = path.join(file, 'live.db');
    const crashed = path.join(file, 'crashed.db');
    // Copying the files of a connection that is still open is what its app leaves on a crash:
    // committed data only in the -wal. A normal connection would recover it into the main file.
    const other = new DatabaseSync(live);
    other.exec('PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x); INSERT INTO t VALUES (randomblob(5000))');
    fs.copyFileSync(live, crashed);
    fs.copyFileSync(`${live}-wal`, `${crashed}-wal`);
    other.close();
    assert.ok(fs.statSync(`${crashed}-wal`).size > 5000, 'fixture: the data is in the WAL');
    const walSum = sha256(`${crashed}-wal`);
    assertRefused(crashed, 'E_STORE_FORMAT', /no application id/);
    assert.equal(sha256(`${crashed}-wal`), walSum, 'the WAL changed');
  });

  test('refuses a store written by a newer app version', () => {
    const file = fresh();
    fs.mkdirSync(file);
    const db = path.join(file, 'vault.db');
    SqliteStore.open(db).close();
    foreignDb(db, `PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    assertRefused(db, 'E_STORE_NEWER', new RegExp(`format ${SCHEMA_VERSION + 1}.*supports up to ${SCHEMA_VERSION}`));
  });

  /** The index of the migration step `what`, and a store path in a directory of its own. */
  function stepAndFile(what: string): { step: number; file: string } {
    const step = MIGRATIONS.findIndex((m) => m.what === what);
    assert.ok(step >= 0, 'the migration step is listed');
    const sub = fresh();
    fs.mkdirSync(sub);
    return { step, file: path.join(sub, 'vault.db') };
  }

  test('a store made before the conflicts index gets it on open, with its notes intact', () => {
    const { step, file } = stepAndFile('index of the notes with conflicts');
    const made = SqliteStore.open(file);
    made.commit({ puts: [], docs: [{ id: 'a', title: 'A', body: 'x', updated: 5, created: 1, trashed: false, conflicted: true }, { id: 'b', title: 'B', body: 'y', updated: 6, created: 1, trashed: false, conflicted: false }] });
    made.close();
    // Back to the format before the step: without its index (nor what later steps add), at its version.
    foreignDb(file, `DROP INDEX docs_conflicted; ${UNDO_TREE_SNAPSHOT} PRAGMA user_version = ${step + 1}`);
    const store = SqliteStore.open(file);
    try {
      assert.deepEqual(store.listDocs({ conflicted: true }).map((d) => d.id), ['a']);
      assert.deepEqual(store.listDocs({ trashed: false }).map((d) => d.id), ['b', 'a']);
    } finally {
      store.close();
    }
    const probe = new DatabaseSync(file, { readOnly: true });
    try {
      assert.equal(probe.prepare('PRAGMA user_version').get()?.user_version, SCHEMA_VERSION);
      const plan = probe.prepare('EXPLAIN QUERY PLAN SELECT id FROM docs WHERE conflicted = 1 ORDER BY updated DESC, id').all().map((r) => String(r.detail)).join(' ');
      assert.match(plan, /docs_conflicted/, 'the conflicts list reads the index, not every doc');
    } finally {
      probe.close();
    }
  });

  test('a store made before tree snapshots gets the table on open, and its tree opens the same', () => {
    const { step, file } = stepAndFile('a Merkle tree snapshot for a fast open');
    const made = SqliteStore.open(file);
    const puts = Array.from({ length: 300 }, (_, i) => putOf(`note/${i}/title`, writeDelta(undefined, { wall: i + 1, counter: 0, device: 'aaaaaaaaaaaaaaaa' }, `t${i}`)));
    made.commit({ puts });
    const root = Replica.open(made).tree.root();
    made.close();
    foreignDb(file, `${UNDO_TREE_SNAPSHOT} PRAGMA user_version = ${step + 1}`);
    const store = SqliteStore.open(file);
    try {
      const replica = Replica.open(store);
      assert.deepEqual(replica.tree.root(), root);
      assert.deepEqual(replica.tree.keysUnder([]).map((e) => e.key).sort(), puts.map((p) => p.key).sort());
    } finally {
      store.close();
    }
  });

  test('a store made before the history order index gets it on open, keeps its history, and bounds it through the index', () => {
    const { step, file } = stepAndFile('history in listing order');
    const key = 'note/n/body';
    const dev = 'aaaaaaaaaaaaaaaa';
    const made = SqliteStore.open(file);
    made.commit({ puts: [], history: Array.from({ length: 5 }, (_, i) => ({ key, device: dev, counter: i + 1, wall: i, tick: 0, value: `v${i}`, supersededBy: [], at: 10 + i })) });
    made.close();
    foreignDb(file, `DROP INDEX history_order; CREATE INDEX history_by_age ON history (key, at); PRAGMA user_version = ${step + 1}`);
    const store = SqliteStore.open(file);
    try {
      assert.deepEqual(store.history(key).map((h) => h.value), ['v4', 'v3', 'v2', 'v1', 'v0']);
      store.commit({ puts: [], prune: [{ key, keep: 2, before: 0, current: [] }] });
      assert.deepEqual(store.history(key).map((h) => h.value), ['v4', 'v3']);
    } finally {
      store.close();
    }
    const probe = new DatabaseSync(file, { readOnly: true });
    try {
      assert.equal(probe.prepare('PRAGMA user_version').get()?.user_version, SCHEMA_VERSION);
      const indexes = probe.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'history' AND sql IS NOT NULL").all().map((r) => r.name);
      assert.deepEqual(indexes, ['history_order'], 'the new index replaced the old one');
      const plan = probe.prepare('EXPLAIN QUERY PLAN SELECT at, device, counter FROM history WHERE key = ? ORDER BY at DESC, device DESC, counter DESC LIMIT 1 OFFSET 2').all().map((r) => String(r.detail)).join(' ');
      assert.match(plan, /COVERING INDEX history_order/, 'the bound is found in the index alone');
      assert.doesNotMatch(plan, /TEMP B-TREE/, 'without sorting');
    } finally {
      probe.close();
    }
  });

  test('a store made when triggers kept the search index loses them on open, and search stays right', () => {
    const { step, file } = stepAndFile('search index written without triggers');
    const doc = (id: string, body: string, trashed = false) => ({ id, title: id, body, updated: 1, created: 1, trashed, conflicted: false });
    const made = SqliteStore.open(file);
    made.commit({ puts: [], docs: [doc('a', 'apple pie'), doc('b', 'banana bread'), doc('c', 'cherry tart', true)] });
    made.close();
    // Back to the format before the step: the three triggers of the first format, at its version.
    foreignDb(file, `${FTS_TRIGGERS} PRAGMA user_version = ${step + 1}`);
    const store = SqliteStore.open(file);
    try {
      // Notes indexed by the triggers, rewritten by the store: each text must be indexed once.
      store.commit({ puts: [], docs: [doc('a', 'apple crumble'), doc('c', 'cherry tart'), doc('d', 'date cake')] });
      const ids = (q: string) => store.search(q).map((h) => h.id).sort();
      assert.deepEqual(ids('apple'), ['a']);
      assert.deepEqual(ids('pie'), [], 'the old text of a left the index');
      assert.deepEqual(ids('crumble'), ['a']);
      assert.deepEqual(ids('banana'), ['b'], 'a note written before the upgrade is still found');
      assert.deepEqual(ids('cherry'), ['c'], 'a note restored from the trash is found');
      assert.deepEqual(ids('cake'), ['d']);
    } finally {
      store.close();
    }
    const probe = new DatabaseSync(file);
    try {
      assert.equal(probe.prepare('PRAGMA user_version').get()?.user_version, SCHEMA_VERSION);
      assert.deepEqual(probe.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all(), [], 'no trigger left');
      probe.exec("INSERT INTO docs_fts (docs_fts, rank) VALUES ('integrity-check', 0)");
    } finally {
      probe.close();
    }
  });

  test('refuses a directory at the store path', () => {
    const file = fresh();
    fs.mkdirSync(file);
    assert.throws(() => SqliteStore.open(file), { name: 'StoreError', code: 'E_STORE_FORMAT' });
  });

  test('a new store is a marked, versioned WAL database with nothing left beside it', () => {
    const sub = fresh();
    fs.mkdirSync(sub);
    const file = path.join(sub, 'vault.db');
    const store = SqliteStore.open(file);
    try {
      const probe = new DatabaseSync(file, { readOnly: true });
      try {
        assert.equal(probe.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
        assert.equal(probe.prepare('PRAGMA application_id').get()?.application_id, APPLICATION_ID);
        assert.equal(probe.prepare('PRAGMA user_version').get()?.user_version, SCHEMA_VERSION);
      } finally {
        probe.close();
      }
    } finally {
      store.close();
    }
    assert.deepEqual(fs.readdirSync(sub), ['vault.db'], 'no creation temp file or WAL left after close');
  });

  test('the replica id is chosen once and kept across reopen', () => {
    const file = fresh();
    const created = SqliteStore.open(file, { replicaId: '00112233445566ff' });
    created.close();
    const again = SqliteStore.open(file);
    assert.equal(again.replicaId, '00112233445566ff');
    again.close();
    assert.throws(() => SqliteStore.open(file, { replicaId: 'ffeeddccbbaa9988' }), { code: 'E_STORE_FORMAT', message: /belongs to replica 00112233445566ff/ });
    const missing = fresh();
    assert.throws(() => SqliteStore.open(missing, { replicaId: 'not hex' }), ValidationError);
    assert.equal(fs.existsSync(missing), false, 'a refused open creates no file');
  });

  test('a record whose stored bytes no longer match their hash is not sent on: the snapshot says the store is damaged', () => {
    const file = fresh();
    const store = SqliteStore.open(file, { replicaId: '00112233445566ff' });
    const state = writeDelta(undefined, { wall: 1, counter: 0, device: '00112233445566ff' }, 'hello');
    store.commit({ puts: [{ key: 'a', state }, { key: 'b', state }] });
    const snap = store.snapshot();
    assert.equal([...snap.records()].length, 2);
    snap.close();
    store.close();
    // One flipped byte inside the value, as a bad disk sector would leave it (SQLite has no checksums).
    const db = new DatabaseSync(file);
    const row = db.prepare("SELECT state FROM records WHERE key = 'b'").get() as { state: Uint8Array };
    const bad = new Uint8Array(row.state);
    bad[bad.length - 1] ^= 0x01;
    db.prepare("UPDATE records SET state = ? WHERE key = 'b'").run(bad);
    db.close();
    const reopened = SqliteStore.open(file);
    const damaged = reopened.snapshot();
    try {
      assert.throws(() => [...damaged.records()], (e: unknown) => {
        assert.equal((e as Error).name, 'StoreError');
        assert.equal((e as { code: string }).code, 'E_STORE_FORMAT');
        assert.equal((e as { details: { damaged: boolean; key: string } }).details.damaged, true);
        assert.equal((e as { details: { key: string } }).details.key, 'b');
        return true;
      });
    } finally {
      damaged.close();
      reopened.close();
    }
  });

  test('a commit that fails inside the transaction rolls all of it back', () => {
    const file = fresh();
    const store = SqliteStore.open(file);
    try {
      const first = putOf('k', writeDelta(undefined, { wall: 1, counter: 0, device: store.replicaId }, 'v1'));
      store.commit({ puts: [first] });
      // Make the database itself refuse the last write of a batch that passes validation.
      const saboteur = new DatabaseSync(file);
      saboteur.exec(`CREATE TRIGGER refuse BEFORE INSERT ON cursors WHEN new.replica = 'dddddddddddddddd' BEGIN SELECT RAISE(ABORT, 'sabotage'); END`);
      saboteur.close();
      const second = putOf('k', writeDelta(first.state, { wall: 2, counter: 0, device: store.replicaId }, 'v2'));
      const doc = { id: 'n', title: 'lost', body: 'lost', updated: 2, created: 2, trashed: false, conflicted: false };
      assert.throws(
        () => store.commit({ puts: [second], docs: [doc], clock: { wall: 2, counter: 0, device: store.replicaId }, cursors: [{ replica: 'dddddddddddddddd', seq: 1 }] }),
        /sabotage/,
      );
      assert.equal(store.seq(), 1);
      assert.equal(store.get('k')?.versions[0].value, 'v1');
      assert.equal(store.getDoc('n'), undefined);
      assert.deepEqual(store.search('lost'), []);
      assert.equal(store.clock(), null);
      store.commit({ puts: [second] });
      assert.equal(store.seq(), 2, 'the failed batch used up no sequence number');
      assert.deepEqual(store.changesSince(0, 10), [{ key: 'k', seq: 2 }]);
    } finally {
      store.close();
    }
  });
});
