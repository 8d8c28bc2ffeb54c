// A damaged notes.db (engine/store/damage.ts, engine/open-replica.ts, app/data-dir-problems.ts):
// told apart from other refusals, left untouched unless the host chooses to start fresh; then kept
// aside (never deleted) with what SQLite can still read written to recovered-<time>.json, and the
// notes come back from a paired peer by anti-entropy (two headless peers over 127.0.0.1).

import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { damagedStoreMessage, damagedStorePrompt, decisionFor, EXIT_STORE_DAMAGED, freshStartMessage } from '../app/data-dir-problems.ts';
import { Notes, notesIndexer, noteKey } from '../engine/notes.ts';
import { openReplica, STORE_FILE, StoreDamagedError, type StoreDamage } from '../engine/open-replica.ts';
import { Replica } from '../engine/replica.ts';
import { isStoreDamage, salvageNotes } from '../engine/store/damage.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { damageTable, runToExit, snapshot } from './dir-files.ts';
import { peerArgs, removeTempDirs, startPeer, tempDir, waitFor, type PeerProcess } from './peer-process.ts';

process.env.NOTES_LOG ??= 'silent';
const running: PeerProcess[] = [];
after(async () => {
  await Promise.all(running.map((p) => p.stop()));
  removeTempDirs();
});

/** A store in `dir` holding the given notes, closed cleanly; returns the note ids and replica id. */
function storeWith(dir: string, notes: { title: string; body: string }[]): { ids: string[]; replicaId: string } {
  const store = SqliteStore.open(join(dir, STORE_FILE));
  const n = new Notes(Replica.open(store, { indexer: notesIndexer }));
  const ids = notes.map((x) => n.create(x).id);
  const replicaId = store.replicaId;
  store.close();
  return { ids, replicaId };
}

describe('telling damage apart', () => {
  test('SQLITE_CORRUPT and NOTADB are damage; a database of another application is not', async () => {
    const dir = tempDir('foreign');
    const db = new DatabaseSync(join(dir, STORE_FILE));
    db.exec('PRAGMA application_id = 305419896; CREATE TABLE t (x)');
    db.close();
    const before = snapshot(dir);
    let asked = 0;
    await assert.rejects(openReplica(dir, { onDamagedStore: () => (asked++, 'start-fresh') }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'E_STORE_FORMAT');
      assert.equal(isStoreDamage(e), false);
      return true;
    });
    assert.equal(asked, 0, 'a foreign database is not offered for replacement');
    assert.deepEqual(snapshot(dir), before);
    assert.equal(isStoreDamage(Object.assign(new Error('database disk image is malformed'), { errcode: 11 })), true);
    assert.equal(isStoreDamage(Object.assign(new Error('file is not a database'), { errcode: 26 })), true);
    assert.equal(isStoreDamage(Object.assign(new Error('database is locked'), { errcode: 5 })), false);
  });

  test('a crash in the middle of a checkpoint is not damage: the store opens from its WAL with every note', async () => {
    // What such a crash leaves: the WAL whole, the main file with only some pages copied back
    // (here its first page, which already names tables whose pages are still only in the WAL).
    const dir = tempDir('torn-checkpoint');
    const file = join(dir, STORE_FILE);
    const { ids } = storeWith(dir, Array.from({ length: 5 }, (_, i) => ({ title: `before ${i}`, body: 'b' })));
    const writer = new DatabaseSync(file);
    writer.exec('PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0');
    const later = new Notes(Replica.open(SqliteStore.open(file), { indexer: notesIndexer }));
    ids.push(...Array.from({ length: 40 }, (_, i) => later.create({ title: `later ${i}`, body: 'x'.repeat(3000) }).id));
    writer.exec('CREATE TABLE grown (x); INSERT INTO grown VALUES (randomblob(50000))');
    const copy = (from: string, to: string): void => writeFileSync(to, readFileSync(from));
    const torn = join(tempDir('torn-copy'), STORE_FILE);
    copy(file, torn);
    copy(`${file}-wal`, `${torn}-wal`);
    writer.exec('PRAGMA wal_checkpoint(FULL)');
    const page = readFileSync(file).subarray(0, 4096);
    const fd = openSync(torn, 'r+');
    writeSync(fd, page, 0, page.length, 0);
    closeSync(fd);
    writer.close();
    later.replica.storage.close();
    let asked = 0;
    const opened = await openReplica(join(torn, '..'), { indexer: notesIndexer, onDamagedStore: () => (asked++, 'stop') });
    try {
      assert.equal(asked, 0, 'not offered as damaged');
      const notes = new Notes(opened.replica);
      assert.deepEqual(new Set(notes.list().map((d) => d.id)), new Set(ids), 'every note, including those only the WAL held');
    } finally {
      opened.replica.storage.close();
    }
  });
});

