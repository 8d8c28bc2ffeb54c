// Device names between paired devices: `/lan-notes/device-name/1.0.0`. On every new connection,
// and when the user renames this device, each side sends one frame, a JSON object {"name"}, and
// closes. The connection is already inside the vault's private network, so this only has to
// refuse malformed frames.

import { checkDeviceName } from './device-settings.ts';
import { ProtocolError } from '../core/errors.ts';
import { logger } from '../log.ts';
import type { P2PNode } from './p2p.ts';

const log = logger('device-name');
export const DEVICE_NAME_PROTOCOL = '/lan-notes/device-name/1.0.0';
const MAX_FRAME = 512;

export function encodeNameFrame(name: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ name: checkDeviceName(name) }));
}

export function decodeNameFrame(frame: Uint8Array): string {
  if (frame.length > MAX_FRAME) throw new ProtocolError('E_FRAME_TOO_LARGE', `device name frame of ${frame.length} bytes`);
  try {
    const doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame)) as { name?: unknown };
    return checkDeviceName(doc?.name);
  } catch (err) {
    throw new ProtocolError('E_FRAME_MALFORMED', `not a device name frame: ${(err as Error).message}`);
  }
}

export async function serveDeviceNames(p2p: P2PNode, onName: (peer: string, name: string) => void): Promise<void> {
  await p2p.handle(DEVICE_NAME_PROTOCOL, async (stream, peer, signal) => {
    const frame = await stream.next(signal);
    if (frame !== null) onName(peer, decodeNameFrame(frame));
  }, { maxInbound: 2, maxFrameBytes: MAX_FRAME, timeoutMs: 10_000 });
}

export async function sendDeviceName(p2p: P2PNode, peer: string, name: string): Promise<void> {
  const signal = AbortSignal.timeout(10_000);
  try {
    const stream = await p2p.open(peer, DEVICE_NAME_PROTOCOL, signal, { maxFrameBytes: MAX_FRAME });
    await stream.send(encodeNameFrame(name), signal);
    await stream.close(signal);
  } catch (err) {
    log.debug('could not tell a peer our name', { peer, err });
  }
}
