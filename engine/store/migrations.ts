// Upgrades of the SQLite store's schema. MIGRATIONS[i] takes a store from format i + 1 to i + 2,
// so the current format is 1 + MIGRATIONS.length. Each runs inside the same transaction that sets
// the new user_version: a crash mid-upgrade leaves the file at its old format, whole.
// Append only: a step that has shipped is never edited, because stores out there already ran it.

export interface Migration {
  /** What the step adds, for the log line and the error a failed upgrade raises. */
  readonly what: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    // Issue 8: superseded versions of text fields, for the History view and as the common
    // ancestors automatic merges need. superseded_by: "device.counter[,device.counter...]".
    what: 'version history (superseded versions of note fields)',
    sql: `
CREATE TABLE history (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  device TEXT NOT NULL,
  counter INTEGER NOT NULL,
  wall INTEGER NOT NULL,
  tick INTEGER NOT NULL,
  value TEXT,
  superseded_by TEXT NOT NULL,
  at INTEGER NOT NULL,
  UNIQUE (key, device, counter)
);
CREATE INDEX history_by_age ON history (key, at);
-- The exact causal context of a version where it is known (engine/core/history.ts), as
-- "device.counter,...": what lets merges find the common ancestor.
CREATE TABLE version_contexts (
  key TEXT NOT NULL,
  device TEXT NOT NULL,
  counter INTEGER NOT NULL,
  context TEXT NOT NULL,
  PRIMARY KEY (key, device, counter)
) WITHOUT ROWID;
`,
  },
  {
    // The conflicts list and its count read only the notes that have conflicts (few), in list
    // order, instead of scanning every doc. Partial: notes without conflicts cost the index nothing.
    what: 'index of the notes with conflicts',
    sql: 'CREATE INDEX IF NOT EXISTS docs_conflicted ON docs (updated DESC, id) WHERE conflicted = 1;',
  },
  {
    // Issue 10: how much of this replica's change log each paired device is proven to hold.
    // In notes.db, not beside it: a database started over has a new log, and loses these with it.
    what: 'watermarks of paired devices',
    sql: 'CREATE TABLE IF NOT EXISTS watermarks (peer TEXT PRIMARY KEY, replica TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;',
  },
  {
    // Issue 11: opening a large vault reads a snapshot of the Merkle tree (key hashes and leaves,
    // crc32-checked) and replays the keys put after it, instead of hashing every key.
    what: 'a Merkle tree snapshot for a fast open',
    sql: 'CREATE TABLE tree_snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, data BLOB NOT NULL, crc INTEGER NOT NULL);',
  },
  {
    // Issue 11: history in its listing order (newest first, ties by device and counter), so that
    // bounding a field's history after a save walks the index instead of reading and sorting
    // every kept version: the prune of a typing save went from ~160 us to a few. It replaces the
    // (key, at) index, which is its prefix.
    what: 'history in listing order',
    sql: 'CREATE INDEX IF NOT EXISTS history_order ON history (key, at, device, counter); DROP INDEX IF EXISTS history_by_age;',
  },
  {
    // Issue 11: the search index is kept in step by the store's own statements (writeDoc in
    // sqlite.ts), not by triggers, whose savepoints made FTS5 write a segment per note. The
    // index itself is unchanged: the triggers kept it exactly as writeDoc does.
    what: 'search index written without triggers',
    sql: 'DROP TRIGGER IF EXISTS docs_fts_insert; DROP TRIGGER IF EXISTS docs_fts_delete; DROP TRIGGER IF EXISTS docs_fts_update;',
  },
];

export const SCHEMA_VERSION = 1 + MIGRATIONS.length;
