// A damaged notes database: how to tell damage from every other refusal, how to keep the damaged
// file aside (never deleted), and how to read out of it whatever SQLite still can, so that notes
// this device alone held are not lost when it starts fresh from its paired devices.

import { copyFileSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { decodeRecord } from '../core/codec.ts';
import { StoreError } from '../core/errors.ts';
import { winner, type KeyState } from '../core/record.ts';

const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;
/** The side files SQLite keeps beside a database; they travel with it when it is set aside. */
const SIDE_SUFFIXES = ['-wal', '-shm', '-journal'] as const;

/**
 * True for the errors a damaged store raises on open or on its first full read: SQLite's
 * SQLITE_CORRUPT ("database disk image is malformed") and SQLITE_NOTADB, and the store's own
 * refusals of a notes store with missing parts. A database of another application, or one from
 * a newer app version, is not damage: those are refused and left alone.
 */
export function isStoreDamage(e: unknown): boolean {
  if (e instanceof StoreError) return e.details.damaged === true;
  const code = (e as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' && ((code & 0xff) === SQLITE_CORRUPT || (code & 0xff) === SQLITE_NOTADB);
}

/**
 * Reads the whole note list (the docs table, titles and bodies included), which opening the store
 * does not, so damage there is found at start rather than by the first listing. Read-only, on a
 * connection of its own beside the store's; throws SQLite's own error.
 */
export function readNoteList(file: string): void {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    db.prepare('SELECT count(*) FROM docs WHERE length(title) + length(body) >= 0').get();
  } finally {
    db.close();
  }
}

/** A note as far as it could be read from a damaged store. */
export interface RecoveredNote {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  /** ISO times, when known. */
  readonly created?: string;
  readonly updated?: string;
  readonly trashed: boolean;
  /** Other versions of the title or body this device still held in conflict. */
  readonly otherVersions: readonly { field: 'title' | 'body'; text: string; device: string; time: string }[];
}

export interface Salvage {
  readonly notes: RecoveredNote[];
  /** Parts of the file SQLite could not read, in words (empty when everything was readable). */
  readonly problems: string[];
}

interface Gathered {
  id: string;
  title?: string;
  body?: string;
  created?: number;
  updated?: number;
  trashed?: boolean;
  other: { field: 'title' | 'body'; text: string; device: string; time: string }[];
}

const NOTE_KEY = /^note\/([0-9a-z][0-9a-z-]{0,63})\/(title|body|created|trashed)$/;
const BATCH = 256;
const MAX_SKIPS = 48;

/**
 * Reads rows by rowid, stepping over pages SQLite reports as damaged: on an error the cursor jumps
 * ahead (1, 2, 4, ... rowids), so one bad page costs a few attempts, not the rest of the table.
 */
function readRows(db: DatabaseSync, sql: string, onRow: (row: Record<string, unknown>) => void): string | null {
  let after = -1;
  let step = 1;
  let skips = 0;
  let lastError: string | null = null;
  const stmt = db.prepare(sql);
  for (;;) {
    let n = 0;
    try {
      for (const row of stmt.iterate(after, BATCH) as Iterable<Record<string, unknown>>) {
        after = Number(row.rid);
        n++;
        onRow(row);
      }
      if (n === 0) break;
      step = 1;
    } catch (e) {
      lastError = (e as Error).message;
      if (++skips > MAX_SKIPS) break;
      after += step;
      step *= 2;
    }
  }
  return lastError;
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString();
}

function entry(notes: Map<string, Gathered>, id: string): Gathered {
  let n = notes.get(id);
  if (n === undefined) {
    n = { id, other: [] };
    notes.set(id, n);
  }
  return n;
}

function fromRecord(notes: Map<string, Gathered>, key: string, state: KeyState): void {
  const m = NOTE_KEY.exec(key);
  if (m === null) return;
  const [, id, field] = m;
  const w = winner(state);
  if (w === undefined || w.value === null) return;
  const n = entry(notes, id);
  n.updated = Math.max(n.updated ?? 0, w.wall);
  if (field === 'title' || field === 'body') {
    n[field] = w.value;
    for (const v of state.versions) {
      if (v !== w && v.value !== null) n.other.push({ field, text: v.value, device: v.device, time: new Date(v.wall).toISOString() });
    }
  } else if (field === 'created') {
    const t = Number(w.value);
    if (Number.isFinite(t)) n.created = t;
  } else {
    n.trashed = w.value === '1';
  }
}

/**
 * Reads what it can of the notes in a damaged store, from a private copy (file + WAL) in the
 * temp directory, so the kept file is never modified, not even by WAL recovery. The record table
 * carries every version; the document table (title/body as last shown) fills in notes whose
 * records are unreadable.
 */
export function salvageNotes(file: string): Salvage {
  const problems: string[] = [];
  const notes = new Map<string, Gathered>();
  const dir = mkdtempSync(join(tmpdir(), 'lan-notes-salvage-'));
  try {
    const copy = join(dir, 'notes.db');
    copyFileSync(file, copy);
    if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(copy);
      db.prepare('SELECT count(*) FROM sqlite_schema').get();
    } catch (e) {
      return { notes: [], problems: [`SQLite cannot read the file at all (${(e as Error).message})`] };
    }
    try {
      const tables = new Set<unknown>();
      try {
        for (const r of db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all()) tables.add(r.name);
      } catch (e) {
        problems.push(`the list of tables is unreadable (${(e as Error).message})`);
      }
      if (tables.has('records')) {
        const err = readRows(db, 'SELECT rowid AS rid, key, state FROM records WHERE rowid > ? ORDER BY rowid LIMIT ?', (row) => {
          try {
            fromRecord(notes, String(row.key), decodeRecord(row.state as Uint8Array).state);
          } catch {
            // One undecodable record must not stop the rest.
          }
        });
        if (err !== null) problems.push(`part of the note versions is unreadable (${err})`);
      } else {
        problems.push('the note versions (records table) are gone');
      }
      if (tables.has('docs')) {
        const err = readRows(db, 'SELECT n AS rid, id, title, body, updated, created, trashed FROM docs WHERE n > ? ORDER BY n LIMIT ?', (row) => {
          const n = entry(notes, String(row.id));
          n.title ??= String(row.title);
          n.body ??= String(row.body);
          n.updated ??= Number(row.updated);
          n.created ??= Number(row.created);
          n.trashed ??= Number(row.trashed) !== 0;
        });
        if (err !== null) problems.push(`part of the note list (docs table) is unreadable (${err})`);
      } else {
        problems.push('the note list (docs table) is gone');
      }
    } finally {
      db.close();
    }
  } catch (e) {
    problems.push(`reading the file failed (${(e as Error).message})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const list = [...notes.values()]
    .filter((n) => n.title !== undefined || n.body !== undefined)
    .map((n): RecoveredNote => ({
      id: n.id, title: n.title ?? '', body: n.body ?? '', created: iso(n.created), updated: iso(n.updated), trashed: n.trashed ?? false, otherVersions: n.other,
    }))
    .sort((a, b) => (b.updated ?? '').localeCompare(a.updated ?? '') || a.id.localeCompare(b.id));
  return { notes: list, problems };
}

/** A time for file names: sortable, no characters any filesystem refuses. */
export function fileTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, '-');
}

/**
 * Renames the damaged database and its side files to `<name>.damaged-<time>` (`-wal`, `-shm`
 * alongside, so SQLite still pairs them). Returns the new path. Never deletes anything; a name
 * already taken gets a counter.
 */
export function setAsideDamaged(file: string, time: string): string {
  let target = `${file}.damaged-${time}`;
  for (let i = 2; [target, ...SIDE_SUFFIXES.map((s) => target + s)].some(existsSync); i++) target = `${file}.damaged-${time}-${i}`;
  renameSync(file, target);
  for (const s of SIDE_SUFFIXES) if (existsSync(file + s)) renameSync(file + s, target + s);
  return target;
}

/** Writes what was salvaged to `recovered-<time>.json` beside the store; returns its path. */
export function writeRecovered(file: string, time: string, damagedPath: string, salvage: Salvage): string {
  const out = join(dirname(file), `recovered-${time}.json`);
  const doc = {
    what: 'Notes read from a damaged notes database when this device started fresh. Notes your other devices also hold come back by themselves; anything only this device held is here.',
    damagedFile: basename(damagedPath),
    unreadable: salvage.problems,
    notes: salvage.notes,
  };
  writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
  return out;
}
