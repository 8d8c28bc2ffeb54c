// The app's durable Storage: one node:sqlite file per vault. WAL + synchronous=FULL, because a
// committed note must survive a power cut. The file is marked as ours (application_id) and
// versioned (user_version); anything else at the path is refused without being modified.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import { crc32 } from 'node:zlib';
import type { Stamp } from '../core/clock.ts';
import { decodeRecord, leafHash, type StoredRecord, type StoredSnapshot } from '../core/codec.ts';
import { StoreError } from '../core/errors.ts';
import type { KeyState } from '../core/record.ts';
import { afterArg, closedError, prefixRange, countArg, decodeContext, decodeDots, encodeContext, encodeDots, searchWords, seqArg, validateBatch, validateReplicaId } from './memory.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';
import type { Change, CommitBatch, DocEntry, DocQuery, HistoryEntry, SearchHit, Storage, TreeStore, VersionContext, Watermark } from './store.ts';

/** "NOTE": distinguishes our files from every other SQLite database. */
export const APPLICATION_ID = 0x4e4f5445;
export { SCHEMA_VERSION };

const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

/**
 * How formats 1-6 kept the search index in step (format 7 drops them, see writeDoc). Kept for
 * the first format's schema, which every new store still starts from, and for tests that rebuild
 * an old store.
 */
export const FTS_TRIGGERS = `
CREATE TRIGGER docs_fts_insert AFTER INSERT ON docs WHEN new.trashed = 0 BEGIN
  INSERT INTO docs_fts (rowid, title, body) VALUES (new.n, new.title, new.body);
END;
CREATE TRIGGER docs_fts_delete AFTER DELETE ON docs WHEN old.trashed = 0 BEGIN
  INSERT INTO docs_fts (docs_fts, rowid, title, body) VALUES ('delete', old.n, old.title, old.body);
END;
CREATE TRIGGER docs_fts_update AFTER UPDATE ON docs
WHEN old.title IS NOT new.title OR old.body IS NOT new.body OR old.trashed IS NOT new.trashed BEGIN
  INSERT INTO docs_fts (docs_fts, rowid, title, body) SELECT 'delete', old.n, old.title, old.body WHERE old.trashed = 0;
  INSERT INTO docs_fts (rowid, title, body) SELECT new.n, new.title, new.body WHERE new.trashed = 0;
END;
`;

const SCHEMA = `
CREATE TABLE meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  replica_id TEXT NOT NULL,
  clock_wall INTEGER,
  clock_counter INTEGER,
  clock_device TEXT
);
-- UNIQUE(seq) gives the index that serves "seq > ? ORDER BY seq". One row per key is what
-- compacts the change log: a rewrite moves the key to its new seq.
CREATE TABLE records (
  key TEXT PRIMARY KEY,
  state BLOB NOT NULL,
  hash BLOB NOT NULL,
  seq INTEGER NOT NULL UNIQUE
);
CREATE TABLE cursors (replica TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
-- n is an explicit INTEGER PRIMARY KEY so VACUUM can never renumber the rowids the FTS index
-- points at.
CREATE TABLE docs (
  n INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  updated INTEGER NOT NULL,
  created INTEGER NOT NULL,
  trashed INTEGER NOT NULL,
  conflicted INTEGER NOT NULL
);
CREATE INDEX docs_list ON docs (trashed, updated DESC, id);
CREATE INDEX docs_all ON docs (updated DESC, id);
-- External content: the text lives once, in docs. Only live (not trashed) docs are indexed, so
-- search never sees the trash. The triggers kept the index in the writer's transaction until
-- format 7, which drops them: writeDoc() does it now (see there why).
CREATE VIRTUAL TABLE docs_fts USING fts5(
  title, body, content = 'docs', content_rowid = 'n', tokenize = 'unicode61 remove_diacritics 2'
);
${FTS_TRIGGERS}`;

const REQUIRED_TABLES = ['meta', 'records', 'cursors', 'docs', 'docs_fts'];

interface DocRow {
  id: string;
  title: string;
  body: string;
  updated: number;
  created: number;
  trashed: number;
  conflicted: number;
}

