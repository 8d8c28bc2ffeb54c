// Moving the devices of a vault to a new secret, after one of them was forgotten:
// `/lan-notes/vault-rotate/1.0.0`. The rotating device sends each connected device (never the
// forgotten one) one frame with the new secret over their existing connection, which is inside
// the vault's private network and noise-encrypted; the receiver answers one acknowledgement frame
// and then moves to the new secret. No key exchange of our own: the secret rides the channel
// libp2p already authenticated and encrypted.

import { ProtocolError } from '../core/errors.ts';
import { logger } from '../log.ts';
import type { P2PNode } from './p2p.ts';
import { VAULT_SECRET_BYTES } from './vault.ts';

const log = logger('rotate');
export const VAULT_ROTATE_PROTOCOL = '/lan-notes/vault-rotate/1.0.0';
const MAX_FRAME = 8192;
const MAX_FORGOTTEN = 64;

export interface RotationOffer {
  /** The vault being left: a receiver in another vault ignores the offer. */
  readonly fromVault: string;
  readonly secret: Uint8Array;
  /** Devices to drop from every table (the forgotten one). */
  readonly forget: readonly string[];
}

export function encodeOffer(o: RotationOffer): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: 1, fromVault: o.fromVault, secret: Buffer.from(o.secret).toString('hex'), forget: o.forget }));
}

export function decodeOffer(frame: Uint8Array): RotationOffer {
  if (frame.length > MAX_FRAME) throw new ProtocolError('E_FRAME_TOO_LARGE', `rotation frame of ${frame.length} bytes`);
  let doc: { v?: unknown; fromVault?: unknown; secret?: unknown; forget?: unknown };
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame));
  } catch (err) {
    throw new ProtocolError('E_FRAME_MALFORMED', `rotation frame is not JSON: ${(err as Error).message}`);
  }
  const hex = `^[0-9a-f]{${VAULT_SECRET_BYTES * 2}}$`;
  if (doc === null || typeof doc !== 'object' || doc.v !== 1 || typeof doc.fromVault !== 'string' || !/^[0-9a-f]{16}$/.test(doc.fromVault)
    || typeof doc.secret !== 'string' || !new RegExp(hex).test(doc.secret)
    || !Array.isArray(doc.forget) || doc.forget.length > MAX_FORGOTTEN || !doc.forget.every((f) => typeof f === 'string' && f.length <= 100)) {
    throw new ProtocolError('E_FRAME_MALFORMED', 'not a vault rotation offer');
  }
  return { fromVault: doc.fromVault, secret: new Uint8Array(Buffer.from(doc.secret, 'hex')), forget: doc.forget as string[] };
}

const ACK = new TextEncoder().encode('{"ok":true}');

/** Answers offers: `accept` decides (false: no acknowledgement) and the move happens after the reply. */
export async function serveRotation(p2p: P2PNode, accept: (peer: string, offer: RotationOffer) => boolean, move: (offer: RotationOffer) => void): Promise<void> {
  await p2p.handle(VAULT_ROTATE_PROTOCOL, async (stream, peer, signal) => {
    const frame = await stream.next(signal);
    if (frame === null) return;
    const offer = decodeOffer(frame);
    if (!accept(peer, offer)) return;
    await stream.send(ACK, signal);
    await stream.close(signal);
    move(offer);
  }, { maxInbound: 1, maxFrameBytes: MAX_FRAME, timeoutMs: 15_000 });
}

/** Sends the offer to one peer; true once it acknowledged (it is moving). */
export async function offerRotation(p2p: P2PNode, peer: string, offer: RotationOffer, timeoutMs = 10_000): Promise<boolean> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const stream = await p2p.open(peer, VAULT_ROTATE_PROTOCOL, signal, { maxFrameBytes: MAX_FRAME });
    await stream.send(encodeOffer(offer), signal);
    const reply = await stream.next(signal);
    await stream.close(signal).catch(() => undefined);
    return reply !== null && new TextDecoder().decode(reply) === new TextDecoder().decode(ACK);
  } catch (err) {
    log.warn('a device did not take the new vault key', { peer, err });
    return false;
  }
}
