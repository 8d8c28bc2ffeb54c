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
    // The conflicts list and its count read only the notes that have conflicts (few), in list
    // order, instead of scanning every doc. Partial: notes without conflicts cost the index nothing.
    what: 'index of the notes with conflicts',
    sql: 'CREATE INDEX IF NOT EXISTS docs_conflicted ON docs (updated DESC, id) WHERE conflicted = 1;',
  },
];

export const SCHEMA_VERSION = 1 + MIGRATIONS.length;
