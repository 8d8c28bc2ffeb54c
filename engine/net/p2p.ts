// The libp2p node, and the only module that touches libp2p: everything else in the engine uses the
// small typed API below (peer ids and multiaddrs as strings, frames as bytes), so moving to
// libp2p 3 changes this file and nothing else.
//
// Stack: TCP, a pnet pre-shared key derived from the vault (a device without the vault secret
// fails the handshake before noise even starts), noise, yamux, identify, ping, optional mDNS
// (discovered peers are dialed at once), gossipsub on the vault's topic with signed messages and
// a caller-supplied validator, and length-prefixed custom protocols for anti-entropy.

import { gossipsub, type GossipSub, type GossipsubOpts } from '@chainsafe/libp2p-gossipsub';
import type { MetricsRegister } from '@chainsafe/libp2p-gossipsub/metrics';
import { createTopicScoreParams } from '@chainsafe/libp2p-gossipsub/score';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys';
import { identify } from '@libp2p/identify';
import { mdns } from '@libp2p/mdns';
import { peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { FaultTolerance } from '@libp2p/interface';
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p';
import { EngineError, ProtocolError, ValidationError } from '../core/errors.ts';
import { encodeFrame, FrameReader, Outbox, raceSignal } from '../core/frames.ts';
import { logger } from '../log.ts';
import { MAX_FRAME_BYTES } from '../core/protocol.ts';
import type { Vault } from './vault.ts';

const log = logger('p2p');

// libp2p 2.x types, derived from the node itself rather than imported from @libp2p/interface
// (not a direct dependency, and present in two majors in node_modules: see createP2P).
export type Stream = Awaited<ReturnType<Libp2p['dialProtocol']>>;
type Connection = Awaited<ReturnType<Libp2p['dial']>>;
type TopicValidator = GossipSub['topicValidators'] extends Map<string, infer F> ? F : never;
type Verdict = Awaited<ReturnType<TopicValidator>>;

export type RumorVerdict = 'accept' | 'reject' | 'ignore';
/** `from` is the (signature-checked) author of the rumor, `via` the peer that relayed it to us. */
export type RumorHandler = (from: string, bytes: Uint8Array, via: string) => RumorVerdict | Promise<RumorVerdict>;

export interface GossipOptions {
  /** Heartbeats a message stays in the cache for IWANT replies (gossipsub mcacheLength). Default 5. */
  readonly historyLength?: number;
  /** Heartbeats a message is advertised in IHAVE gossip: the "k" rounds of a rumor. Default 3. */
  readonly historyGossip?: number;
  /** Default 1000 ms; tests shorten it so meshes form quickly. */
  readonly heartbeatMs?: number;
  /** Larger gossip messages are dropped before decoding. Default: gossipsub's own. */
  readonly maxMessageBytes?: number;
}

export interface P2POptions {
  readonly vault: Pick<Vault, 'swarmKey' | 'serviceTag' | 'topic' | 'identityKey'>;
  /** Multiaddrs to listen on, e.g. `/ip4/0.0.0.0/tcp/0`. */
  readonly listen: readonly string[];
  /**
   * Listened on instead when none of `listen` can be bound (a fixed port another program holds).
   * Without it, a `listen` address that cannot be bound fails start().
   */
  readonly fallbackListen?: readonly string[];
  /** Off in tests that do not run in their own network namespace. */
  readonly mdns?: boolean | { readonly intervalMs?: number };
  /** Defaults to the vault's topic. */
  readonly topic?: string;
  readonly gossip?: GossipOptions;
  /** Bound for dials started by mDNS discovery. Default 10 s. */
  readonly discoveryDialTimeoutMs?: number;
}

export interface ConnectedPeer {
  readonly peerId: string;
  /** The remote address of each open connection to the peer. */
  readonly addrs: readonly string[];
}

/**
 * Runs `handler` on one inbound stream in the background: closes the stream when the handler is
 * done, and resets it (logging why) when the handler throws.
 */
export function serveStream(frames: FrameStream, peer: string, handler: ProtocolHandler, signal: AbortSignal): void {
  void (async () => {
    try {
      await handler(frames, peer, signal);
      await frames.close();
    } catch (err) {
      log.warn('protocol handler failed', { protocol: frames.protocol, peer, err });
      frames.abort(err instanceof Error ? err : new Error(String(err)));
    }
  })();
}

export interface GossipStats {
  readonly topic: string;
  /** Connected peers subscribed to the topic. */
  readonly topicPeers: number;
  /** Of those, the ones in our mesh (full messages are pushed to them). */
  readonly meshPeers: number;
  readonly published: number;
  readonly received: { readonly accepted: number; readonly rejected: number; readonly ignored: number };
  /** Copies of messages we had already seen (the cost of redundancy in the mesh). */
  readonly duplicates: number;
  readonly forwarded: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Gossip heartbeats run since start: how many chances the mesh had to gossip (IHAVE) and repair. */
  readonly heartbeats: number;
}

/** A stream of whole frames. Satisfies engine/net/ae-link.ts's FrameLink. */
export interface FrameStream {
  readonly peer: string;
  readonly protocol: string;
  /** Resolves once the stream has taken the frame. Without a signal, gives up after 30 s. A failed send resets the stream. */
  send(frame: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** The next frame, or null when the peer closed its side. Aborting rejects with the signal's reason and keeps the stream usable. */
  next(signal: AbortSignal): Promise<Uint8Array | null>;
  frames(signal: AbortSignal): AsyncGenerator<Uint8Array>;
  /** Flushes what was sent, then closes both directions. Idempotent. */
  close(signal?: AbortSignal): Promise<void>;
  /** Resets the stream at once; the peer's reads fail. */
  abort(reason?: Error): void;
}

export type ProtocolHandler = (stream: FrameStream, peer: string, signal: AbortSignal) => Promise<void>;

export interface HandleOptions {
  /** Concurrent inbound streams of this protocol per connection. Default 2. */
  readonly maxInbound?: number;
  readonly maxOutbound?: number;
  readonly maxFrameBytes?: number;
  /** The handler's signal aborts after this long (and on stop()). Default 60 s. */
  readonly timeoutMs?: number;
}

export interface OpenOptions {
  readonly maxFrameBytes?: number;
}

export interface P2PNode {
  readonly peerId: string;
  readonly topic: string;
  /** Whether mDNS discovery runs on this node. */
  readonly mdns: boolean;
  /** True once start() had to listen on `fallbackListen` because `listen` could not be bound. */
  readonly listenFellBack: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Our listening addresses, each ending in /p2p/<our peer id>. */
  addresses(): string[];
  /** Connects to a multiaddr (with /p2p/<id> to insist on that peer) and returns the peer id. */
  dial(addr: string, signal: AbortSignal): Promise<string>;
  hangUp(peer: string, signal: AbortSignal): Promise<void>;
  connectedPeers(): ConnectedPeer[];
  /** Fires when the first connection to a peer opens; returns an unsubscribe function. */
  onPeerConnect(cb: (peer: string) => void): () => void;
  /** Fires when the last connection to a peer closes. */
  onPeerDisconnect(cb: (peer: string) => void): () => void;
  /** Fires when identify tells us the addresses a connected peer listens on. */
  onPeerAddresses(cb: (peer: string, addrs: string[]) => void): () => void;
  /** Publishes on the vault topic; resolves to the number of peers it was sent to (0 is fine). */
  publish(bytes: Uint8Array, signal?: AbortSignal): Promise<number>;
  /** The topic validator: a rumor is delivered and forwarded only if this accepts it. */
  onRumor(handler: RumorHandler): void;
  gossipStats(): GossipStats;
  handle(protocol: string, handler: ProtocolHandler, opts?: HandleOptions): Promise<void>;
  unhandle(protocol: string): Promise<void>;
  open(peer: string, protocol: string, signal: AbortSignal, opts?: OpenOptions): Promise<FrameStream>;
}

const SEND_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 5_000;
const DISCOVERY_BACKOFF_MS = 1_000;

export async function createP2P(opts: P2POptions): Promise<P2PNode> {
  const topic = opts.topic ?? opts.vault.topic;
  const historyLength = opts.gossip?.historyLength ?? 5;
  const historyGossip = opts.gossip?.historyGossip ?? 3;
  // gossipsub would accept these and misbehave (gossip about messages it no longer holds).
  if (!Number.isInteger(historyLength) || !Number.isInteger(historyGossip) || historyGossip < 1 || historyGossip > historyLength) {
    throw new ValidationError('E_INVALID_VALUE', `gossip history: need 1 <= historyGossip (${historyGossip}) <= historyLength (${historyLength})`);
  }
  const counters = countingRegister();
  const mdnsOpts = opts.mdns === true ? {} : opts.mdns === false || opts.mdns === undefined ? null : opts.mdns;
  const gossipOpts: Partial<GossipsubOpts> = {
    emitSelf: false,
    globalSignaturePolicy: 'StrictSign',
    allowPublishToZeroTopicPeers: true,
    fallbackToFloodsub: false,
    allowedTopics: [topic],
    mcacheLength: historyLength,
    mcacheGossip: historyGossip,
    heartbeatInterval: opts.gossip?.heartbeatMs ?? 1000,
    ...(opts.gossip?.maxMessageBytes !== undefined ? { maxInboundDataLength: opts.gossip.maxMessageBytes } : {}),
    // A rumor reaches a peer once per mesh neighbour. Without a fast id every copy is decoded
    // and its Ed25519 signature verified before gossipsub sees it is a duplicate; with one, the
    // copies after the first are dropped at once. The id is the message id StrictSign uses
    // (author + seqno), so it merges exactly the messages gossipsub would merge anyway, and
    // gossipsub only caches it for a message whose signature checked out.
    fastMsgIdFn: (msg) => `${Buffer.from(msg.from ?? []).toString('base64')}/${Buffer.from(msg.seqno ?? []).toString('base64')}`,
    metricsRegister: counters.register,
    metricsTopicStrToLabel: new Map([[topic, 'vault']]),
    // Score only what matters for a quiet topic of one person's laptops: rejected rumors (P4).
    // The default delivery-rate penalties (P3) would punish peers for the user not typing.
    scoreParams: {
      topics: {
        [topic]: createTopicScoreParams({
          topicWeight: 1,
          timeInMeshWeight: 0,
          firstMessageDeliveriesWeight: 0,
          meshMessageDeliveriesWeight: 0,
          meshFailurePenaltyWeight: 0,
          invalidMessageDeliveriesWeight: -1,
          invalidMessageDeliveriesDecay: 0.99,
        }),
      },
    },
    // Our thresholds, stated rather than inherited. With P4 alone (-1 x count^2, decaying 1 % per
    // heartbeat) a peer is cut from our gossip after 4 recent invalid rumors, no longer published
    // to after 8, and its messages are dropped unread (graylisted) after 9. Nothing in the engine
    // depends on graylisting: every rumor that is read is validated and a bad one is rejected and
    // counted; graylisting only saves the CPU of reading a known flooder.
    scoreThresholds: {
      gossipThreshold: -10,
      publishThreshold: -50,
      graylistThreshold: -80,
      acceptPXThreshold: 10,
      opportunisticGraftThreshold: 20,
    },
  };

  // @libp2p/crypto 5.1.x is typed against @libp2p/interface 3 while libp2p 2.x uses interface 2;
  // the key object is the same at runtime, only the declared types differ.
  const privateKey = privateKeyFromProtobuf(opts.vault.identityKey) as unknown as NonNullable<Libp2pOptions['privateKey']>;
  const handshakes = new PrivateNetworkHandshakes();
  const node = await createLibp2p({
    start: false,
    privateKey,
    addresses: { listen: [...opts.listen] },
    // With a fallback, a fixed port that is taken must not fail the start: start() notices that
    // nothing was bound and listens on the fallback instead.
    ...(opts.fallbackListen ? { transportManager: { faultTolerance: FaultTolerance.NO_FATAL } } : {}),
    // libp2p pings every connection (by default every 10 s) and aborts it when a ping takes over
    // 5 s. A peer busy merging a large sync on a loaded laptop can take longer than that to answer
    // while its connection is alive, and the abort kills the very session keeping it busy
    // (bench/initial-sync.ts: a 20 MB join on a CPU-loaded machine failed that way mid-transfer
    // in 5 of 6 runs, and in none of 6 with these settings).
    // Ping every 30 s with a fixed 20 s timeout, shorter than the interval because a ping still
    // pending when the next one is due also counts as a failure. A dead connection is still
    // dropped within a minute.
    connectionMonitor: { pingInterval: 30_000, pingTimeout: { minTimeout: 20_000, maxTimeout: 20_000 } },
    transports: [tcp()],
    connectionProtector: handshakes.wrap(preSharedKey({ psk: opts.vault.swarmKey })),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub(gossipOpts),
      ...(mdnsOpts ? { mdns: mdns({ serviceTag: opts.vault.serviceTag, ...(mdnsOpts.intervalMs ? { interval: mdnsOpts.intervalMs } : {}) }) } : {}),
    },
  });
  return new Node(node, topic, counters, opts.discoveryDialTimeoutMs ?? 10_000, handshakes, opts.fallbackListen ?? []);
}

type ProtectorFactory = ReturnType<typeof preSharedKey>;
type Protector = ReturnType<ProtectorFactory>;

/**
 * Remembers when the private-network handshake (the exchange of pnet nonces) last completed with
 * each remote host:port. A dial that fails after it completed reached a device of *some* private
 * network that then could not talk to us: it holds another vault key. A silent or absent device
 * never gets that far, so this tells "rejected by the private network" apart from a timeout.
 */
class PrivateNetworkHandshakes {
  private readonly done = new Map<string, number>();

  wrap(factory: ProtectorFactory): ProtectorFactory {
    return (components) => {
      const inner: Protector = factory(components);
      return {
        [Symbol.toStringTag]: '@libp2p/pnet',
        protect: async (conn, options) => {
          const out = await inner.protect(conn, options);
          const key = hostPort(conn.remoteAddr.toString());
          if (key !== null) {
            if (this.done.size > 1000) this.done.clear();
            this.done.set(key, performance.now());
          }
          return out;
        },
      } as Protector;
    };
  }

  /** Whether the handshake with `addr`'s host and port completed at or after `since`. */
  passedSince(addr: string, since: number): boolean {
    const key = hostPort(addr);
    return key !== null && (this.done.get(key) ?? -1) >= since;
  }
}

/** `/ip4/1.2.3.4/tcp/5/...` -> `1.2.3.4:5`, or null for another kind of address. */
function hostPort(addr: string): string | null {
  const m = /^\/ip[46]\/([^/]+)\/tcp\/(\d+)/.exec(addr);
  return m ? `${m[1]}:${m[2]}` : null;
}

type Services = { pubsub: unknown; mdns?: unknown };
type DiscoveredPeer = { id: { toString(): string }; multiaddrs: Array<{ toString(): string }> };

class Node implements P2PNode {
  readonly peerId: string;
  readonly topic: string;
  private readonly node: Libp2p<Services>;
  private readonly pubsub: GossipSub;
  private readonly counters: ReturnType<typeof countingRegister>;
  private readonly discoveryDialTimeoutMs: number;
  private readonly received = { accepted: 0, rejected: 0, ignored: 0 };
  private published = 0;
  private heartbeats = 0;
  private rumorHandler: RumorHandler | null = null;
  private state: 'new' | 'starting' | 'started' | 'stopping' | 'stopped' = 'new';
  private transition: Promise<void> = Promise.resolve();
  private readonly stopController = new AbortController();
  private readonly dialing = new Set<string>();
  private readonly handshakes: PrivateNetworkHandshakes;
  private readonly fallbackListen: readonly string[];
  readonly mdns: boolean;
  listenFellBack = false;

  constructor(node: Libp2p<Services>, topic: string, counters: ReturnType<typeof countingRegister>, discoveryDialTimeoutMs: number,
    handshakes: PrivateNetworkHandshakes, fallbackListen: readonly string[]) {
    this.node = node;
    this.handshakes = handshakes;
    this.fallbackListen = fallbackListen;
    this.mdns = node.services.mdns !== undefined;
    this.peerId = node.peerId.toString();
    this.topic = topic;
    this.pubsub = node.services.pubsub as GossipSub;
    this.counters = counters;
    this.discoveryDialTimeoutMs = discoveryDialTimeoutMs;
    const validator: TopicValidator = (via, msg) => this.validate(via.toString(), msg);
    this.pubsub.topicValidators.set(topic, validator);
    this.pubsub.addEventListener('gossipsub:heartbeat', () => this.heartbeats++);
  }

  start(): Promise<void> {
    if (this.state === 'started' || this.state === 'starting') return this.transition;
    if (this.state !== 'new') return Promise.reject(new EngineError('E_NOT_STARTED', 'a stopped node cannot be restarted; create a new one'));
    this.state = 'starting';
    const discovery = this.node.services.mdns as EventTarget | undefined;
    // Listen before starting: mDNS queries as soon as it starts, and the first answers must not be lost.
    discovery?.addEventListener('peer', (evt) => {
      // A throw here would escape into multicast-dns's socket handler and crash the process.
      try {
        this.onDiscovered((evt as CustomEvent<DiscoveredPeer>).detail);
      } catch (err) {
        log.error('handling an mDNS discovery failed', { err });
      }
    });
    this.transition = (async () => {
      try {
        await this.node.start();
        if (this.node.getMultiaddrs().length === 0 && this.fallbackListen.length > 0) await this.listenOnFallback();
      } catch (err) {
        // Typically a listen address in use. Leave nothing half-started behind.
        this.state = 'stopped';
        await Promise.resolve()
          .then(() => this.node.stop())
          .catch(() => undefined);
        throw err;
      }
      this.pubsub.subscribe(this.topic);
      this.state = 'started';
      log.info('p2p started', { peer: this.peerId, addrs: this.addresses(), mdns: discovery !== undefined });
    })();
    return this.transition;
  }

  private async listenOnFallback(): Promise<void> {
    log.warn('listen addresses taken; listening on the fallback', { fallback: this.fallbackListen });
    // libp2p 2.x has no public call to add a listener to a started node; its transport manager
    // (the object NO_FATAL configured) does exactly that.
    const tm = (this.node as unknown as { components: { transportManager: { listen(addrs: ReturnType<typeof multiaddr>[]): Promise<void> } } }).components.transportManager;
    await tm.listen(this.fallbackListen.map((a) => multiaddr(a)));
    if (this.node.getMultiaddrs().length === 0) throw new EngineError('E_NOT_STARTED', `could not listen on ${this.fallbackListen.join(', ')} either`);
    this.listenFellBack = true;
  }

  /** Never rejects: a node that failed to start or to stop cleanly is stopped all the same. */
  stop(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      return Promise.resolve();
    }
    if (this.state === 'stopping' || this.state === 'stopped') return this.transition.catch(() => undefined);
    this.state = 'stopping';
    const starting = this.transition;
    this.transition = (async () => {
      await starting.catch(() => undefined);
      this.stopController.abort(new EngineError('E_NOT_STARTED', 'node stopped'));
      try {
        await this.node.stop();
      } catch (err) {
        log.warn('libp2p did not stop cleanly', { err });
      }
      this.state = 'stopped';
      log.info('p2p stopped', { peer: this.peerId });
    })();
    return this.transition;
  }

  addresses(): string[] {
    return this.node.getMultiaddrs().map((a) => a.toString());
  }

  async dial(addr: string, signal: AbortSignal): Promise<string> {
    this.ensureStarted();
    let ma;
    try {
      ma = multiaddr(addr);
    } catch (err) {
      throw new ValidationError('E_DIAL_FAILED', `not a multiaddr: ${addr}`, { addr, cause: (err as Error).message });
    }
    const since = performance.now();
    try {
      const conn = await this.dialVerified(ma, ma.getPeerId(), signal);
      return conn.remotePeer.toString();
    } catch (err) {
      // `privateNetwork`: the pnet nonces were exchanged, so the failure came after (engine/core/doctor.ts).
      throw dialError(`dial ${addr} failed`, err, signal, { addr, privateNetwork: this.handshakes.passedSince(addr, since) ? 'passed' : 'not reached' });
    }
  }

  /**
   * libp2p 2.x does not check that the peer answering a /p2p/<id> address is <id> (noise is not
   * given the expected key), so we check after the handshake and drop a connection we opened to
   * the wrong peer. An already-open connection that libp2p reused is left alone.
   */
  private async dialVerified(target: Parameters<Libp2p['dial']>[0], expected: string | null, signal: AbortSignal): Promise<Connection> {
    const before = new Set(this.node.getConnections().map((c) => c.id));
    const conn = await raceSignal(this.node.dial(target, { signal }), signal);
    const actual = conn.remotePeer.toString();
    if (expected !== null && actual !== expected) {
      if (!before.has(conn.id)) conn.abort(new Error('unexpected peer'));
      throw new EngineError('E_DIAL_FAILED', `the address was answered by peer ${actual}, not ${expected}`, { expected, actual });
    }
    return conn;
  }

  async hangUp(peer: string, signal: AbortSignal): Promise<void> {
    this.ensureStarted();
    await raceSignal(this.node.hangUp(parsePeer(peer), { signal }), signal);
  }

  connectedPeers(): ConnectedPeer[] {
    const byPeer = new Map<string, string[]>();
    for (const c of this.node.getConnections()) {
      if (c.status !== 'open') continue;
      const id = c.remotePeer.toString();
      byPeer.set(id, [...(byPeer.get(id) ?? []), c.remoteAddr.toString()]);
    }
    return [...byPeer].map(([peerId, addrs]) => ({ peerId, addrs }));
  }

  onPeerConnect(cb: (peer: string) => void): () => void {
    return this.listen('peer:connect', cb);
  }

  onPeerDisconnect(cb: (peer: string) => void): () => void {
    return this.listen('peer:disconnect', cb);
  }

  onPeerAddresses(cb: (peer: string, addrs: string[]) => void): () => void {
    const listener = (evt: CustomEvent<{ peerId: { toString(): string }; listenAddrs: Array<{ toString(): string }> }>): void => {
      try {
        cb(evt.detail.peerId.toString(), evt.detail.listenAddrs.map((a) => a.toString()));
      } catch (err) {
        log.error('peer:identify listener failed', { err });
      }
    };
    this.node.addEventListener('peer:identify', listener);
    return () => this.node.removeEventListener('peer:identify', listener);
  }

  private listen(event: 'peer:connect' | 'peer:disconnect', cb: (peer: string) => void): () => void {
    const listener = (evt: CustomEvent<{ toString(): string }>): void => {
      try {
        cb(evt.detail.toString());
      } catch (err) {
        log.error(`${event} listener failed`, { err });
      }
    };
    this.node.addEventListener(event, listener);
    return () => this.node.removeEventListener(event, listener);
  }

  async publish(bytes: Uint8Array, signal: AbortSignal = AbortSignal.timeout(SEND_TIMEOUT_MS)): Promise<number> {
    this.ensureStarted();
    const result = await raceSignal(this.pubsub.publish(this.topic, bytes), signal);
    this.published++;
    return result.recipients.length;
  }

  onRumor(handler: RumorHandler): void {
    this.rumorHandler = handler;
  }

  private async validate(via: string, msg: Parameters<TopicValidator>[1]): Promise<Verdict> {
    let verdict: RumorVerdict = 'ignore';
    // StrictSign means gossipsub has already refused unsigned messages; this is for the types.
    if (msg.type === 'signed' && this.rumorHandler !== null) {
      try {
        verdict = await this.rumorHandler(msg.from.toString(), msg.data, via);
      } catch (err) {
        // A bug on our side is not the peer's fault: ignore (no score penalty) rather than reject.
        log.error('rumor handler failed', { err, from: msg.from.toString() });
        verdict = 'ignore';
      }
    }
    if (verdict !== 'accept' && verdict !== 'reject') verdict = 'ignore';
    this.received[verdict === 'accept' ? 'accepted' : verdict === 'reject' ? 'rejected' : 'ignored']++;
    // TopicValidatorResult is a string enum with exactly these values.
    return verdict as Verdict;
  }

  gossipStats(): GossipStats {
    const c = this.counters.get;
    return {
      topic: this.topic,
      topicPeers: this.state === 'started' ? this.pubsub.getSubscribers(this.topic).length : 0,
      meshPeers: this.state === 'started' ? this.pubsub.getMeshPeers(this.topic).length : 0,
      published: this.published,
      received: { ...this.received },
      duplicates: c('gossipsub_pre_validation_duplicate_total'),
      forwarded: c('gossipsub_msg_forward_count_total'),
      bytesIn: c('gossipsub_rpc_recv_bytes_total'),
      bytesOut: c('gossipsub_rpc_sent_bytes_total'),
      heartbeats: this.heartbeats,
    };
  }

  async handle(protocol: string, handler: ProtocolHandler, opts: HandleOptions = {}): Promise<void> {
    const maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    const timeoutMs = opts.timeoutMs ?? 60_000;
    await this.node.handle(
      protocol,
      ({ stream, connection }) => {
        const peer = connection.remotePeer.toString();
        serveStream(frameStream(stream, peer, protocol, maxFrameBytes), peer, handler, AbortSignal.any([this.stopController.signal, AbortSignal.timeout(timeoutMs)]));
      },
      { maxInboundStreams: opts.maxInbound ?? 2, maxOutboundStreams: opts.maxOutbound ?? 2 },
    );
  }

  async unhandle(protocol: string): Promise<void> {
    await this.node.unhandle(protocol);
  }

  async open(peer: string, protocol: string, signal: AbortSignal, opts: OpenOptions = {}): Promise<FrameStream> {
    this.ensureStarted();
    const id = parsePeer(peer);
    try {
      const conn = await this.dialVerified(id, peer, signal);
      const stream = await raceSignal(conn.newStream(protocol, { signal }), signal);
      return frameStream(stream, peer, protocol, opts.maxFrameBytes ?? MAX_FRAME_BYTES);
    } catch (err) {
      throw dialError(`opening ${protocol} to ${peer} failed`, err, signal, { peer, protocol });
    }
  }

  private onDiscovered(peer: DiscoveredPeer): void {
    if (this.state === 'starting') {
      void this.transition.then(() => this.onDiscovered(peer), () => undefined);
      return;
    }
    const id = peer.id.toString();
    if (this.state !== 'started' || id === this.peerId || this.dialing.has(id) || this.connectedTo(id)) return;
    // Dial the announced addresses with the peer id appended: the peer store may not have them
    // yet (libp2p merges discoveries asynchronously), and the id lets us check who answers.
    const addrs = peer.multiaddrs.map((a) => multiaddr(`${a.toString()}/p2p/${id}`));
    if (addrs.length === 0) return;
    this.dialing.add(id);
    // Two laptops discover each other in the same instant; if both dialed they would hold two
    // connections. The smaller peer id dials at once, the other only if still unconnected a
    // little later (so a one-way reachable pair still connects).
    const delayMs = this.peerId < id ? 0 : Math.round(DISCOVERY_BACKOFF_MS * (1 + Math.random()));
    const signal = AbortSignal.any([this.stopController.signal, AbortSignal.timeout(delayMs + this.discoveryDialTimeoutMs)]);
    void (async () => {
      try {
        if (delayMs > 0) await raceSignal(new Promise((r) => setTimeout(r, delayMs).unref()), signal);
        if (this.connectedTo(id)) return;
        log.debug('dialing discovered peer', { peer: id, addrs: addrs.map(String) });
        await this.dialVerified(addrs, id, signal);
        log.info('connected to discovered peer', { peer: id });
      } catch (err) {
        if (this.state === 'started') log.warn('dial to discovered peer failed', { peer: id, err });
      } finally {
        this.dialing.delete(id);
      }
    })();
  }

  private connectedTo(id: string): boolean {
    return this.node.getConnections(peerIdFromString(id)).some((c) => c.status === 'open');
  }

  private ensureStarted(): void {
    if (this.state !== 'started') throw new EngineError('E_NOT_STARTED', `p2p node is ${this.state}`);
  }
}

