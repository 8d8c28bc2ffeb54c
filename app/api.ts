// The one API contract between the UI and a host. Types only: the renderer imports this file with
// `import type` and nothing else from app/ or engine/. Both hosts implement it: the Electron main
// process (through the preload bridge) and the headless peer (HTTP JSON + server-sent events, via
// app/http-client.ts). Every method may reject with an ApiError.

export type { ConflictVersion, Note, SearchHit, TextField } from '../engine/core/note-types.ts';
import type { Note, SearchHit, TextField } from '../engine/core/note-types.ts';

export interface NoteSummary {
  readonly id: string;
  readonly title: string;
  /** The first characters of the body, for the list. */
  readonly excerpt: string;
  readonly created: number;
  readonly updated: number;
  readonly trashed: boolean;
  readonly conflicted: boolean;
}

export interface Invite {
  /** Human-typable code (groups of 5 characters), carrying the vault secret and addresses to dial. */
  readonly code: string;
  readonly addresses: readonly string[];
}

export type { PeerState, SessionSummary, SyncPath, SyncState } from '../engine/core/sync-state.ts';
import type { SessionSummary, SyncPath, SyncState } from '../engine/core/sync-state.ts';

export type ApiEvent =
  | { readonly type: 'notes-changed'; readonly ids: readonly string[]; readonly origin: SyncPath }
  | { readonly type: 'sync-state'; readonly state: SyncState };

export type { ExportFile, ImportedFile, ImportReport, ImportStatus, SkippedFile, SkipReason } from '../engine/core/markdown-types.ts';
import type { ExportFile, ImportReport } from '../engine/core/markdown-types.ts';

/** One file of a Markdown import, as a host or the browser read it. */
export interface ImportFileData {
  /** Relative to the imported folder, '/'-separated (the browser's webkitRelativePath minus the folder). */
  readonly path: string;
  /** The file's bytes, base64; left out for a file too large to be a note (then `size` tells). */
  readonly data?: string;
  readonly size: number;
  /** Last modification, ms since the epoch. */
  readonly modified: number;
  readonly created?: number;
}

/**
 * One batch of an import: written in one transaction. `root` is the imported folder's name: with
 * a file's path it gives the note its stable id, so importing the same folder again updates
 * instead of duplicating.
 */
export interface ImportBatch {
  readonly root: string;
  readonly files: readonly ImportFileData[];
}

export interface ApiError {
  readonly code: string;
  readonly message: string;
}

export interface NotesApi {
  listNotes(opts?: { trashed?: boolean }): Promise<NoteSummary[]>;
  getNote(id: string): Promise<Note>;
  createNote(fields?: { title?: string; body?: string }): Promise<Note>;
  saveNote(id: string, fields: { title?: string; body?: string }): Promise<Note>;
  trashNote(id: string): Promise<Note>;
  restoreNote(id: string): Promise<Note>;
  search(text: string): Promise<SearchHit[]>;
  conflicts(): Promise<Note[]>;
  /** Ends a conflict: the chosen or merged text supersedes every version of the field. */
  resolve(id: string, field: TextField, value: string): Promise<Note>;
  invite(): Promise<Invite>;
  /** Joins the vault of an invite code; notes already on this device sync into that vault. */
  join(code: string): Promise<SyncState>;
  addPeer(address: string): Promise<void>;
  syncState(): Promise<SyncState>;
  /** Runs an anti-entropy session with every connected peer now; the debug panel's "sync now". */
  syncNow(): Promise<SessionSummary[]>;
  /** Imports one batch of Markdown files (one transaction); large folders are sent in several. */
  importMarkdown(batch: ImportBatch): Promise<ImportReport>;
  /** Every note as a Markdown file (front matter id, title, created, updated), and with `trash` the trash. */
  exportMarkdown(opts?: { trash?: boolean }): Promise<ExportFile[]>;
  /** Change events; returns an unsubscribe function. */
  subscribe(listener: (event: ApiEvent) => void): () => void;
}
