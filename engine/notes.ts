// Notes on top of the key-value replica. A note is one key per field, so editing the title on
// one laptop and the body on another never conflicts:
//
//   note/<id>/title    text
//   note/<id>/body     text (Markdown)
//   note/<id>/created  wall ms as decimal text, written once
//   note/<id>/trashed  "1" in the trash, "0" restored (absent: not trashed)
//   note/<id>/folder   sub-folder path ('/'-separated) the note was imported from (absent: top)
//   note/<id>/updated  wall ms as decimal text: an update time carried in by an import
//
// "updated" is derived (newest winning field write), so it never causes a conflict itself. An
// import must keep the file's own time instead, yet its writes are stamped now (the clock only
// moves forward): so it also writes the `updated` field, last in its batch. That value counts
// while no other field of the note has a newer winning stamp; the first later edit takes over
// again with its own write time, as for any note.
// Trashing is a field write, not a tombstone, so a concurrent edit is kept in the trashed note
// and comes back with it on restore.

import { randomBytes } from 'node:crypto';
import { ValidationError } from './core/errors.ts';
import { compareStamps } from './core/clock.ts';
import { stampOf, winner, type KeyState } from './core/record.ts';
import type { DocIndexer, Replica, Write } from './replica.ts';
import type { ConflictVersion, Note, SearchHit, TextField } from './core/note-types.ts';
import type { DocEntry } from './store/store.ts';

export type { ConflictVersion, Note, TextField };

export const NOTE_FIELDS = ['title', 'body', 'created', 'trashed', 'folder', 'updated'] as const;
export type NoteField = (typeof NOTE_FIELDS)[number];

const ID_RE = /^[0-9a-z][0-9a-z-]{0,63}$/;
const PREFIX = 'note/';

export function noteKey(id: string, field: NoteField): string {
  return `${PREFIX}${id}/${field}`;
}

/** The note id and field of a key, or null for keys that are not note fields. */
export function parseNoteKey(key: string): { id: string; field: NoteField } | null {
  if (!key.startsWith(PREFIX)) return null;
  const rest = key.slice(PREFIX.length);
  const slash = rest.lastIndexOf('/');
  const field = rest.slice(slash + 1) as NoteField;
  if (slash <= 0 || !NOTE_FIELDS.includes(field)) return null;
  return { id: rest.slice(0, slash), field };
}

export function validateNoteId(id: unknown): string {
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    throw new ValidationError('E_INVALID_KEY', 'a note id is 1-64 characters of lowercase letters, digits and dashes', { id });
  }
  return id;
}

function text(state: KeyState | undefined): string {
  return winner(state)?.value ?? '';
}

function assemble(id: string, get: (key: string) => KeyState | undefined): Note | undefined {
  const states = Object.fromEntries(NOTE_FIELDS.map((f) => [f, get(noteKey(id, f))])) as Record<NoteField, KeyState | undefined>;
  if (NOTE_FIELDS.every((f) => states[f] === undefined)) return undefined;
  let updated = 0;
  let earliest = Number.MAX_SAFE_INTEGER;
  const carried = winner(states.updated);
  let carriedIsNewest = carried !== undefined;
  for (const f of NOTE_FIELDS) {
    const w = winner(states[f]);
    if (w && f !== 'updated') {
      updated = Math.max(updated, w.wall);
      earliest = Math.min(earliest, w.wall);
      if (carried && compareStamps(stampOf(w), stampOf(carried)) > 0) carriedIsNewest = false;
    }
  }
  const carriedMs = Number(carried?.value);
  if (carriedIsNewest && Number.isSafeInteger(carriedMs) && carriedMs > 0) updated = carriedMs;
  const conflicts: Partial<Record<TextField, ConflictVersion[]>> = {};
  for (const f of ['title', 'body'] as const) {
    const versions = states[f]?.versions ?? [];
    if (versions.length > 1) conflicts[f] = versions.map((v) => ({ value: v.value, device: v.device, wall: v.wall }));
  }
  const created = Number(text(states.created));
  return {
    id,
    title: text(states.title),
    body: text(states.body),
    created: Number.isSafeInteger(created) && created > 0 ? created : earliest,
    updated,
    trashed: text(states.trashed) === '1',
    folder: text(states.folder),
    conflicts,
  };
}

/** Keeps the store's document index (list + full-text search) in step with note fields. */
export const notesIndexer: DocIndexer = (changedKeys, get) => {
  const ids = new Set<string>();
  for (const key of changedKeys) {
    const parsed = parseNoteKey(key);
    if (parsed) ids.add(parsed.id);
  }
  const docs: DocEntry[] = [];
  for (const id of ids) {
    const note = assemble(id, get);
    if (!note) continue;
    docs.push({
      id, title: note.title, body: note.body, updated: note.updated, created: note.created,
      trashed: note.trashed, conflicted: Object.keys(note.conflicts).length > 0,
    });
  }
  return docs;
};

