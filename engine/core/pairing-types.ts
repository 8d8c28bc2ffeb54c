// The pairing state the API reports ("pair nearby", engine/pairing.ts), as plain data. Types only,
// so the UI contract can re-export them.

export type PairingMode = 'off' | 'invite' | 'join';

export interface NearbyDevice {
  readonly peerId: string;
  readonly name: string;
}

export interface PairingRequest {
  readonly peerId: string;
  readonly name: string;
  /** Compare with the code on the other screen before confirming. */
  readonly code: string;
}

export interface OutgoingPairing extends PairingRequest {
  readonly status: 'waiting' | 'joined' | 'refused' | 'failed';
  readonly message: string | null;
}

export interface PairingState {
  readonly mode: PairingMode;
  /** When the pairing window closes by itself (ms since the epoch), or null when off. */
  readonly expiresAt: number | null;
  /** Joining: devices nearby in pairing mode, by name. */
  readonly nearby: readonly NearbyDevice[];
  /** Inviting: devices that asked to join, waiting for this user's answer. */
  readonly requests: readonly PairingRequest[];
  /** Joining: the request this device made and how it went (kept after the window closes). */
  readonly outgoing: OutgoingPairing | null;
}
