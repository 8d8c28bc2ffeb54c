// The one API contract between the UI and a host. Types only: the renderer imports this file with
// `import type` and nothing else from app/ or engine/. Both hosts implement it: the Electron main
// process (through the preload bridge) and the headless peer (HTTP JSON + server-sent events, via
// app/http-client.ts). Every method may reject with an ApiError.

export type { ConflictVersion, HistoryVersion, Note, SearchHit, TextField } from '../engine/core/note-types.ts';
import type { HistoryVersion, Note, SearchHit, TextField } from '../engine/core/note-types.ts';

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

export interface ApiError {
  readonly code: string;
  readonly message: string;
}

export interface SaveFields {
  readonly title?: string;
  readonly body?: string;
  /** The `rev` of the note these fields were edited from. */
  readonly base?: string;
}

export interface NotesApi {
  listNotes(opts?: { trashed?: boolean }): Promise<NoteSummary[]>;
  getNote(id: string): Promise<Note>;
  createNote(fields?: { title?: string; body?: string }): Promise<Note>;
  /**
   * Saves the fields sent. `base` is the `rev` of the note the edit was made from: versions
   * written elsewhere since are kept (merged, or a conflict), never overwritten. Without `base`
   * the save replaces whatever this device holds (the meaning before base existed).
   */
  saveNote(id: string, fields: SaveFields): Promise<Note>;
  /** Superseded versions of the note's title and body kept on this device, newest first. */
  history(id: string): Promise<HistoryVersion[]>;
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
  /** Change events; returns an unsubscribe function. */
  subscribe(listener: (event: ApiEvent) => void): () => void;
}