export interface NoteEdit {
  readonly title?: string;
  readonly body?: string;
}

/** A whole note as an import brings it (engine/markdown/importer.ts). */
export interface ImportedNote {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly folder: string;
  readonly created: number;
  readonly updated: number;
  readonly trashed: boolean;
}

export class Notes {
  readonly replica: Replica;

  constructor(replica: Replica) {
    this.replica = replica;
  }

  create(edit: NoteEdit = {}, id: string = randomBytes(8).toString('hex')): Note {
    validateNoteId(id);
    if (this.get(id)) throw new ValidationError('E_INVALID_KEY', `note ${id} already exists`, { id });
    this.replica.write([
      { key: noteKey(id, 'title'), value: edit.title ?? '' },
      { key: noteKey(id, 'body'), value: edit.body ?? '' },
      { key: noteKey(id, 'created'), value: String(this.now()) },
    ]);
    return this.get(id)!;
  }

  /**
   * Saves the fields that changed. Typing into a field that has a pending conflict replaces only
   * this device's own version: other devices' versions stay until the user resolves them.
   */
  save(id: string, edit: NoteEdit): Note {
    const current = this.require(id);
    const writes: Write[] = [];
    for (const field of ['title', 'body'] as const) {
      const value = edit[field];
      if (value === undefined || value === current[field]) continue;
      writes.push({ key: noteKey(id, field), value, mode: current.conflicts[field] ? 'keep-conflicts' : 'supersede' });
    }
    if (writes.length > 0) this.replica.write(writes);
    return this.get(id)!;
  }

  /**
   * Writes imported notes, all in one transaction through the one write path (so they sync like
   * any edit). A new note gets every field; an existing one only the fields that differ. Each
   * note's `updated` goes last, so its stamp is the note's newest (see the header).
   */
  importBatch(notes: readonly ImportedNote[]): void {
    const writes: Write[] = [];
    for (const n of notes) {
      validateNoteId(n.id);
      const current = this.get(n.id);
      const fields: [NoteField, string][] = [
        ['title', n.title], ['body', n.body], ['created', String(n.created)], ['folder', n.folder], ['trashed', n.trashed ? '1' : '0'],
      ];
      for (const [field, value] of fields) {
        if (current === undefined) {
          // A new note leaves out what absence already says, like create() does.
          if ((field === 'folder' && value === '') || (field === 'trashed' && !n.trashed)) continue;
        } else if (value === this.fieldText(current, field)) continue;
        writes.push({ key: noteKey(n.id, field), value });
      }
      writes.push({ key: noteKey(n.id, 'updated'), value: String(n.updated) });
    }
    if (writes.length > 0) this.replica.write(writes);
  }

  /** Ends a conflict: the chosen or merged text supersedes every version of the field. */
  resolve(id: string, field: TextField, value: string): Note {
    this.require(id);
    this.replica.write([{ key: noteKey(id, field), value }]);
    return this.get(id)!;
  }

  trash(id: string): Note {
    return this.setTrashed(id, true);
  }

  restore(id: string): Note {
    return this.setTrashed(id, false);
  }

  get(id: string): Note | undefined {
    validateNoteId(id);
    return assemble(id, (key) => this.replica.get(key));
  }

  list(opts: { trashed?: boolean; limit?: number; offset?: number } = {}): DocEntry[] {
    return this.replica.storage.listDocs({ trashed: opts.trashed ?? false, limit: opts.limit, offset: opts.offset });
  }

  search(text: string, limit?: number): SearchHit[] {
    return this.replica.storage.search(text, limit);
  }

  conflicted(): Note[] {
    return this.replica.storage.listDocs({}).filter((d) => d.conflicted).map((d) => this.get(d.id)!).filter(Boolean);
  }

  private setTrashed(id: string, trashed: boolean): Note {
    const note = this.require(id);
    if (note.trashed !== trashed) this.replica.write([{ key: noteKey(id, 'trashed'), value: trashed ? '1' : '0' }]);
    return this.get(id)!;
  }

  private fieldText(note: Note, field: NoteField): string {
    switch (field) {
      case 'created': return String(note.created);
      case 'updated': return String(note.updated);
      case 'trashed': return note.trashed ? '1' : '0';
      default: return note[field];
    }
  }

  private require(id: string): Note {
    const note = this.get(id);
    if (!note) throw new ValidationError('E_NOT_FOUND', `no note with id ${id}`, { id });
    return note;
  }

  private now(): number {
    return this.replica.wallNow();
  }
}
