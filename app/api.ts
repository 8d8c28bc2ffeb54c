// The one API contract between the UI and a host. Types only: the renderer imports this file with
// `import type` and nothing else from app/ or engine/. Both hosts implement it: the Electron main
// process (through the preload bridge) and the headless peer (HTTP JSON + server-sent events, via
// app/http-client.ts). Every method may reject with an ApiError.

export type TextField = 'title' | 'body';

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

export interface ConflictVersion {
  readonly value: string | null;
  readonly device: string;
  readonly wall: number;
}

export interface Note {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly created: number;
  readonly updated: number;
  readonly trashed: boolean;
  /** Fields with concurrent versions, winner (the shown one) first. */
  readonly conflicts: Partial<Record<TextField, ConflictVersion[]>>;
}

export interface SearchHit {
  readonly id: string;
  readonly title: string;
  readonly snippet: string;
}

export interface Invite {
  /** Human-typable code (groups of 5 characters), carrying the vault secret and addresses to dial. */
  readonly code: string;
  readonly addresses: readonly string[];
}

export type SyncPath = 'local' | 'gossip' | 'anti-entropy' | 'import';

export interface SessionSummary {
  readonly peer: string;
  readonly role: 'initiator' | 'responder';
  readonly mode: string;
  readonly ok: boolean;
  readonly error: string | null;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly roundTrips: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly recordsSent: number;
  readonly recordsReceived: number;
  /** First nibbles (0-15) of the key-hash subtrees that differed. */
  readonly differingTop: readonly number[];
}

export interface PeerState {
  readonly id: string;
  readonly addresses: readonly string[];
  readonly connected: boolean;
  /** Our replica id for that peer's notes, once a session told us. */
  readonly replica: string | null;
  /** How far ahead of our clock the peer's newest write was stamped (negative: behind). */
  readonly clockSkewMs: number | null;
  readonly lastSession: SessionSummary | null;
}

export interface SyncState {
  readonly peerId: string;
  readonly replicaId: string;
  readonly vaultId: string;
  readonly addresses: readonly string[];
  readonly peers: readonly PeerState[];
  readonly gossip: {
    readonly topic: string;
    readonly topicPeers: readonly string[];
    readonly meshPeers: readonly string[];
    readonly messagesIn: number;
    readonly messagesOut: number;
    readonly rejected: number;
    readonly duplicates: number;
  };
  readonly merkle: {
    readonly root: string;
    readonly keys: number;
    /** Key counts of the 16 top-level subtrees, for the heatmap. */
    readonly top: readonly number[];
  };
  readonly sessions: readonly SessionSummary[];
  /** Records that changed this replica, by the path that delivered them. */
  readonly paths: Readonly<Record<SyncPath, number>>;
  /** Malformed gossip and anti-entropy frames received, by kind. */
  readonly rejected: Readonly<Record<string, number>>;
}

export type ApiEvent =
  | { readonly type: 'notes-changed'; readonly ids: readonly string[]; readonly origin: SyncPath }
  | { readonly type: 'sync-state'; readonly state: SyncState };

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
  /** Joins the vault of an invite code (this device must have no notes of its own yet). */
  join(code: string): Promise<SyncState>;
  addPeer(address: string): Promise<void>;
  syncState(): Promise<SyncState>;
  /** Change events; returns an unsubscribe function. */
  subscribe(listener: (event: ApiEvent) => void): () => void;
}
