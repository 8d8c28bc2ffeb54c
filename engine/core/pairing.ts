// Pairing nearby, the pure part: the 6-digit code both screens show.

import { createHash } from 'node:crypto';

/**
 * The code both devices show: derived from both sides' public keys (libp2p peer ids, which
 * embed their Ed25519 keys; noise authenticated each one by its signature over that side's noise
 * static key), in an order both agree on. A device in the middle terminates noise with its own key,
 * so each side computes a code with the middle's key in it, and the screens disagree.
 */
export function pairingCode(peerA: string, peerB: string): string {
  const [x, y] = peerA < peerB ? [peerA, peerB] : [peerB, peerA];
  const digest = createHash('sha256').update('lan-notes pairing code v1\0').update(x).update('\0').update(y).digest();
  return String(digest.readUInt32BE(0) % 1_000_000).padStart(6, '0');
}

export type { NearbyDevice, OutgoingPairing, PairingMode, PairingRequest, PairingState } from './pairing-types.ts';