function toDoc(r: DocRow): DocEntry {
  return { id: r.id, title: r.title, body: r.body, updated: r.updated, created: r.created, trashed: r.trashed !== 0, conflicted: r.conflicted !== 0 };
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

function sqliteCode(e: unknown): number | undefined {
  const code = (e as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

function ensureFts5(): void {
  const db = new DatabaseSync(':memory:');
  try {
    db.exec('CREATE VIRTUAL TABLE probe USING fts5(x)');
  } catch (e) {
    throw new StoreError('E_STORE_UNSUPPORTED', `this SQLite build has no FTS5 full-text search, which the notes store needs (${(e as Error).message})`);
  } finally {
    db.close();
  }
}

/**
 * Refuses anything at `file` that is not a store this app can open, leaving a file that is not ours
 * exactly as it was: its header is read as bytes, and the rest through a read-only connection.
 */
function validateExisting(file: string): void {
  const stat = fs.statSync(file);
  if (!stat.isFile()) throw new StoreError('E_STORE_FORMAT', `${file} is not a notes store: it is not a regular file`, { path: file });
  // SQLite would treat an empty file as a new database and write to it.
  if (stat.size === 0) throw new StoreError('E_STORE_FORMAT', `${file} is not a notes store: the file is empty`, { path: file, damaged: true });
  checkHeader(file);
  let db: DatabaseSync | undefined;
  try {
    // Without a WAL beside it the file is the whole database: read immutable, SQLite takes no
    // locks and creates no -wal/-shm/-journal. With one, the file alone is not the database (after
    // a crash in the middle of a checkpoint it is half updated) and SQLite reads it through the
    // WAL, recovering it: a -shm beside a file whose header is ours is SQLite's to make.
    db = readOnly(file, !fs.existsSync(`${file}-wal`));
    checkIdentity(db, file);
    const tables = new Set(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all().map((r) => r.name));
    const missing = REQUIRED_TABLES.filter((t) => !tables.has(t));
    if (missing.length > 0) throw new StoreError('E_STORE_FORMAT', `${file} is a damaged notes store: missing ${missing.join(', ')}`, { path: file, damaged: true });
  } catch (e) {
    if (e instanceof StoreError) throw e;
    const code = sqliteCode(e);
    if (code === SQLITE_NOTADB) throw notADatabase(file);
    if (code === SQLITE_CORRUPT) throw new StoreError('E_STORE_FORMAT', `${file} is a damaged SQLite database: ${(e as Error).message}`, { path: file, damaged: true });
    throw e;
  } finally {
    db?.close();
  }
}

const SQLITE_MAGIC = 'SQLite format 3\0';

/** The file's own header, read without SQLite: a SQLite database with our application id. */
function checkHeader(file: string): void {
  const header = Buffer.alloc(100);
  const fd = fs.openSync(file, 'r');
  let read: number;
  try {
    read = fs.readSync(fd, header, 0, header.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (read < header.length || header.toString('latin1', 0, 16) !== SQLITE_MAGIC) throw notADatabase(file);
  // Signed, as SQLite reports it (PRAGMA application_id).
  const appId = header.readInt32BE(68);
  if (appId !== APPLICATION_ID) throw foreignApplication(file, appId);
}

function notADatabase(file: string): StoreError {
  return new StoreError('E_STORE_FORMAT', `${file} is not a notes store: it is not a SQLite database`, { path: file, damaged: true });
}

function foreignApplication(file: string, appId: number): StoreError {
  const whose = appId === 0 ? 'it has no application id' : `its application id is ${hex(appId)}`;
  return new StoreError('E_STORE_FORMAT', `${file} is a SQLite database of another application (${whose}; notes stores have ${hex(APPLICATION_ID)})`, { path: file, applicationId: appId });
}

function readOnly(file: string, immutable: boolean): DatabaseSync {
  const url = pathToFileURL(file);
  url.searchParams.set('mode', 'ro');
  if (immutable) url.searchParams.set('immutable', '1');
  const db = new DatabaseSync(url, { readOnly: true });
  // Reading through the WAL takes SQLite's locks: wait for a checkpoint running elsewhere, as
  // the writing connection does, instead of failing the open.
  try {
    if (!immutable) db.exec('PRAGMA busy_timeout = 5000');
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/** application_id and user_version, checked on every connection before it writes anything. */
function checkIdentity(db: DatabaseSync, file: string): void {
  const appId = db.prepare('PRAGMA application_id').get()?.application_id as number;
  if (appId !== APPLICATION_ID) throw foreignApplication(file, appId);
  const version = db.prepare('PRAGMA user_version').get()?.user_version as number;
  if (version > SCHEMA_VERSION) {
    throw new StoreError('E_STORE_NEWER', `${file} was written by a newer version of the app (store format ${version}; this app supports up to ${SCHEMA_VERSION}). Update the app to open it.`, { path: file, found: version, supported: SCHEMA_VERSION });
  }
  if (version < 1) throw new StoreError('E_STORE_FORMAT', `${file} is a notes store with no schema version`, { path: file });
}

/** Brings an older store up to SCHEMA_VERSION, all steps in one transaction. */
function migrate(db: DatabaseSync, file: string): void {
  const version = db.prepare('PRAGMA user_version').get()?.user_version as number;
  if (version >= SCHEMA_VERSION) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v - 1].sql);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (e) {
    db.exec('ROLLBACK');
    const step = MIGRATIONS[Math.max(0, version - 1)];
    throw new StoreError('E_STORE_FORMAT', `${file}: upgrading the store from format ${version} to ${SCHEMA_VERSION} failed (${step?.what ?? 'unknown step'}): ${(e as Error).message}. The file is unchanged.`, { path: file, found: version, supported: SCHEMA_VERSION, damaged: sqliteCode(e) === SQLITE_CORRUPT });
  }
}

/**
 * Builds a complete store in a side file and then links it into place, so a crash mid-creation
 * can never leave a half-made (and then refused) file at `file`.
 */
function createStore(file: string, replicaId: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.creating`);
  try {
    const db = new DatabaseSync(tmp);
    try {
      // The header fields are written in rollback mode, straight into the main file: they are
      // then never only in a WAL, where validateExisting's read of the header bytes could not see them.
      db.exec('BEGIN');
      db.exec(SCHEMA);
      for (const m of MIGRATIONS) db.exec(m.sql);
      db.prepare('INSERT INTO meta (id, replica_id) VALUES (1, ?)').run(replicaId);
      db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      db.exec('COMMIT');
      db.exec('PRAGMA journal_mode = WAL');
    } finally {
      db.close();
    }
    // SQLite synced the file at COMMIT (its default synchronous=FULL); what remains is the name.
    try {
      fs.linkSync(tmp, file); // fails if another process created `file` meanwhile: theirs wins
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return;
      // Filesystems without hard links (FAT, some network shares).
      if (fs.existsSync(file)) return;
      fs.renameSync(tmp, file);
    }
    syncDir(path.dirname(file));
  } catch (e) {
    throw new Error(`cannot create a notes store at ${file}: ${(e as Error).message}`, { cause: e });
  } finally {
    for (const suffix of ['', '-journal', '-wal', '-shm']) fs.rmSync(tmp + suffix, { force: true });
  }
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Directories cannot be fsynced on Windows; the rename is durable enough there.
  }
}

/**
 * The statements a write runs (reading the current states of its keys, then committing records
 * and notes). They and the functions that run them (readStates, writeDoc) are exported so the
 * write benchmark can time exactly this SQL on its own (bench/write-throughput.ts).
 */
const READ_SQL = {
  get: 'SELECT state FROM records WHERE key = ?',
  // One statement for any number of keys: the list travels as one JSON array.
  getMany: 'SELECT key, state FROM records WHERE key IN (SELECT value FROM json_each(?))',
} as const;

/** The statements readStates() runs, prepared on one connection. */
export interface ReadStatements {
  readonly get: StatementSync;
  readonly getMany: StatementSync;
}

export function prepareReadStatements(db: DatabaseSync): ReadStatements {
  return { get: arrays(db.prepare(READ_SQL.get)), getMany: arrays(db.prepare(READ_SQL.getMany)) };
}

/** The stored states of `keys` (those stored): one key by the plain lookup, more as one JSON list. */
export function readStates(s: ReadStatements, keys: readonly string[]): Map<string, KeyState> {
  const out = new Map<string, KeyState>();
  if (keys.length === 1) {
    // One key (a single edit, as typing saves): without the JSON list.
    const row = s.get.get(keys[0]) as unknown as [Uint8Array] | undefined;
    if (row !== undefined) out.set(keys[0], decodeRecord(row[0]).state);
  } else if (keys.length > 1) {
    for (const [key, state] of s.getMany.all(JSON.stringify(keys)) as unknown as [string, Uint8Array][]) out.set(key, decodeRecord(state).state);
  }
  return out;
}

/** See READ_SQL. */
export const WRITE_SQL = {
  put: 'INSERT INTO records (key, state, hash, seq) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state, hash = excluded.hash, seq = excluded.seq',
  // A note's doc row and its search entry: see writeDoc().
  docBefore: 'SELECT n, title, body, trashed FROM docs WHERE id = ?',
  upsertDoc: `INSERT INTO docs (id, title, body, updated, created, trashed, conflicted) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body, updated = excluded.updated,
        created = excluded.created, trashed = excluded.trashed, conflicted = excluded.conflicted`,
  ftsInsert: 'INSERT INTO docs_fts (rowid, title, body) VALUES (?, ?, ?)',
  ftsDelete: "INSERT INTO docs_fts (docs_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
  setClock: 'UPDATE meta SET clock_wall = ?, clock_counter = ?, clock_device = ? WHERE id = 1',
} as const;

/** The statements writeDoc() runs, prepared on one connection. */
export interface DocStatements {
  readonly docBefore: StatementSync;
  readonly upsertDoc: StatementSync;
  readonly ftsInsert: StatementSync;
  readonly ftsDelete: StatementSync;
}

export function prepareDocStatements(db: DatabaseSync): DocStatements {
  return {
    docBefore: arrays(db.prepare(WRITE_SQL.docBefore)),
    upsertDoc: db.prepare(WRITE_SQL.upsertDoc),
    ftsInsert: db.prepare(WRITE_SQL.ftsInsert),
    ftsDelete: db.prepare(WRITE_SQL.ftsDelete),
  };
}

/**
 * Writes a note's doc row and keeps its full-text entry in step, inside the caller's transaction:
 * the old text leaves the index and the new text enters it when either changed, and only live
 * (not trashed) notes are indexed. This was three triggers on docs; but FTS5 flushes the terms it
 * holds in memory at every savepoint, and a trigger runs inside the savepoint of the statement
 * that fired it, so a commit of many notes wrote one small index segment per note and then merged
 * them: 1.55-1.75 s for 10k notes of ~2 KB instead of ~0.42 s with these plain statements (the
 * same rows, one transaction; wrapping each plain insert in a savepoint made it as slow).
 */
export function writeDoc(s: DocStatements, d: DocEntry): void {
  const before = s.docBefore.get(d.id) as unknown as [number, string, string, number] | undefined;
  const trashed = d.trashed ? 1 : 0;
  const result = s.upsertDoc.run(d.id, d.title, d.body, d.updated, d.created, trashed, d.conflicted ? 1 : 0);
  if (before === undefined) {
    if (trashed === 0) s.ftsInsert.run(result.lastInsertRowid, d.title, d.body);
    return;
  }
  const [n, title, body, wasTrashed] = before;
  if (title === d.title && body === d.body && wasTrashed === trashed) return;
  // External content: the index forgets a text only when given exactly the text it indexed.
  if (wasTrashed === 0) s.ftsDelete.run(n, title, body);
  if (trashed === 0) s.ftsInsert.run(n, d.title, d.body);
}

/** A statement whose rows come back as arrays: no object per row on the hot read paths. */
function arrays(stmt: StatementSync): StatementSync {
  stmt.setReturnArrays(true);
  return stmt;
}

function prepareStatements(db: DatabaseSync) {
  return {
    ...prepareReadStatements(db),
    put: db.prepare(WRITE_SQL.put),
    count: db.prepare('SELECT count(*) AS n FROM records'),
    snapshot: db.prepare('SELECT seq, data, crc FROM tree_snapshot WHERE id = 1'),
    saveSnapshot: db.prepare('INSERT INTO tree_snapshot (id, seq, data, crc) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, data = excluded.data, crc = excluded.crc'),
    maxSeq: db.prepare('SELECT coalesce(max(seq), 0) AS seq FROM records'),
    changes: db.prepare('SELECT key, seq FROM records WHERE seq > ? ORDER BY seq LIMIT ?'),
    meta: db.prepare('SELECT replica_id, clock_wall, clock_counter, clock_device FROM meta WHERE id = 1'),
    setClock: db.prepare(WRITE_SQL.setClock),
    cursor: db.prepare('SELECT seq FROM cursors WHERE replica = ?'),
    setCursor: db.prepare('INSERT INTO cursors (replica, seq) VALUES (?, ?) ON CONFLICT (replica) DO UPDATE SET seq = excluded.seq'),
    watermarks: db.prepare('SELECT peer, replica, seq, at FROM watermarks'),
    setWatermark: db.prepare('INSERT INTO watermarks (peer, replica, seq, at) VALUES (?, ?, ?, ?) ON CONFLICT (peer) DO UPDATE SET replica = excluded.replica, seq = excluded.seq, at = excluded.at'),
    lastSeqUnder: db.prepare('SELECT coalesce(max(seq), 0) AS seq FROM records WHERE key >= ? AND key < ?'),
    doc: db.prepare('SELECT id, title, body, updated, created, trashed, conflicted FROM docs WHERE id = ?'),
    ...prepareDocStatements(db),
    search: db.prepare(`SELECT d.id, d.title, snippet(docs_fts, 1, '', '', '…', 16) AS snippet
      FROM docs_fts JOIN docs d ON d.n = docs_fts.rowid
      WHERE docs_fts MATCH ? AND d.trashed = 0
      ORDER BY bm25(docs_fts, 5.0, 1.0) LIMIT ? OFFSET ?`),
    addHistory: db.prepare(`INSERT INTO history (key, device, counter, wall, tick, value, superseded_by, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (key, device, counter) DO NOTHING`),
    history: db.prepare('SELECT key, device, counter, wall, tick, value, superseded_by, at FROM history WHERE key = ? ORDER BY at DESC, device DESC, counter DESC'),
    // Keeps the newest `keep` (listing order): deletes what sorts at or after the first one past
    // them, found by walking the history_order index; nothing when the field holds no more.
    pruneHistory: db.prepare(`DELETE FROM history WHERE key = ? AND (at < ? OR (at, device, counter) <=
      (SELECT at, device, counter FROM history WHERE key = ? ORDER BY at DESC, device DESC, counter DESC LIMIT 1 OFFSET ?))`),
    addContext: db.prepare(`INSERT INTO version_contexts (key, device, counter, context) VALUES (?, ?, ?, ?)
      ON CONFLICT (key, device, counter) DO UPDATE SET context = excluded.context`),
    contexts: db.prepare('SELECT key, device, counter, context FROM version_contexts WHERE key = ?'),
    // Contexts of versions that are neither current (the JSON list) nor kept in history.
    // The field's kept versions are listed once (from the history_order index) instead of
    // looked up once per context: ~13% less for a field with a full history.
    pruneContexts: db.prepare(`DELETE FROM version_contexts WHERE key = ?1
      AND (device, counter) NOT IN (SELECT device, counter FROM history WHERE key = ?1)
      AND device || '.' || counter NOT IN (SELECT value FROM json_each(?2))`),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

export class SqliteStore implements Storage {
  readonly replicaId: string;
  readonly path: string;
  private db: DatabaseSync | null;
  private readonly sql: Statements;
  // listDocs statements by their SQL text: a handful of shapes (filters x keyset), each prepared once.
  private readonly docQueries = new Map<string, StatementSync>();
  // Cached so the hot read paths do not query; updated only after a COMMIT succeeded.
  private lastSeq: number;
  private lastClock: Stamp | null;

  /** Opens the store at `file`, creating it if no file is there. */
  static open(file: string, opts: { replicaId?: string } = {}): SqliteStore {
    const wanted = opts.replicaId === undefined ? undefined : validateReplicaId(opts.replicaId);
    ensureFts5();
    if (!fs.existsSync(file)) createStore(file, wanted ?? randomBytes(8).toString('hex'));
    validateExisting(file);
    const db = new DatabaseSync(file);
    try {
      // Again through the writing connection, before it writes: this one also sees the WAL.
      checkIdentity(db, file);
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = FULL');
      db.exec('PRAGMA busy_timeout = 5000');
      migrate(db, file);
      return new SqliteStore(db, file, wanted);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  private constructor(db: DatabaseSync, file: string, wanted: string | undefined) {
    this.db = db;
    this.path = file;
    this.sql = prepareStatements(db);
    const meta = this.sql.meta.get() as { replica_id: string; clock_wall: number | null; clock_counter: number | null; clock_device: string | null } | undefined;
    if (meta === undefined) throw new StoreError('E_STORE_FORMAT', `${file} is a damaged notes store: no meta row`, { path: file, damaged: true });
    if (wanted !== undefined && wanted !== meta.replica_id) {
      throw new StoreError('E_STORE_FORMAT', `${file} belongs to replica ${meta.replica_id}, not ${wanted}`, { path: file });
    }
    this.replicaId = meta.replica_id;
    this.lastClock = meta.clock_wall === null ? null : { wall: meta.clock_wall, counter: meta.clock_counter ?? 0, device: meta.clock_device ?? '' };
    this.lastSeq = (this.sql.maxSeq.get() as { seq: number }).seq;
  }

  private open(): Statements {
    if (this.db === null) throw closedError();
    return this.sql;
  }

  get(key: string): KeyState | undefined {
    const row = this.open().get.get(key) as unknown as [Uint8Array] | undefined;
    return row === undefined ? undefined : decodeRecord(row[0]).state;
  }

  getMany(keys: readonly string[]): Map<string, KeyState> {
    return readStates(this.open(), keys);
  }

  commit(batch: CommitBatch): Uint8Array[] {
    const sql = this.open();
    const db = this.db as DatabaseSync;
    const b = validateBatch(batch);
    let seq = this.lastSeq;
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const put of b.puts) sql.put.run(put.key, put.bytes, put.hash, ++seq);
      for (const d of b.docs) writeDoc(sql, d);
      if (b.clock !== undefined) sql.setClock.run(b.clock.wall, b.clock.counter, b.clock.device);
      for (const c of b.cursors) sql.setCursor.run(c.replica, c.seq);
      for (const w of b.watermarks) sql.setWatermark.run(w.peer, w.replica, w.seq, w.at);
      for (const h of b.history) sql.addHistory.run(h.key, h.device, h.counter, h.wall, h.tick, h.value, encodeDots(h.supersededBy), h.at);
      for (const c of b.contexts) sql.addContext.run(c.key, c.device, c.counter, encodeContext(c.context));
      for (const p of b.prune) {
        sql.pruneHistory.run(p.key, p.before, p.key, p.keep);
        sql.pruneContexts.run(p.key, JSON.stringify(p.current.map((d) => `${d.device}.${d.counter}`)));
      }
      db.exec('COMMIT');
    } catch (e) {
      // A failed COMMIT may already have ended the transaction.
      try {
        if (db.isTransaction) db.exec('ROLLBACK');
      } catch {
        // The original error says more than a failed rollback would.
      }
      throw e;
    }
    this.lastSeq = seq;
    if (b.clock !== undefined) this.lastClock = b.clock;
    return b.puts.map((p) => p.hash);
  }

  seq(): number {
    this.open();
    return this.lastSeq;
  }

  changesSince(after: number, limit: number): Change[] {
    const sql = this.open();
    const from = seqArg(after);
    const max = countArg('limit', limit, 0);
    if (max === 0) return [];
    return (sql.changes.all(from, max) as unknown as Change[]).map((r) => ({ key: r.key, seq: r.seq }));
  }

  scanHashes(): Iterable<readonly [string, Uint8Array]> {
    this.open();
    // Rows stream from SQLite one at a time and states are never read. A statement of its own,
    // because re-running a shared one would silently reset a scan still being iterated.
    const scan = (this.db as DatabaseSync).prepare('SELECT key, hash FROM records');
    scan.setReturnArrays(true);
    return scan.iterate() as Iterable<unknown> as Iterable<readonly [string, Uint8Array]>;
  }

  snapshot(): StoredSnapshot {
    this.open();
    // A connection of its own in a read transaction: it keeps seeing the store as it was while
    // this one commits (WAL), so a long transfer sends one consistent state, streamed.
    const db = new DatabaseSync(this.path, { readOnly: true });
    let totals: { n: number; bytes: number };
    try {
      db.exec('BEGIN');
      totals = db.prepare('SELECT count(*) AS n, coalesce(sum(length(state)), 0) AS bytes FROM records').get() as { n: number; bytes: number };
    } catch (e) {
      db.close();
      throw e;
    }
    let open = true;
    const close = (): void => {
      if (!open) return;
      open = false;
      db.close(); // ends the read transaction
    };
    const path = this.path;
    function* records(): Generator<StoredRecord> {
      if (!open) throw closedError();
      const scan = db.prepare('SELECT key, state, hash FROM records ORDER BY key');
      scan.setReturnArrays(true);
      for (const [key, state, hash] of scan.iterate() as Iterable<unknown> as Iterable<[string, Uint8Array, Uint8Array]>) {
        // These bytes go to a peer unread: SQLite does not checksum pages, so check them here.
        if (Buffer.compare(leafHash(state), hash) !== 0) {
          throw new StoreError('E_STORE_FORMAT', `${path} is a damaged notes store: the record of ${JSON.stringify(key)} does not match its hash`, { path, key, damaged: true });
        }
        yield { key, encoded: state };
      }
    }
    return { count: totals.n, bytes: totals.bytes, records, close };
  }

  readonly treeStore: TreeStore = {
    treeSnapshot: () => {
      const row = this.open().snapshot.get() as { seq: number; data: Uint8Array; crc: number } | undefined;
      // SQLite does not checksum its pages: a damaged blob must read as no snapshot at all.
      return row === undefined || crc32(row.data) !== row.crc ? undefined : { seq: row.seq, data: row.data };
    },
    saveTreeSnapshot: (seq, data) => {
      this.open().saveSnapshot.run(seqArg(seq), data, crc32(data));
    },
    hashesSince: (seq) => this.rows('SELECT key, hash FROM records WHERE seq > ?', seqArg(seq)),
    keyNames: () => this.rows('SELECT key FROM records'),
    keyCount: () => (this.open().count.get() as { n: number }).n,
  };

  /** Rows as arrays, streamed; a statement of its own (see scanHashes). */
  private rows<T>(text: string, ...args: number[]): Iterable<T> {
    this.open();
    const stmt = (this.db as DatabaseSync).prepare(text);
    stmt.setReturnArrays(true);
    return stmt.iterate(...args) as Iterable<unknown> as Iterable<T>;
  }

  clock(): Stamp | null {
    this.open();
    return this.lastClock;
  }

  cursor(replica: string): number | undefined {
    const row = this.open().cursor.get(replica) as { seq: number } | undefined;
    return row?.seq;
  }

  watermarks(): Watermark[] {
    return (this.open().watermarks.all() as unknown as Watermark[]).map((w) => ({ peer: w.peer, replica: w.replica, seq: w.seq, at: w.at }));
  }

  lastSeqUnder(prefix: string): number {
    const { from, to } = prefixRange(prefix);
    return (this.open().lastSeqUnder.get(from, to) as { seq: number }).seq;
  }

  getDoc(id: string): DocEntry | undefined {
    const row = this.open().doc.get(id) as DocRow | undefined;
    return row === undefined ? undefined : toDoc(row);
  }

  listDocs(query: DocQuery = {}): DocEntry[] {
    this.open();
    const limit = countArg('limit', query.limit, -1);
    const offset = countArg('offset', query.offset, 0);
    const after = afterArg(query);
    const where: string[] = [];
    const args: (number | string)[] = [];
    // An omitted filter means no filter: e.g. every doc, live and trashed. The flags are literals in
    // the SQL, not parameters: only `conflicted = 1` written out lets SQLite use the partial index.
    if (query.trashed !== undefined) where.push(`trashed = ${query.trashed ? 1 : 0}`);
    if (query.conflicted !== undefined) where.push(`conflicted = ${query.conflicted ? 1 : 0}`);
    if (after === undefined) return this.docRows(where, args, 'ORDER BY updated DESC, id LIMIT ? OFFSET ?', [limit, offset]);
    // Two index range scans instead of one OR, which SQLite could only answer by sorting every
    // row after the position: first the rest of the position's own millisecond, then older ones.
    const page = this.docRows([...where, 'updated = ?', 'id > ?'], [...args, after.updated, after.id], 'ORDER BY id LIMIT ?', [limit]);
    if (limit >= 0 && page.length >= limit) return page;
    const rest = limit < 0 ? -1 : limit - page.length;
    return page.concat(this.docRows([...where, 'updated < ?'], [...args, after.updated], 'ORDER BY updated DESC, id LIMIT ?', [rest]));
  }

  private docRows(where: readonly string[], args: readonly (number | string)[], tail: string, tailArgs: readonly number[]): DocEntry[] {
    const text = `SELECT id, title, body, updated, created, trashed, conflicted FROM docs${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ${tail}`;
    let stmt = this.docQueries.get(text);
    if (stmt === undefined) {
      stmt = (this.db as DatabaseSync).prepare(text);
      this.docQueries.set(text, stmt);
    }
    return (stmt.all(...args, ...tailArgs) as unknown as DocRow[]).map(toDoc);
  }

  search(text: string, limit = 50, offset = 0): SearchHit[] {
    const sql = this.open();
    const max = countArg('limit', limit, 50);
    const skip = countArg('offset', offset, 0);
    const words = searchWords(text);
    if (words.length === 0 || max === 0) return [];
    // Each word becomes a quoted FTS5 string with a prefix star, so nothing the user typed is
    // ever read as query syntax (AND, NOT, column filters, parentheses, NEAR ...).
    const match = words.map((w) => `"${w.replaceAll('"', '""')}"*`).join(' AND ');
    try {
      return (sql.search.all(match, max, skip) as unknown as SearchHit[]).map((h) => ({ id: h.id, title: h.title, snippet: h.snippet }));
    } catch (e) {
      // Unreachable with quoted words, but a search box must never surface a query-syntax error.
      if (/fts5/i.test((e as Error).message)) return [];
      throw e;
    }
  }

  history(key: string): HistoryEntry[] {
    const rows = this.open().history.all(key) as unknown as { key: string; device: string; counter: number; wall: number; tick: number; value: string | null; superseded_by: string; at: number }[];
    return rows.map((r) => ({ key: r.key, device: r.device, counter: r.counter, wall: r.wall, tick: r.tick, value: r.value, supersededBy: decodeDots(r.superseded_by), at: r.at }));
  }

  contexts(key: string): VersionContext[] {
    const rows = this.open().contexts.all(key) as unknown as { key: string; device: string; counter: number; context: string }[];
    return rows.map((r) => ({ key: r.key, device: r.device, counter: r.counter, context: decodeContext(r.context) }));
  }

  close(): void {
    if (this.db === null) return;
    const db = this.db;
    this.db = null;
    this.docQueries.clear();
    db.close();
  }
}
