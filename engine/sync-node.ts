// One device's sync engine, as both hosts run it (the Electron main process and the headless
// peer): vault + store + replica + libp2p, rumor-mongering on every local write, anti-entropy on
// every new connection and on a jittered timer, and the sync state the debug panel shows.

import { join } from 'node:path';
import { initiateOver, respondOver, type SessionOutcome } from './net/ae-link.ts';
import { EngineError, ProtocolError, ValidationError } from './core/errors.ts';
import { decodeInvite, encodeInvite, MAX_INVITE_ADDRS } from './net/invite.ts';
import { logger } from './log.ts';
import { FANOUT } from './core/merkle.ts';
import { Notes, notesReplicaOptions } from './notes.ts';
import { createP2P, type FrameStream, type P2PNode, type RumorVerdict } from './net/p2p.ts';
import { encodeFault, STATUS_BYTES } from './core/protocol.ts';
import { fateOf } from './core/record.ts';
import type { PeerState, SessionSummary, SyncState } from './core/sync-state.ts';
import { Replica } from './replica.ts';
import { decodeRumor, encodeRumor, rumorsFor } from './core/rumor.ts';
import { Scheduler } from './net/scheduler.ts';
import { SqliteStore } from './store/sqlite.ts';
import { openVault, type Vault } from './net/vault.ts';
import type { KeyRecord } from './core/codec.ts';

export const ANTI_ENTROPY_PROTOCOL = '/notes-sync/anti-entropy/1.0.0';
const log = logger('sync');

export interface SyncNodeOptions {
  readonly dataDir: string;
  /** Default: every IPv4 interface, a port picked by the OS. */
  readonly listen?: readonly string[];
  readonly mdns?: boolean;
  /** Multiaddrs to dial at start (the manual fallback to mDNS). */
  readonly peers?: readonly string[];
  /** An invite code to join at start. */
  readonly join?: string;
  /** Test-only switch: no rumor is published or accepted, so only anti-entropy moves data. */
  readonly gossip?: boolean;
  readonly antiEntropyIntervalMs?: number;
  /**
   * Window in which a burst of local writes (typing) is batched into one rumor. The first write
   * after a quiet spell is published at once; the writes that follow it within the window go out
   * together when the window closes (default 25 ms).
   */
  readonly rumorBatchMs?: number;
  /** Heartbeat rounds a rumor stays in gossip (the seed's "k"). */
  readonly rumorRounds?: number;
  readonly heartbeatMs?: number;
  readonly sessionTimeoutMs?: number;
  /** Wall clock, injectable so tests can skew one device's clock. */
  readonly now?: () => number;
}

const MAX_SESSIONS_LOG = 50;
const MAX_INBOUND_SESSIONS = 4;

interface PeerInfo {
  replica: string | null;
  lastSession: SessionSummary | null;
  root: { count: number; digest: string } | null;
}

export class SyncNode {
  readonly notes: Notes;
  readonly replica: Replica;
  private vault: Vault;
  private p2p: P2PNode;
  private readonly opts: SyncNodeOptions;
  private readonly store: SqliteStore;
  private readonly scheduler: Scheduler;
  private readonly busy = new Map<string, 'in' | 'out'>();
  private readonly peers = new Map<string, PeerInfo>();
  private readonly sessions: SessionSummary[] = [];
  private readonly rejected: Record<string, number> = { gossip: 0, 'anti-entropy': 0 };
  private readonly stateListeners = new Set<() => void>();
  private pending = new Map<string, KeyRecord>();
  private flushTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  private constructor(opts: SyncNodeOptions, vault: Vault, store: SqliteStore, p2p: P2PNode) {
    this.opts = opts;
    this.vault = vault;
    this.store = store;
    this.p2p = p2p;
    this.replica = Replica.open(store, { ...notesReplicaOptions(), now: opts.now });
    this.notes = new Notes(this.replica);
    this.scheduler = new Scheduler({
      intervalMs: opts.antiEntropyIntervalMs ?? 10_000,
      connectedPeers: () => this.p2p.connectedPeers().map((p) => p.peerId),
      isBusy: (peer) => this.busy.has(peer),
      runSession: (peer) => this.syncWith(peer),
    });
    this.replica.onChange((e) => {
      if (e.origin === 'local') this.queueRumor(e.records);
      this.changed();
    });
  }

  static async start(opts: SyncNodeOptions): Promise<SyncNode> {
    const invite = opts.join === undefined ? undefined : decodeInvite(opts.join);
    const vault = await openVault(opts.dataDir, invite ? { join: invite, replace: true } : {});
    const store = SqliteStore.open(join(opts.dataDir, 'notes.db'));
    try {
      const node = new SyncNode(opts, vault, store, await SyncNode.createP2P(opts, vault));
      await node.startNetwork();
      for (const addr of [...(opts.peers ?? []), ...(invite?.addrs ?? [])]) void node.addPeer(addr).catch((e) => log.warn('dial failed', { addr, error: e }));
      return node;
    } catch (e) {
      store.close();
      throw e;
    }
  }

