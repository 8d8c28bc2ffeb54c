// The short-lived libp2p node of "pair nearby": TCP + noise + yamux and mDNS under the pairing
// service name, and no vault key (no pnet), so two devices that share nothing yet can talk. It
// carries no notes: only the pairing protocol (engine/pairing.ts), and the vault secret only
// after the user confirmed. Peers discovered by mDNS are reported, never dialed by themselves.

import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys';
import { mdns } from '@libp2p/mdns';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p';
import { EngineError } from '../core/errors.ts';
import { raceSignal } from '../core/frames.ts';
import { logger } from '../log.ts';
import { frameStream, serveStream, type FrameStream } from './p2p.ts';

const log = logger('pairing-node');

/** An RFC 6763 service label is at most 15 characters. */
export const PAIRING_SERVICE_TAG = '_lan-notes-pair._udp.local';
export const PAIRING_PROTOCOL = '/lan-notes/pair/1.0.0';
const MAX_FRAME = 16 * 1024;

export interface PairingNodeOptions {
  /** This device's libp2p identity (protobuf), so the code binds its real peer id. */
  readonly identityKey: Uint8Array;
  readonly listen: readonly string[];
  readonly mdnsIntervalMs?: number;
}

export type PairingHandler = (stream: FrameStream, peer: string, signal: AbortSignal) => Promise<void>;

export class PairingNode {
  readonly peerId: string;
  private readonly node: Libp2p<{ mdns: unknown }>;
  private readonly stopController = new AbortController();
  private readonly discovered = new Map<string, string[]>();
  private discoveryListener: ((peer: string, addrs: string[]) => void) | null = null;

  private constructor(node: Libp2p<{ mdns: unknown }>) {
    this.node = node;
    this.peerId = node.peerId.toString();
    (node.services.mdns as EventTarget).addEventListener('peer', (evt) => {
      try {
        const d = (evt as CustomEvent<{ id: { toString(): string }; multiaddrs: Array<{ toString(): string }> }>).detail;
        const id = d.id.toString();
        if (id === this.peerId) return;
        const addrs = d.multiaddrs.map((a) => a.toString());
        this.discovered.set(id, addrs);
        this.discoveryListener?.(id, addrs);
      } catch (err) {
        log.error('handling a pairing discovery failed', { err });
      }
    });
  }

  static async create(opts: PairingNodeOptions): Promise<PairingNode> {
    const privateKey = privateKeyFromProtobuf(opts.identityKey) as unknown as NonNullable<Libp2pOptions['privateKey']>;
    const node = await createLibp2p({
      start: false,
      privateKey,
      addresses: { listen: [...opts.listen] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { mdns: mdns({ serviceTag: PAIRING_SERVICE_TAG, ...(opts.mdnsIntervalMs ? { interval: opts.mdnsIntervalMs } : {}) }) },
    });
    return new PairingNode(node);
  }

  async start(): Promise<void> {
    await this.node.start();
    log.info('pairing node started', { addrs: this.node.getMultiaddrs().map(String) });
  }

  async stop(): Promise<void> {
    this.stopController.abort(new EngineError('E_NOT_STARTED', 'pairing closed'));
    try {
      await this.node.stop();
    } catch (err) {
      log.warn('pairing node did not stop cleanly', { err });
    }
  }

  /** Devices in pairing mode nearby: called for each mDNS answer (repeats are possible). */
  onDiscovered(listener: (peer: string, addrs: string[]) => void): void {
    this.discoveryListener = listener;
  }

  async handle(handler: PairingHandler, timeoutMs: number): Promise<void> {
    await this.node.handle(PAIRING_PROTOCOL, ({ stream, connection }) => {
      const peer = connection.remotePeer.toString();
      serveStream(frameStream(stream, peer, PAIRING_PROTOCOL, MAX_FRAME), peer, handler, AbortSignal.any([this.stopController.signal, AbortSignal.timeout(timeoutMs)]));
    }, { maxInboundStreams: 4 });
  }

  /** Opens the pairing protocol to a discovered device, checking that it is who mDNS announced. */
  async open(peer: string, signal: AbortSignal): Promise<FrameStream> {
    const addrs = this.discovered.get(peer);
    if (!addrs || addrs.length === 0) throw new EngineError('E_NOT_FOUND', `no device ${peer} in pairing mode nearby`);
    const all = AbortSignal.any([signal, this.stopController.signal]);
    try {
      const conn = await raceSignal(this.node.dial(addrs.map((a) => multiaddr(`${a}/p2p/${peer}`)), { signal: all }), all);
      // libp2p 2.x does not check the answering peer against the /p2p/ id: do it here.
      if (conn.remotePeer.toString() !== peer) {
        conn.abort(new Error('unexpected peer'));
        throw new EngineError('E_DIAL_FAILED', `the address was answered by ${conn.remotePeer.toString()}, not ${peer}`);
      }
      const stream = await raceSignal(conn.newStream(PAIRING_PROTOCOL, { signal: all }), all);
      return frameStream(stream, peer, PAIRING_PROTOCOL, MAX_FRAME);
    } catch (err) {
      if (err instanceof EngineError) throw err;
      throw new EngineError('E_DIAL_FAILED', `could not reach ${peer} for pairing: ${(err as Error).message}`, { peer });
    }
  }
}
