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

export type { DoctorCode, DoctorReason, NearbyDevice, NetworkInterfaceState, OutgoingPairing, PairingMode, PairingRequest, PairingState, PeerState, SessionSummary, SyncPath, SyncState } from '../engine/core/sync-state.ts';
import type { PairingState, SessionSummary, SyncPath, SyncState } from '../engine/core/sync-state.ts';

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
  /** Change events; returns an unsubscribe function. */
  subscribe(listener: (event: ApiEvent) => void): () => void;
}