  private static createP2P(opts: SyncNodeOptions, vault: Vault): Promise<P2PNode> {
    return createP2P({
      vault,
      listen: opts.listen ?? ['/ip4/0.0.0.0/tcp/0'],
      mdns: opts.mdns ?? true,
      gossip: { historyGossip: opts.rumorRounds ?? 3, historyLength: Math.max(5, opts.rumorRounds ?? 3), heartbeatMs: opts.heartbeatMs },
    });
  }

  private async startNetwork(): Promise<void> {
    this.p2p.onRumor((from, bytes) => this.onRumor(from, bytes));
    this.p2p.onPeerConnect((peer) => {
      this.peerInfo(peer);
      // Both ends see the connection; only the lower peer id opens the first session, so the
      // two do not refuse each other as busy.
      if (peer > this.p2p.peerId) this.scheduler.peerConnected(peer);
      this.changed();
    });
    this.p2p.onPeerDisconnect(() => this.changed());
    await this.p2p.handle(ANTI_ENTROPY_PROTOCOL, (stream, peer, signal) => this.respond(stream, peer, signal), {
      maxInbound: 2,
      timeoutMs: this.opts.sessionTimeoutMs ?? 30_000,
    });
    await this.p2p.start();
    this.scheduler.start();
  }

  get peerId(): string {
    return this.p2p.peerId;
  }

  get vaultId(): string {
    return this.vault.id;
  }

  addresses(): string[] {
    return this.p2p.addresses();
  }

  async addPeer(address: string): Promise<void> {
    if (typeof address !== 'string' || address.length === 0) throw new ValidationError('E_INVALID_VALUE', 'a peer address is a multiaddr such as /ip4/192.168.1.20/tcp/4001/p2p/<peer id>');
    await this.p2p.dial(address, AbortSignal.timeout(10_000));
  }

  invite(): { code: string; addresses: string[] } {
    const all = this.p2p.addresses();
    const loopback = (a: string) => a.startsWith('/ip4/127.') || a.startsWith('/ip6/::1/');
    // LAN addresses first; loopback ones only matter when both devices are this machine (tests).
    const addrs = [...all.filter((a) => !loopback(a)), ...all.filter(loopback)].slice(0, MAX_INVITE_ADDRS);
    return { code: encodeInvite({ secret: this.vault.secret, peerId: this.p2p.peerId, addrs }), addresses: addrs };
  }

  /**
   * Joins the vault of an invite. Notes already on this device stay and sync into the joined
   * vault; the previous vault's secret is kept in a backup file (engine/net/vault.ts).
   */
  async join(code: string): Promise<SyncState> {
    const invite = decodeInvite(code);
    if (invite.vaultId !== this.vault.id) {
      this.scheduler.stop();
      await this.p2p.stop();
      this.vault = await openVault(this.opts.dataDir, { join: invite, replace: true });
      this.p2p = await SyncNode.createP2P(this.opts, this.vault);
      this.peers.clear();
      await this.startNetwork();
    }
    await Promise.allSettled(invite.addrs.map((a) => this.addPeer(a)));
    this.changed();
    return this.state();
  }

  /**
   * Runs one anti-entropy session with every connected peer now, whatever the schedule or
   * backoff says (the "sync now" button), and returns their summaries.
   */
  async syncNow(): Promise<SessionSummary[]> {
    const peers = this.p2p.connectedPeers().map((p) => p.peerId);
    await Promise.all(peers.map((p) => this.syncWith(p)));
    return peers.map((p) => this.peerInfo(p).lastSession).filter((s): s is SessionSummary => s !== null);
  }

  onState(listener: () => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.scheduler.stop();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.flush();
    await this.p2p.stop();
    this.store.close();
  }

  // ---- rumor-mongering -----------------------------------------------------------------------

  private queueRumor(records: readonly KeyRecord[]): void {
    if (this.opts.gossip === false || this.stopped) return;
    for (const r of records) this.pending.set(r.key, r);
    // Leading edge: an isolated write must not wait out the window (it would add the whole
    // window to every edit's latency); only the writes that follow it are held back and batched.
    if (this.flushTimer === null) this.publishAndHold();
  }

