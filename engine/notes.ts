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
import { dotKey, type HistoryEntry } from './core/history.ts';
import { compareDots, dotOf, knows, sameDots, stampOf, winner, type Context, type Dot, type KeyState, type Version } from './core/record.ts';
import { decodeRev, encodeRev, type FieldRev } from './core/rev.ts';
import { merge3 } from './core/text-merge.ts';
import { mergeState } from './note-merge.ts';
import type { Ancestry, AutoMerge, DocIndexer, Replica, ReplicaOptions, Write } from './replica.ts';
import type { ConflictVersion, HistoryVersion, Note, SearchHit, TextField } from './core/note-types.ts';
import type { DocEntry, DocPosition } from './store/store.ts';

export type { ConflictVersion, HistoryVersion, Note, TextField };

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
  // Indices into the key rather than a copy of its tail: every merged or indexed record parses one.
  const slash = key.lastIndexOf('/');
  const field = key.slice(slash + 1) as NoteField;
  if (slash <= PREFIX.length || !NOTE_FIELDS.includes(field)) return null;
  return { id: key.slice(PREFIX.length, slash), field };
}

function notFound(id: string): ValidationError {
  return new ValidationError('E_NOT_FOUND', `no note with id ${id}`, { id });
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

/** Whether `key` is a note's title or body: the fields that keep history and merge. */
export function isTextKey(key: string): boolean {
  const parsed = parseNoteKey(key);
  return parsed !== null && (parsed.field === 'title' || parsed.field === 'body');
}

/** What a reader of `state` was shown: the winner's text (with its twins) and the other versions. */
function fieldRev(state: KeyState | undefined): FieldRev {
  const w = winner(state);
  if (state === undefined || w === undefined) return { shown: [], other: [] };
  const shown = state.versions.filter((v) => v.value === w.value).map(dotOf).sort(compareDots);
  const other = state.versions.filter((v) => v.value !== w.value).map(dotOf).sort(compareDots);
  return { shown, other };
}

/** Versions of distinct text, winner first: identical texts are never a conflict. */
function distinctVersions(state: KeyState | undefined): ConflictVersion[] {
  const out: ConflictVersion[] = [];
  for (const v of state?.versions ?? []) {
    if (!out.some((c) => c.value === v.value)) out.push({ value: v.value, device: v.device, wall: v.wall });
  }
  return out;
}

/** The replica options that make a replica hold notes: index, history of text fields, merging. */
export function notesReplicaOptions(): Pick<ReplicaOptions, 'indexer' | 'history' | 'autoMerge'> {
  return { indexer: notesIndexer, history: { keys: isTextKey }, autoMerge: notesAutoMerge };
}

/** Merges a text field's versions when they merge cleanly against a known common ancestor. */
export const notesAutoMerge: AutoMerge = (key, state, ancestry) => {
  if (!isTextKey(key)) return undefined;
  const outcome = mergeState(state, ancestry);
  return outcome?.clean ? outcome.text : undefined;
};

type FieldStates = Record<NoteField, KeyState | undefined>;

function fieldStates(id: string, get: (key: string) => KeyState | undefined): FieldStates {
  const states: Partial<FieldStates> = {};
  for (const f of NOTE_FIELDS) states[f] = get(noteKey(id, f));
  return states as FieldStates;
}

/** A note as its fields' states show it, without its revision (which only a reader needs). */
function summarize(id: string, states: FieldStates): Omit<Note, 'rev'> | undefined {
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
    const versions = distinctVersions(states[f]);
    if (versions.length > 1) conflicts[f] = versions;
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

function assemble(id: string, get: (key: string) => KeyState | undefined): Note | undefined {
  const states = fieldStates(id, get);
  const note = summarize(id, states);
  return note && { ...note, rev: encodeRev({ title: fieldRev(states.title), body: fieldRev(states.body) }) };
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
    // The revision is only for readers: the index needs the note's text, times and flags.
    const note = summarize(id, fieldStates(id, get));
    if (!note) continue;
    docs.push({
      id, title: note.title, body: note.body, updated: note.updated, created: note.created,
      trashed: note.trashed, conflicted: Object.keys(note.conflicts).length > 0,
    });
  }
  return docs;
};

/**
 * `value` (made from `baseText`) with the changes of each version that came since merged in, or
 * undefined when one of them overlaps or is not known for certain to descend from the base.
 */
function rebase(value: string, baseText: string | undefined, base: readonly Dot[], since: readonly Version[], contexts: ReadonlyMap<string, Context>): string | undefined {
  if (baseText === undefined || base.length === 0) return undefined;
  let out = value;
  for (const v of [...since].sort(compareDots)) {
    const ctx = contexts.get(dotKey(v));
    if (v.value === null || ctx === undefined || !base.every((d) => (ctx[d.device] ?? 0) >= d.counter)) return undefined;
    const step = merge3(out, baseText, v.value);
    if (!step.clean) return undefined;
    out = step.text;
  }
  return out;
}

/** The text of the versions named by `dots`: current ones or kept in history. */
function textOf(dots: readonly Dot[], state: KeyState | undefined, history: () => readonly HistoryEntry[]): string | undefined {
  if (dots.length === 0) return '';
  const d = dots[0];
  // History is read only for a base that is no longer current: a typing save's base is current.
  const v = state?.versions.find((x) => sameDots(x, d)) ?? history().find((h) => sameDots(h, d));
  return v === undefined ? undefined : (v.value ?? '');
}

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
  save(id: string, edit: NoteEdit, base?: string): Note {
    if (base !== undefined) return this.saveFrom(id, edit, base);
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
   * Saves what the caller made from the note it read at `base` (its `rev`). Per field sent:
   *   - the same text as at base: the caller did not touch it, nothing is written;
   *   - base still current: the new text supersedes it (in a conflicted field only this
   *     device's own versions, as typing does; the other devices' versions stay);
   *   - versions came since base: the edit is rebased onto them (3-way, base text as ancestor)
   *     and supersedes them; where they overlap, or they do not descend from base for certain,
   *     the new text stays beside them as a concurrent version (a conflict): never lost;
   *   - this device's own newer version cannot stay beside it (one device writes one line of
   *     versions): if it does not rebase cleanly, E_STALE_BASE and nothing is written.
   */
  private saveFrom(id: string, edit: NoteEdit, base: string): Note {
    const rev = decodeRev(base);
    this.requireExists(id);
    const me = this.replica.replicaId;
    const writes: Write[] = [];
    let rebased = false;
    for (const field of ['title', 'body'] as const) {
      const key = noteKey(id, field);
      const state = this.replica.get(key);
      const seen = rev[field];
      for (const d of [...seen.shown, ...seen.other]) {
        if (!knows(state, d)) {
          throw new ValidationError('E_UNKNOWN_BASE', `base names a version of the ${field} this device has never had (${d.device}.${d.counter}); read the note again`, { field });
        }
      }
      const value = edit[field];
      if (value === undefined) continue;
      // The field's kept versions and contexts, read only when the base is not simply current
      // (a few hundred us for a field with a long history: most of a typing save otherwise).
      let ancestry: Ancestry | undefined;
      const ancestryOf = (): Ancestry => (ancestry ??= this.replica.ancestry(key));
      const baseText = textOf(seen.shown, state, () => ancestryOf().history);
      if (baseText !== undefined ? value === baseText : value === text(state)) continue;
      const current = state?.versions ?? [];
      const stale = () => new ValidationError('E_STALE_BASE', `the ${field} changed on this device since base and the edits overlap; read the note again and reapply`, { field });
      if (seen.other.length > 0) {
        // Typing in a conflicted field continues the shown version and replaces this device's
        // own; the other devices' versions stay until the user resolves.
        const supersede = [...seen.shown, ...seen.other].filter((d) => d.device === me);
        if (current.some((v) => v.device === me && !supersede.some((d) => sameDots(d, v)))) throw stale();
        writes.push({ key, value, supersede, exact: false });
        continue;
      }
      const unseen = current.filter((v) => !seen.shown.some((d) => sameDots(d, v)));
      if (unseen.length === 0) {
        writes.push({ key, value, supersede: seen.shown });
        continue;
      }
      const onto = rebase(value, baseText, seen.shown, unseen, ancestryOf().contexts);
      if (onto !== undefined) {
        writes.push({ key, value: onto, supersede: current.map(dotOf) });
        rebased = true;
        continue;
      }
      if (unseen.some((v) => v.device === me)) throw stale();
      writes.push({ key, value, supersede: seen.shown, exact: false });
    }
    if (writes.length > 0) this.replica.write(writes, rebased ? 'merge' : 'local');
    return this.get(id)!;
  }

  /** The kept superseded versions of a note's title and body, newest first. */
  history(id: string): HistoryVersion[] {
    this.requireExists(id);
    const out: HistoryVersion[] = [];
    for (const field of ['title', 'body'] as const) {
      for (const h of this.replica.history(noteKey(id, field))) {
        out.push({
          field, text: h.value ?? '', device: h.device, time: h.wall, supersededAt: h.at,
          supersededBy: h.supersededBy.map((d) => `${d.device}.${d.counter}`), version: `${h.device}.${h.counter}`,
        });
      }
    }
    return out.sort((a, b) => b.supersededAt - a.supersededAt || (a.version < b.version ? 1 : -1));
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
    this.requireExists(id);
    this.replica.write([{ key: noteKey(id, field), value }]);
    return this.get(id)!;
  }

  trash(id: string): Note {
    return this.setTrashed(id, true);
  }

  restore(id: string): Note {
    return this.setTrashed(id, false);
  }

  /** The change-log seq at which this device's state of the note last changed (0: no such note). */
  lastChange(id: string): number {
    return this.replica.lastSeqUnder(`${PREFIX}${validateNoteId(id)}/`);
  }

  get(id: string): Note | undefined {
    validateNoteId(id);
    const note = assemble(id, (key) => this.replica.get(key));
    if (note === undefined || Object.keys(note.conflicts).length === 0) return note;
    const merged: Partial<Record<TextField, string>> = {};
    for (const field of Object.keys(note.conflicts) as TextField[]) {
      const key = noteKey(id, field);
      const outcome = mergeState(this.replica.get(key) as KeyState, this.replica.ancestry(key), true);
      if (outcome !== undefined) merged[field] = outcome.text;
    }
    return Object.keys(merged).length > 0 ? { ...note, merged } : note;
  }

  list(opts: { trashed?: boolean; limit?: number; offset?: number; after?: DocPosition } = {}): DocEntry[] {
    return this.replica.storage.listDocs({ trashed: opts.trashed ?? false, limit: opts.limit, offset: opts.offset, after: opts.after });
  }

  /** The index rows of the given notes (those that exist), in the order asked. */
  docs(ids: readonly string[]): DocEntry[] {
    const out: DocEntry[] = [];
    for (const id of ids) {
      const d = this.replica.storage.getDoc(validateNoteId(id));
      if (d) out.push(d);
    }
    return out;
  }

  search(text: string, limit?: number, offset?: number): SearchHit[] {
    return this.replica.storage.search(text, limit, offset);
  }

  /** Notes with pending conflicts, newest first: read through the store's conflict index, not a scan. */
  conflicted(): Note[] {
    return this.replica.storage.listDocs({ conflicted: true }).map((d) => this.get(d.id)).filter((n) => n !== undefined);
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
    if (!note) throw notFound(id);
    return note;
  }

  /**
   * Refuses an id with no note, without reading it: a note is its fields, and the Merkle tree
   * holds exactly the stored keys. (Reading the note would also merge a conflicted one's texts.)
   */
  private requireExists(id: string): void {
    validateNoteId(id);
    if (!NOTE_FIELDS.some((f) => this.replica.tree.has(noteKey(id, f)))) throw notFound(id);
  }

  private now(): number {
    return this.replica.wallNow();
  }
}