function parsePeer(peer: string): ReturnType<typeof peerIdFromString> {
  try {
    return peerIdFromString(peer);
  } catch {
    throw new ValidationError('E_DIAL_FAILED', `not a peer id: ${peer}`, { peer });
  }
}

function dialError(message: string, err: unknown, signal: AbortSignal, details: Record<string, unknown>): EngineError {
  if (err instanceof EngineError) return err;
  const cause = (err as Error)?.message ?? String(err);
  return new EngineError('E_DIAL_FAILED', `${message}: ${signal.aborted ? 'timed out or aborted' : cause}`, { ...details, aborted: signal.aborted, cause });
}

export function frameStream(stream: Stream, peer: string, protocol: string, maxFrameBytes: number): FrameStream {
  const reader = new FrameReader(stream.source, maxFrameBytes);
  const outbox = new Outbox();
  // libp2p 2.x streams take their writes as one async iterable, consumed for the stream's life.
  const sinkDone = stream.sink(outbox).then(
    () => outbox.fail(new ProtocolError('E_PEER_ERROR', 'stream closed for writing')),
    (err: unknown) => outbox.fail(new ProtocolError('E_PEER_ERROR', `stream failed: ${(err as Error)?.message ?? String(err)}`)),
  );
  let closing: Promise<void> | null = null;
  const abort = (reason: Error = new Error('aborted')): void => {
    outbox.fail(reason);
    stream.abort(reason);
  };
  const next = async (signal: AbortSignal): Promise<Uint8Array | null> => {
    try {
      return await reader.next(signal);
    } catch (err) {
      // A peer that breaks the framing gets a reset, not a half-open stream.
      if (err instanceof ProtocolError && (err.code === 'E_FRAME_TOO_LARGE' || err.code === 'E_FRAME_MALFORMED')) abort(err);
      throw err;
    }
  };
  return {
    peer,
    protocol,
    async send(frame, signal = AbortSignal.timeout(SEND_TIMEOUT_MS)) {
      try {
        await raceSignal(outbox.push(encodeFrame(frame)), signal);
      } catch (err) {
        // A frame half-queued when the caller gave up would corrupt the framing: reset.
        if (signal.aborted) abort(new ProtocolError('E_PEER_ERROR', 'send timed out'));
        throw err;
      }
    },
    next,
    async *frames(signal) {
      for (let f = await next(signal); f !== null; f = await next(signal)) yield f;
    },
    close(signal = AbortSignal.timeout(CLOSE_TIMEOUT_MS)) {
      closing ??= (async () => {
        outbox.end();
        // A reset stream's sink never settles: waiting for it would hold the session (and the
        // peer's slot) for the whole close timeout after a peer broke the stream.
        if (stream.status === 'reset' || stream.status === 'aborted') return;
        try {
          await raceSignal(sinkDone, signal);
          await stream.close({ signal });
        } catch (err) {
          stream.abort(err instanceof Error ? err : new Error(String(err)));
        }
      })();
      return closing;
    },
    abort,
  };
}

/** Just enough of gossipsub's metrics interface to count events; histograms are dropped. */
function countingRegister(): { register: MetricsRegister; get: (name: string) => number } {
  const totals = new Map<string, number>();
  const noop = (): void => undefined;
  const gauge = (cfg: { name: string }) => ({
    // Gauges are called as inc(), inc(n), inc(labels) or inc(labels, n).
    inc: (a?: unknown, b?: unknown) => {
      const n = typeof a === 'number' ? a : typeof b === 'number' ? b : 1;
      totals.set(cfg.name, (totals.get(cfg.name) ?? 0) + n);
    },
    set: noop,
    addCollect: noop,
  });
  const register = {
    gauge,
    histogram: () => ({ startTimer: () => noop, observe: noop, reset: noop }),
    avgMinMax: () => ({ set: noop }),
  } as unknown as MetricsRegister;
  return { register, get: (name) => totals.get(name) ?? 0 };
}