describe('a damaged store in one process', () => {
  test('without a decision to start fresh: a typed error with what is readable, and nothing changed', async () => {
    const dir = tempDir('damaged');
    const { ids } = storeWith(dir, [{ title: 'Groceries', body: 'eggs\nmilk' }, { title: 'Plans', body: 'trip' }]);
    damageTable(join(dir, STORE_FILE), 'records');
    const before = snapshot(dir);
    for (const decide of [undefined, () => 'stop' as const]) {
      let seen: StoreDamage | undefined;
      const onDamagedStore = decide && ((d: StoreDamage) => ((seen = d), decide()));
      await assert.rejects(openReplica(dir, { onDamagedStore }), (e: unknown) => {
        assert.ok(e instanceof StoreDamagedError);
        assert.equal(e.code, 'E_STORE_DAMAGED');
        assert.match(e.damage.reason, /malformed/);
        assert.deepEqual(e.damage.salvage.notes.map((n) => n.id).sort(), [...ids].sort());
        assert.deepEqual(e.damage.salvage.notes.map((n) => n.title).sort(), ['Groceries', 'Plans']);
        assert.match(e.damage.salvage.problems.join(), /note versions.*unreadable/);
        if (decide) assert.equal(seen, e.damage, 'the host was asked with the same damage');
        return true;
      });
      assert.deepEqual(snapshot(dir), before, 'a refused damaged store changed a file');
    }
  });

  test('damage in the note list (not needed to build the Merkle tree) is found at start too, and the versions are salvaged', async () => {
    const dir = tempDir('damaged-docs');
    storeWith(dir, [{ title: 'Listed', body: 'in the docs table' }]);
    damageTable(join(dir, STORE_FILE), 'docs');
    const err = await openReplica(dir).catch((e: unknown) => e);
    assert.ok(err instanceof StoreDamagedError, String(err));
    assert.match(err.damage.reason, /malformed/);
    assert.deepEqual(err.damage.salvage.notes.map((n) => [n.title, n.body]), [['Listed', 'in the docs table']]);
  });

  test('start fresh: damaged file kept aside byte for byte, readable notes written out, a new empty store with a new replica id', async () => {
    const dir = tempDir('fresh');
    const { replicaId } = storeWith(dir, [{ title: 'Only here', body: 'precious\ntext' }]);
    damageTable(join(dir, STORE_FILE), 'records');
    const damagedSum = snapshot(dir)[STORE_FILE];
    let t = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
    const opened = await openReplica(dir, { indexer: notesIndexer, now: () => t, onDamagedStore: () => 'start-fresh' });
    try {
      const f = opened.freshStart!;
      assert.equal(f.damagedPath, join(dir, 'notes.db.damaged-2026-01-02T03-04-05-006Z'));
      assert.equal(snapshot(dir)['notes.db.damaged-2026-01-02T03-04-05-006Z'], damagedSum, 'the damaged file is kept as it was');
      const recovered = JSON.parse(readFileSync(f.recoveredPath, 'utf8'));
      assert.equal(f.recoveredPath, join(dir, 'recovered-2026-01-02T03-04-05-006Z.json'));
      assert.equal(recovered.damagedFile, 'notes.db.damaged-2026-01-02T03-04-05-006Z');
      assert.deepEqual(recovered.notes.map((n: { title: string; body: string }) => [n.title, n.body]), [['Only here', 'precious\ntext']]);
      assert.equal(f.notes, 1);
      assert.equal(opened.replica.tree.node([]).count, 0, 'the new store is empty');
      // The old replica's counters are unknown now; reusing its id could hand out a counter twice.
      assert.notEqual(opened.replica.replicaId, replicaId);
      assert.match(freshStartMessage(f), /kept as .*notes\.db\.damaged-2026-01-02T03-04-05-006Z.*1 note read from it is in .*recovered-2026-01-02T03-04-05-006Z\.json/);
    } finally {
      opened.store.close();
    }
    // The next start is an ordinary one.
    t += 1000;
    const again = await openReplica(dir, { onDamagedStore: () => assert.fail('asked again') });
    assert.equal(again.freshStart, null);
    again.store.close();
  });

  test('a file that is no longer a database at all (header overwritten): nothing readable, still kept aside', async () => {
    const dir = tempDir('notadb');
    storeWith(dir, [{ title: 'x', body: 'y' }]);
    const fd = openSync(join(dir, STORE_FILE), 'r+');
    writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
    closeSync(fd);
    const sum = snapshot(dir)[STORE_FILE];
    const err = await openReplica(dir).catch((e: unknown) => e);
    assert.ok(err instanceof StoreDamagedError, String(err));
    assert.deepEqual(err.damage.salvage.notes, []);
    assert.match(damagedStoreMessage(err.damage), /No note can be read from it any more \(SQLite cannot read the file at all/);
    const opened = await openReplica(dir, { onDamagedStore: () => 'start-fresh' });
    opened.store.close();
    const kept = readdirSync(dir).filter((f) => f.startsWith('notes.db.damaged-'));
    assert.equal(kept.length, 1);
    assert.equal(snapshot(dir)[kept[0]], sum);
  });

  test('salvage reads the versions when the note list is damaged, with conflicting versions', () => {
    const dir = tempDir('salvage');
    const store = SqliteStore.open(join(dir, STORE_FILE));
    const a = new Notes(Replica.open(store, { indexer: notesIndexer }));
    const note = a.create({ title: 'Shared', body: 'base' });
    // Another device edits the same body concurrently; its version arrives and is kept.
    const other = Replica.open(new MemoryStore('0123456789abcdef'));
    other.apply([{ key: noteKey(note.id, 'body'), state: a.replica.get(noteKey(note.id, 'body'))! }], 'import');
    new Notes(other).save(note.id, { body: 'theirs' });
    a.save(note.id, { body: 'mine' });
    a.replica.apply([{ key: noteKey(note.id, 'body'), state: other.get(noteKey(note.id, 'body'))! }], 'gossip');
    store.close();
    damageTable(join(dir, STORE_FILE), 'docs');
    const s = salvageNotes(join(dir, STORE_FILE));
    assert.equal(s.notes.length, 1);
    const [n] = s.notes;
    assert.equal(n.title, 'Shared');
    const bodies = [n.body, ...n.otherVersions.filter((v) => v.field === 'body').map((v) => v.text)].sort();
    assert.deepEqual(bodies, ['mine', 'theirs'], 'both sides of the conflict are listed');
    assert.match(s.problems.join(), /note list.*unreadable/);
  });
});

describe('what the hosts say and ask', () => {
  const damage: StoreDamage = {
    file: '/home/me/notes/notes.db',
    reason: 'SQLite: database disk image is malformed',
    salvage: { notes: Array.from({ length: 7 }, (_, i) => ({ id: `n${i}`, title: i === 0 ? '' : `Note ${i}`, body: i === 0 ? 'first line\nmore' : '', trashed: false, otherVersions: [] })), problems: [] },
  };

  test('the headless peer names the file, the cause, what is readable and the flag', () => {
    const m = damagedStoreMessage(damage);
    assert.match(m, /notes\.db is damaged: SQLite: database disk image is malformed/);
    assert.match(m, /changed nothing/);
    assert.match(m, /7 notes can still be read from it: "first line", "Note 1", "Note 2", "Note 3", "Note 4" and 2 more\./);
    assert.match(m, /--start-fresh/);
    assert.match(m, /notes\.db\.damaged-<time> \(it is never deleted\)/);
  });

  test('the desktop prompt: start fresh only on its own button; Enter, Escape or closing the box quits', () => {
    const p = damagedStorePrompt(damage);
    assert.deepEqual(p.buttons, ['Start fresh from my other devices', 'Quit']);
    assert.equal(decisionFor(0), 'start-fresh');
    assert.equal(decisionFor(p.defaultId), 'stop');
    assert.equal(decisionFor(p.cancelId), 'stop');
    assert.match(p.detail, /database disk image is malformed/);
    assert.match(p.detail, /7 notes can still be read/);
  });
});

describe('start fresh from a paired peer', { timeout: 180_000 }, () => {
  test('the damaged peer refuses to start and changes nothing; with --start-fresh its notes come back from the other', async () => {
    const a = await startPeer();
    running.push(a);
    const { code } = await a.api.invite();
    const b = await startPeer({ join: code });
    const shared = [await a.api.createNote({ title: 'Shared one', body: 'from A' }), await a.api.createNote({ title: 'Shared two', body: 'also from A' })];
    for (const n of shared) await waitFor(`${n.title} on B`, async () => (await b.api.getNote(n.id).catch(() => undefined))?.body === n.body);
    await a.stop();
    const onlyB = await b.api.createNote({ title: 'Only on B', body: 'nobody else has this' });
    assert.equal(await b.stop(), 0);

    const file = join(b.dataDir, STORE_FILE);
    damageTable(file, 'records');
    const before = snapshot(b.dataDir);
    const refused = await runToExit(peerArgs(b.dataDir, {}));
    assert.equal(refused.code, EXIT_STORE_DAMAGED, refused.stderr);
    assert.match(refused.stderr, /notes\.db is damaged: .*malformed/);
    assert.match(refused.stderr, /3 notes can still be read from it/);
    assert.match(refused.stderr, /--start-fresh/);
    assert.equal(refused.stdout, '');
    assert.deepEqual(snapshot(b.dataDir), before, 'the refused start changed a file');

    const a2 = await startPeer({ dataDir: a.dataDir });
    running.push(a2);
    const b2 = await startPeer({ dataDir: b.dataDir, peers: a2.info.addresses, extra: ['--start-fresh'] });
    running.push(b2);
    const fresh = (b2.info as unknown as { startedFresh: { damaged: string; recovered: string; notes: number } }).startedFresh;
    assert.equal(b2.info.peerId, b.info.peerId, 'same device identity');
    assert.equal(b2.info.vault, a2.info.vault, 'same vault');
    assert.equal(fresh.notes, 3);
    assert.equal(snapshot(b.dataDir)[fresh.damaged.slice(b.dataDir.length + 1)], before[STORE_FILE], 'the damaged file is kept as it was');
    const recovered = JSON.parse(readFileSync(fresh.recovered, 'utf8')) as { notes: { id: string; title: string; body: string }[] };
    assert.deepEqual(recovered.notes.map((n) => n.id).sort(), [...shared.map((n) => n.id), onlyB.id].sort());
    assert.equal(recovered.notes.find((n) => n.id === onlyB.id)?.body, 'nobody else has this');
    assert.match(b2.stderr(), /Started fresh: the damaged notes database was kept as .*notes\.db\.damaged-.*3 notes read from it are in .*recovered-/);

    const ids = await waitFor('the shared notes back on B', async () => {
      const list = await b2.api.listNotes();
      return list.length === 2 ? list.map((n) => n.id).sort() : undefined;
    }, 30_000);
    assert.deepEqual(ids, shared.map((n) => n.id).sort());
    for (const n of shared) assert.equal((await b2.api.getNote(n.id)).body, n.body);
    assert.ok((await b2.api.syncState()).paths['anti-entropy'] >= 6, 'they came back by anti-entropy');
  });
});
