// What the debug panel shows about sync, as plain data. Types only, so the UI contract
// (app/api.ts) can re-export them without pulling engine code into the renderer.

import type { DoctorReason } from './doctor.ts';
import type { PairingState } from './pairing-types.ts';
export type { NearbyDevice, OutgoingPairing, PairingMode, PairingRequest, PairingState } from './pairing-types.ts';
export type { DoctorCode, DoctorReason } from './doctor.ts';

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
  /** The name the device gave itself (told over the device-name protocol), or null if not heard yet. */
  readonly name: string | null;
  /** In this device's paired devices table (remembered across restarts). */
  readonly paired: boolean;
  /** Addresses remembered for redialing it. */
  readonly knownAddresses: readonly string[];
  readonly lastSeen: number | null;
  /**
   * The LAN doctor: why it is not connected (or, connected, cannot sync), from the last observed
   * failure; null while all is well or before anything was tried.
   */
  readonly problem: DoctorReason | null;
  /** Redial rounds tried since start, and when the next is due (null when none is scheduled). */
  readonly redial: { readonly attempts: number; readonly failures: number; readonly nextAt: number | null };
  readonly addresses: readonly string[];
  readonly connected: boolean;
  /** Our replica id for that peer's notes, once a session told us. */
  readonly replica: string | null;
  /** How far ahead of our clock the peer's newest write was stamped (negative: behind). */
  readonly clockSkewMs: number | null;
  readonly lastSession: SessionSummary | null;
  /** The peer's key count and root prefix as it reported them in the last session. */
  readonly merkle: { readonly count: number; readonly digest: string } | null;
  /**
   * How much of this device's change log the peer is proven to hold (engine/PROTOCOL.md, R-HOLD):
   * every change up to `seq` (of `ofSeq` so far), proven at `verifiedAt`; null when never proven.
   */
  readonly watermark: { readonly seq: number; readonly ofSeq: number; readonly verifiedAt: number } | null;
}

/**
 * A large transfer in progress (more than ~1,000 records or ~5 MB): a device joining, a laptop
 * back after a week. Totals come from the sender, which announces what the message it is sending
 * holds (R-PROG-1); `etaMs` is extrapolated from the rate so far (null until there is a rate).
 */
export interface SyncProgress {
  /** The device the records come from (progress is shown on the receiving device). */
  readonly peer: string;
  readonly recordsDone: number;
  readonly recordsTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly etaMs: number | null;
}

export interface NetworkInterfaceState {
  readonly name: string;
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly internal: boolean;
}

export interface SyncState {
  readonly peerId: string;
  /** This device as its paired devices see it. */
  readonly device: { readonly name: string };
  /** "Pair nearby": the open pairing window, nearby devices, requests and their codes. */
  readonly pairing: PairingState;
  /** What the LAN doctor knows about this device's own network. */
  readonly network: {
    readonly mdns: boolean;
    /** The TCP port libp2p listens on (null if none), and whether the preferred one was taken. */
    readonly port: number | null;
    readonly portFellBack: boolean;
    readonly interfaces: readonly NetworkInterfaceState[];
  };
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
    /** Valid rumors this device accepted but its store could not take (see the log); anti-entropy brings them again. */
    readonly unstored: number;
  };
  readonly merkle: {
    /** First 8 bytes of our root digest (hex), comparable with each peer's `merkle.digest`. */
    readonly root: string;
    readonly keys: number;
    /** Key counts of the 16 top-level subtrees, for the heatmap. */
    readonly top: readonly number[];
  };
  readonly sessions: readonly SessionSummary[];
  /** Anti-entropy sessions in progress (at most one per peer). */
  readonly running: readonly { readonly peer: string; readonly role: 'initiator' | 'responder'; readonly startedAt: number }[];
  /** Records that changed this replica, by the path that delivered them. */
  readonly paths: Readonly<Record<SyncPath, number>>;
  /** Malformed gossip and anti-entropy frames received, by kind. */
  readonly rejected: Readonly<Record<string, number>>;
  /** The largest transfer in progress, or null when none is large enough to report. */
  readonly progress: SyncProgress | null;
}

/** Whether one paired device is proven to hold a note's current versions (GET /api/notes/:id/sync). */
export interface DeviceHold {
  /** The device's peer id. */
  readonly device: string;
  readonly name: string | null;
  /** True only when the device is proven to hold (or to have replaced) every version of the note this device has. */
  readonly holds: boolean;
  /** When that device's watermark was last proven (null: never). */
  readonly verifiedAt: number | null;
  /** Why it does not hold it, for a person: offline since T, last sync failed, never synced, behind by N changes. */
  readonly reason: string | null;
}

export interface NoteSync {
  readonly devices: readonly DeviceHold[];
}
