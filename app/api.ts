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
  /** Of this device's paired devices, how many are proven to hold the note's current versions. */
  readonly devices: { readonly holding: number; readonly paired: number };
}

/**
 * One page of a notes list, newest first. `next` is an opaque cursor for the page after this one,
 * null on the last page. Paging is keyset-based: across a pass, every note that exists and is not
 * changed during it appears exactly once. A note created or changed during the pass moves above
 * the pages already read (its `updated` is newer), so the pass never shows it (again): the
 * `notes-changed` event that names it is how a client learns its new place (see summaries()).
 */
export interface NotesPage {
  readonly notes: NoteSummary[];
  readonly next: string | null;
}

/** One page of search hits, best match first; `next` as in NotesPage (an offset into the ranking). */
export interface SearchPage {
  readonly hits: SearchHit[];
  readonly next: string | null;
}

/** Page options: `limit` 1..1000 (default 200); `cursor` from the previous page's `next`. */
export interface PageOptions {
  readonly limit?: number;
  readonly cursor?: string;
}

export interface Invite {
  /** Human-typable code (groups of 5 characters), carrying the vault secret and addresses to dial. */
  readonly code: string;
  readonly addresses: readonly string[];
}

export type { DeviceHold, DoctorCode, DoctorReason, NearbyDevice, NoteSync, NetworkInterfaceState, OutgoingPairing, PairingMode, PairingRequest, PairingState, PeerState, SessionSummary, SyncPath, SyncProgress, SyncState } from '../engine/core/sync-state.ts';
import type { NoteSync, PairingState, SessionSummary, SyncPath, SyncState } from '../engine/core/sync-state.ts';

/** This device as its paired devices see it. */
export interface DeviceSelf {
  readonly name: string;
}

export interface ForgetResult {
  /** The vault's id after the rotation (derived from the new key). */
  readonly vaultId: string;
  /** Devices that took the new key. */
  readonly moved: readonly string[];
  /** Paired devices that were not connected: invite them again. */
  readonly reinviteNeeded: readonly string[];
}

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

export interface SaveFields {
  readonly title?: string;
  readonly body?: string;
  /** The `rev` of the note these fields were edited from. */
  readonly base?: string;
}

export interface NotesApi {
  /** Every note at once: for scripts and tests. The UI pages with notesPage() instead. */
  listNotes(opts?: { trashed?: boolean }): Promise<NoteSummary[]>;
  /** One page of the notes list (or the trash), newest first. Bad cursor/limit: E_INVALID_CURSOR/E_INVALID_LIMIT. */
  notesPage(opts?: { trashed?: boolean } & PageOptions): Promise<NotesPage>;
  /**
   * The current summaries of the given notes (at most 1000 ids), in the order asked; ids of notes
   * that do not exist are left out. Trashed notes are included (their `trashed` says so), so a
   * client can take a note a notes-changed event names out of its list, or move it.
   */
  summaries(ids: readonly string[]): Promise<NoteSummary[]>;
  getNote(id: string): Promise<Note>;
  /** Which paired devices are proven to hold the note's current versions, and why the others are not. */
  noteSync(id: string): Promise<NoteSync>;
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
  /** Search, paged: the same ranking as search(), `limit` hits from the cursor's place. */
  searchPage(text: string, opts?: PageOptions): Promise<SearchPage>;
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
  /** Renames this device (1-64 characters); its paired devices are told at once. */
  renameDevice(name: string): Promise<DeviceSelf>;
  /**
   * Forgets a paired device and rotates the vault key: connected devices move to the new key,
   * the forgotten one (and every old invite code) can no longer connect, and devices that were
   * offline need a new invite (they keep their notes).
   */
  forgetDevice(peerId: string): Promise<ForgetResult>;
  /** "Pair nearby": the pairing window's state (also in SyncState.pairing, pushed with sync-state events). */
  pairingState(): Promise<PairingState>;
  /** Opens a 2-minute pairing window: "Add a device nearby" ('invite') or "Join a device nearby" ('join'). */
  startPairing(mode: 'invite' | 'join'): Promise<PairingState>;
  /** Joining: asks a nearby device in pairing mode to let this one in; both then show the same code. */
  requestPairing(peerId: string): Promise<PairingState>;
  /** Inviting: confirms (the vault secret is sent) or refuses (nothing is sent) a request. */
  answerPairing(peerId: string, accept: boolean): Promise<PairingState>;
  stopPairing(): Promise<PairingState>;
  /** Imports one batch of Markdown files (one transaction); large folders are sent in several. */
  importMarkdown(batch: ImportBatch): Promise<ImportReport>;
  /** Every note as a Markdown file (front matter id, title, created, updated), and with `trash` the trash. */
  exportMarkdown(opts?: { trash?: boolean }): Promise<ExportFile[]>;
  /** Change events; returns an unsubscribe function. */
  subscribe(listener: (event: ApiEvent) => void): () => void;
}
