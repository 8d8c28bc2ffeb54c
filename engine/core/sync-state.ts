// What the debug panel shows about sync, as plain data. Types only, so the UI contract
// (app/api.ts) can re-export them without pulling engine code into the renderer.

/** `merge`: writes this device made to join concurrent versions of a text field (automatic 3-way merge). */
export type SyncPath = 'local' | 'gossip' | 'anti-entropy' | 'import' | 'merge';

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
  /** The peer's key count and root prefix as it reported them in the last session. */
  readonly merkle: { readonly count: number; readonly digest: string } | null;
}

export interface SyncState {
  readonly peerId: string;
  readonly replicaId: string;
  readonly vaultId: string;
  readonly addresses: readonly string[];
  readonly peers: readonly PeerState[];
  readonly gossip: {
    readonly topic: string;
    /** Connected peers subscribed to the vault topic. */
    readonly topicPeers: number;
    /** Of those, the ones in our gossip mesh (full messages are pushed to them). */
    readonly meshPeers: number;
    readonly messagesIn: number;
    readonly messagesOut: number;
    readonly rejected: number;
    readonly duplicates: number;
  };
  readonly merkle: {
    /** First 8 bytes of our root digest (hex), comparable with each peer's `merkle.digest`. */
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