  /** Publishes what is pending now, then holds further writes for one batching window. */
  private publishAndHold(): void {
    void this.flush();
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      if (this.pending.size > 0 && !this.stopped) this.publishAndHold();
    }, this.opts.rumorBatchMs ?? 25);
  }

  private async flush(): Promise<void> {
    const records = [...this.pending.values()];
    this.pending = new Map();
    for (const rumor of rumorsFor(this.vault.id, this.replica.replicaId, records)) {
      try {
        await this.p2p.publish(encodeRumor(rumor), AbortSignal.timeout(5_000));
      } catch (e) {
        // Anti-entropy will carry what this rumor could not.
        log.warn('publish failed', { error: e });
      }
    }
  }

  private onRumor(from: string, bytes: Uint8Array): RumorVerdict {
    if (this.opts.gossip === false) return 'ignore';
    try {
      const rumor = decodeRumor(bytes, this.vault.id);
      this.replica.apply(rumor.records, 'gossip');
      // A value too large to gossip was announced; pull it from its author unless we have it.
      if (rumor.notices.some((n) => fateOf(this.replica.get(n.key), n.device, n.counter) === 'unseen')) void this.scheduler.trigger(from);
      return 'accept';
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
      this.rejected.gossip++;
      log.warn('rumor rejected', { from, error: e });
      this.changed();
      return 'reject';
    }
  }

  // ---- anti-entropy --------------------------------------------------------------------------

  private async syncWith(peer: string): Promise<boolean> {
    if (this.busy.has(peer) || this.stopped) return false;
    this.busy.set(peer, 'out');
    const signal = AbortSignal.timeout(this.opts.sessionTimeoutMs ?? 30_000);
    try {
      const stream = await this.p2p.open(peer, ANTI_ENTROPY_PROTOCOL, signal);
      const outcome = await initiateOver(this.replica, stream, { peerReplica: this.peerInfo(peer).replica ?? undefined }, signal);
      this.record(peer, outcome);
      return outcome.ok;
    } catch (e) {
      log.warn('anti-entropy could not start', { peer, error: e });
      return false;
    } finally {
      this.busy.delete(peer);
    }
  }

  private async respond(stream: FrameStream, peer: string, signal: AbortSignal): Promise<void> {
    const inbound = [...this.busy.values()].filter((d) => d === 'in').length;
    const mine = this.busy.get(peer);
    // One session per pair: when both opened one at once, the lower peer id's session proceeds.
    if (mine === 'in' || (mine === 'out' && peer > this.p2p.peerId) || inbound >= MAX_INBOUND_SESSIONS) {
      await stream.send(encodeFault('busy', 'a session with this peer is already running'), signal).catch(() => undefined);
      await stream.close().catch(() => undefined);
      return;
    }
    this.busy.set(peer, 'in');
    try {
      this.record(peer, await respondOver(this.replica, stream, signal));
    } finally {
      if (this.busy.get(peer) === 'in') this.busy.delete(peer);
    }
  }

  private record(peer: string, o: SessionOutcome): void {
    const s = o.stats;
    const summary: SessionSummary = {
      peer, role: s.role, mode: s.used ?? s.requested, ok: o.ok, error: o.error ? `${o.error.code}: ${o.error.message}` : null,
      startedAt: o.startedAt, durationMs: o.durationMs, roundTrips: s.roundTrips, bytesSent: s.bytesSent, bytesReceived: s.bytesReceived,
      recordsSent: s.recordsSent, recordsReceived: s.recordsReceived, differingTop: s.differingTop,
    };
    if (o.error instanceof ProtocolError && o.error.code !== 'E_PEER_ERROR') this.rejected['anti-entropy']++;
    const info = this.peerInfo(peer);
    info.lastSession = summary;
    if (s.peerReplica) info.replica = s.peerReplica;
    if (s.peerRoot) info.root = s.peerRoot;
    this.sessions.unshift(summary);
    this.sessions.length = Math.min(this.sessions.length, MAX_SESSIONS_LOG);
    if (!o.ok) log.info('anti-entropy session failed', { peer, error: o.error });
    this.changed();
  }

  private peerInfo(peer: string): PeerInfo {
    let info = this.peers.get(peer);
    if (!info) {
      info = { replica: null, lastSession: null, root: null };
      this.peers.set(peer, info);
    }
    return info;
  }

  // ---- state ---------------------------------------------------------------------------------

  state(): SyncState {
    const connected = new Map(this.p2p.connectedPeers().map((p) => [p.peerId, p.addrs]));
    for (const id of connected.keys()) this.peerInfo(id);
    const peers: PeerState[] = [...this.peers].map(([id, info]) => ({
      id,
      addresses: connected.get(id) ?? [],
      connected: connected.has(id),
      replica: info.replica,
      clockSkewMs: info.replica ? this.replica.skew.get(info.replica)?.aheadMs ?? null : null,
      lastSession: info.lastSession,
      merkle: info.root,
    }));
    const g = this.p2p.gossipStats();
    const tree = this.replica.tree;
    const root = tree.node([]);
    return {
      peerId: this.p2p.peerId,
      replicaId: this.replica.replicaId,
      vaultId: this.vault.id,
      addresses: this.p2p.addresses(),
      peers,
      gossip: {
        topic: g.topic, topicPeers: g.topicPeers, meshPeers: g.meshPeers, messagesIn: g.received.accepted + g.received.rejected + g.received.ignored,
        messagesOut: g.published, rejected: g.received.rejected, duplicates: g.duplicates,
      },
      merkle: { root: Buffer.from(root.digest.subarray(0, STATUS_BYTES)).toString('hex'), keys: root.count, top: Array.from({ length: FANOUT }, (_, i) => tree.node([i]).count) },
      sessions: [...this.sessions],
      paths: { ...this.replica.counters },
      rejected: { ...this.rejected },
    };
  }

  private changed(): void {
    for (const l of this.stateListeners) l();
  }
}

