// One device's sync engine, as both hosts run it (the Electron main process and the headless
// peer): vault + store + replica + libp2p, rumor-mongering on every local write, anti-entropy on
// every new connection and on a jittered timer, and the sync state the debug panel shows.

import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { initiateOver, olderVersionOffered, respondOver, type ProgressListener, type SessionOutcome } from './net/ae-link.ts';
import { AckTimer } from './net/ack-timer.ts';
import { BEHIND_COUNT_MAX, holding, holdOf } from './core/holds.ts';
import { progressOf, reportable } from './core/transfer-progress.ts';
import { WatermarkBook } from './watermark-book.ts';
import { EngineError, ProtocolError, StoreError, ValidationError } from './core/errors.ts';
import { decodeInvite, encodeInvite, MAX_INVITE_ADDRS } from './net/invite.ts';
import { logger } from './log.ts';
import { FANOUT } from './core/merkle.ts';
import { Notes, notesReplicaOptions } from './notes.ts';
import { createP2P, type FrameStream, type P2PNode, type RumorVerdict } from './net/p2p.ts';
import { encodeFault, STATUS_BYTES } from './core/protocol.ts';
import { fateOf } from './core/record.ts';
import type { DeviceHold, PeerState, SessionSummary, SyncProgress, SyncState } from './core/sync-state.ts';
import { Replica } from './replica.ts';
import { decodeRumor, encodeRumor, rumorsFor } from './core/rumor.ts';
import { Scheduler } from './net/scheduler.ts';
import type { SqliteStore } from './store/sqlite.ts';
import { lockDataDir, type DirLock } from './store/dir-lock.ts';
import { openReplica, type DamageDecision, type FreshStart, type StoreDamage } from './open-replica.ts';
import { openVault, type Vault } from './net/vault.ts';
import type { KeyRecord } from './core/codec.ts';
import { reason as doctorReason, versionMismatchReason } from './core/doctor.ts';
import { randomBytes } from 'node:crypto';
import { offerRotation, serveRotation, type RotationOffer } from './net/vault-rotation.ts';
import { DeviceBook } from './net/devices.ts';
import { serveDeviceNames, sendDeviceName } from './net/device-name.ts';
import { checkDeviceName, DeviceSettingsFile } from './net/device-settings.ts';
import { Redialer } from './net/redialer.ts';
import { NearbyPairing } from './pairing.ts';

export const ANTI_ENTROPY_PROTOCOL = '/notes-sync/anti-entropy/1.0.0';
/**
 * The TCP port LAN Notes listens on unless it remembers another (the one that worked last time) or
 * is told otherwise. Fixed, so the addresses paired devices remember stay valid across restarts.
 */
export const DEFAULT_PORT = 27182;
const log = logger('sync');

export interface SyncNodeOptions {
  readonly dataDir: string;
  /**
   * Exact listen multiaddrs; nothing is remembered. Default: `listenHost` on the remembered port,
   * else `port`, falling back to a free port when it is taken (the port that worked is remembered).
   */
  readonly listen?: readonly string[];
  /** The port tried first when none is remembered. Default DEFAULT_PORT; 0 = any free port. */
  readonly port?: number;
  /** The IPv4 address to listen on with that port. Default 0.0.0.0 (every interface). */
  readonly listenHost?: string;
  /** Bound for one redial of one address of a paired device. Default 10 s. */
  readonly redialTimeoutMs?: number;
  /** How long a "pair nearby" window stays open. Default 2 minutes. */
  readonly pairingWindowMs?: number;
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
  /** Names this process in the data directory's owner file, e.g. "headless peer" (default "LAN Notes"). */
  readonly program?: string;
  /** Asked when notes.db is damaged (engine/open-replica.ts); without it the start fails. */
  readonly onDamagedStore?: (damage: StoreDamage) => DamageDecision | Promise<DamageDecision>;
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
  private readonly lock: DirLock;
  /** Set when this start replaced a damaged database with a fresh one. */
  readonly freshStart: FreshStart | null;
  private readonly scheduler: Scheduler;
  /** Sessions in progress: the direction and when each started. */
  private readonly busy = new Map<string, { readonly dir: 'in' | 'out'; readonly since: number }>();
  private readonly peers = new Map<string, PeerInfo>();
  private readonly sessions: SessionSummary[] = [];
  private readonly rejected: Record<string, number> = { gossip: 0, 'anti-entropy': 0 };
  /** Valid rumors this device's store could not take. */
  private unstored = 0;
  private readonly stateListeners = new Set<() => void>();
  private pending = new Map<string, KeyRecord>();
  private readonly book: DeviceBook;
  private readonly settings: DeviceSettingsFile;
  private readonly redialer: Redialer;
  /** "Pair nearby": the pairing window, its requests and codes (engine/pairing.ts). */
  readonly pairing: NearbyPairing;
  private flushTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly now: () => number;
  private switching: Promise<void> = Promise.resolve();
  /** Forgotten in this run: never re-added by a connection that was still open. */
  private readonly forgotten = new Set<string>();
  /** What each paired device is proven to hold of our change log (R-HOLD). */
  private readonly marks: WatermarkBook;
  private readonly acks: AckTimer;
  /** Large incoming transfers under way, by peer: when their first frame came, and how far they are. */
  private readonly transfers = new Map<string, { readonly startedAt: number; progress: SyncProgress }>();
  /** Peers that answered our protocol version with an older one, for as long as they stay connected (R-VER-2). */
  private readonly olderProtocol = new Map<string, number>();
  private readonly progressListeners = new Set<(p: SyncProgress) => void>();

  private constructor(opts: SyncNodeOptions, lock: DirLock, opened: { store: SqliteStore; replica: Replica; freshStart: FreshStart | null }, vault: Vault, p2p: P2PNode, settings: DeviceSettingsFile) {
    this.opts = opts;
    this.lock = lock;
    this.settings = settings;
    this.book = DeviceBook.open(opts.dataDir, opts.now);
    this.redialer = new Redialer({ book: this.book, p2p: () => this.p2p, now: opts.now ?? Date.now, dialTimeoutMs: opts.redialTimeoutMs });
    this.book.onChange(() => this.changed());
    this.pairing = new NearbyPairing({
      identityKey: () => this.vault.identityKey,
      peerId: () => this.p2p.peerId,
      listenHost: opts.listenHost ?? '0.0.0.0',
      name: () => this.settings.get().name,
      invite: () => this.invite().code,
      join: (code) => this.join(code),
      now: opts.now ?? Date.now,
      windowMs: opts.pairingWindowMs,
      mdnsIntervalMs: 1000,
    });
    this.pairing.onChange(() => this.changed());
    this.vault = vault;
    this.store = opened.store;
    this.freshStart = opened.freshStart;
    this.p2p = p2p;
    this.now = opts.now ?? Date.now;
    this.replica = opened.replica;
    this.notes = new Notes(this.replica);
    this.marks = new WatermarkBook(opened.store);
    this.acks = new AckTimer({ fire: (peer) => void this.scheduler.trigger(peer) });
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
    // Before anything in the directory is read or written: one owner per data directory.
    const lock = lockDataDir(opts.dataDir, opts.program ?? 'LAN Notes');
    let store: SqliteStore | undefined;
    try {
      // The store before the vault, so a damaged store the host will not replace changes nothing.
      const opened = await openReplica(opts.dataDir, { ...notesReplicaOptions(), now: opts.now, onDamagedStore: opts.onDamagedStore });
      store = opened.store;
      const vault = await openVault(opts.dataDir, invite ? { join: invite, replace: true } : {});
      const settings = DeviceSettingsFile.open(opts.dataDir);
      const node = new SyncNode(opts, lock, opened, vault, await SyncNode.createP2P(opts, vault, settings), settings);
      if (invite) node.rememberInviter(invite.peerId, invite.addrs);
      await node.startNetwork();
      for (const addr of [...(opts.peers ?? []), ...(invite?.addrs ?? [])]) void node.addPeer(addr).catch((e) => log.warn('dial failed', { addr, error: e }));
      return node;
    } catch (e) {
      store?.close();
      lock.release();
      throw e;
    }
  }

  private static createP2P(opts: SyncNodeOptions, vault: Vault, settings: DeviceSettingsFile): Promise<P2PNode> {
    const host = opts.listenHost ?? '0.0.0.0';
    const port = settings.get().port ?? opts.port ?? DEFAULT_PORT;
    return createP2P({
      vault,
      listen: opts.listen ?? [`/ip4/${host}/tcp/${port}`],
      ...(opts.listen ? {} : { fallbackListen: [`/ip4/${host}/tcp/0`] }),
      mdns: opts.mdns ?? true,
      gossip: { historyGossip: opts.rumorRounds ?? 3, historyLength: Math.max(5, opts.rumorRounds ?? 3), heartbeatMs: opts.heartbeatMs },
    });
  }

  private async startNetwork(): Promise<void> {
    this.p2p.onRumor((from, bytes) => this.onRumor(from, bytes));
    this.p2p.onPeerConnect((peer) => {
      this.peerInfo(peer);
      // Whoever completes a connection holds the vault key (pnet): it is a paired device. A device
      // forgotten a moment ago may still be connected until the vault key changes: not re-added.
      if (!this.forgotten.has(peer)) this.book.seen(peer);
      this.redialer.connected(peer);
      void sendDeviceName(this.p2p, peer, this.settings.get().name);
      // Both ends see the connection; only the lower peer id opens the first session, so the
      // two do not refuse each other as busy.
      if (peer > this.p2p.peerId) this.scheduler.peerConnected(peer);
      this.changed();
    });
    this.p2p.onPeerDisconnect((peer) => {
      // It may come back updated: the next session tries the newest version again.
      this.olderProtocol.delete(peer);
      if (!this.stopped) {
        this.book.left(peer);
        this.redialer.disconnected(peer);
      }
      this.changed();
    });
    this.p2p.onPeerAddresses((peer, addrs) => this.book.listensOn(peer, addrs));
    await serveDeviceNames(this.p2p, (peer, name) => this.book.named(peer, name));
    await serveRotation(this.p2p, (peer, offer) => {
      const ok = offer.fromVault === this.vault.id && !offer.forget.includes(this.p2p.peerId);
      if (!ok) log.warn('refused a vault rotation offer', { peer, fromVault: offer.fromVault });
      return ok;
    }, (offer) => {
      log.info('moving to the rotated vault key', { forgotten: offer.forget });
      for (const p of offer.forget) {
        this.forgotten.add(p);
        this.book.forget(p);
        this.redialer.forget(p);
      }
      void this.switchVault(offer.secret).finally(() => {
        for (const p of offer.forget) this.forgotten.delete(p);
      });
    });
    await this.p2p.handle(ANTI_ENTROPY_PROTOCOL, (stream, peer, signal) => this.respond(stream, peer, signal), {
      maxInbound: 2,
      timeoutMs: this.opts.sessionTimeoutMs ?? 30_000,
    });
    await this.p2p.start();
    this.scheduler.start();
    if (this.opts.listen === undefined) {
      const port = this.listenPort();
      if (port !== null) this.settings.update({ port });
    }
    this.redialer.start();
  }

  private listenPort(): number | null {
    for (const a of this.p2p.addresses()) {
      const m = /\/tcp\/(\d+)/.exec(a);
      if (m) return Number(m[1]);
    }
    return null;
  }

  private rememberInviter(peerId: string, addrs: readonly string[]): void {
    if (peerId !== this.p2p.peerId) this.book.learn(peerId, addrs);
  }

  /** This device's name as its paired devices see it. */
  get deviceName(): string {
    return this.settings.get().name;
  }

  /** Renames this device and tells every connected device. */
  async setDeviceName(name: string): Promise<{ name: string }> {
    const checked = checkDeviceName(name);
    this.settings.update({ name: checked });
    await Promise.all(this.p2p.connectedPeers().map((p) => sendDeviceName(this.p2p, p.peerId, checked)));
    this.changed();
    return { name: checked };
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
    const peer = await this.p2p.dial(address, AbortSignal.timeout(10_000));
    if (peer !== this.p2p.peerId) this.book.seen(peer, [address]);
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
      await this.switchVault(invite.secret, () => {
        // The devices of the previous vault cannot reach this one (another pnet key).
        for (const d of this.book.list()) this.book.forget(d.peerId);
        this.rememberInviter(invite.peerId, invite.addrs);
      });
    } else {
      this.rememberInviter(invite.peerId, invite.addrs);
    }
    await Promise.allSettled(invite.addrs.map((a) => this.addPeer(a)));
    this.changed();
    return this.state();
  }

  /**
   * Moves this device to another vault secret: the network restarts with the keys derived from
   * it (the notes database stays). One move at a time.
   */
  private switchVault(secret: Uint8Array, beforeStart: () => void = () => undefined): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.stopped) return;
      this.scheduler.stop();
      this.redialer.stop();
      // Acknowledgements owed to the old vault's connections: none of them carries over.
      this.acks.stop();
      await this.p2p.stop();
      this.vault = await openVault(this.opts.dataDir, { join: { secret }, replace: true });
      this.p2p = await SyncNode.createP2P(this.opts, this.vault, this.settings);
      this.peers.clear();
      beforeStart();
      await this.startNetwork();
      this.changed();
    };
    const next = this.switching.then(run, run);
    this.switching = next.catch((e) => log.error('moving to another vault secret failed', { error: e }));
    return next;
  }

  /**
   * Forgets a paired device and rotates the vault secret, so the secret it holds opens nothing
   * any more: every connected device (but the forgotten one) gets the new secret over its
   * encrypted connection and moves, then this device moves. Devices that were not connected keep
   * the old secret and need a new invite; they are marked so, and keep their notes.
   */
  async forgetDevice(peerId: string): Promise<{ vaultId: string; moved: string[]; reinviteNeeded: string[] }> {
    if (typeof peerId !== 'string' || peerId === this.p2p.peerId || !(this.book.has(peerId) || this.peers.has(peerId))) {
      throw new ValidationError('E_NOT_FOUND', `no paired device ${String(peerId)}`, { peerId });
    }
    const secret = new Uint8Array(randomBytes(32));
    const offer: RotationOffer = { fromVault: this.vault.id, secret, forget: [peerId] };
    this.forgotten.add(peerId);
    this.book.forget(peerId);
    this.redialer.forget(peerId);
    this.acks.forget(peerId);
    this.peers.delete(peerId);
    const connected = this.p2p.connectedPeers().map((p) => p.peerId).filter((p) => p !== peerId);
    const results = await Promise.all(connected.map(async (p) => [p, await offerRotation(this.p2p, p, offer)] as const));
    const moved = results.filter(([, ok]) => ok).map(([p]) => p);
    const reinviteNeeded = this.book.list().map((d) => d.peerId).filter((p) => !moved.includes(p));
    await this.switchVault(secret, () => {
      for (const p of reinviteNeeded) this.book.needsReinvite(p);
    });
    // On the new key it can only come back by a new invite, and then it is welcome.
    this.forgotten.delete(peerId);
    log.info('device forgotten, vault key rotated', { forgotten: peerId, vault: this.vault.id, moved, reinviteNeeded });
    return { vaultId: this.vault.id, moved, reinviteNeeded };
  }

  /**
   * Runs one anti-entropy session with every connected peer now, whatever the schedule or
   * backoff says (the "sync now" button), and returns their summaries.
   */
  async syncNow(): Promise<SessionSummary[]> {
    const peers = this.p2p.connectedPeers().map((p) => p.peerId);
    await Promise.all(peers.map((p) => this.syncNowWith(p)));
    return peers.map((p) => this.peerInfo(p).lastSession).filter((s): s is SessionSummary => s !== null);
  }

  /**
   * One session of our own with `peer`. A session already running between us (a periodic one,
   * an acknowledgement, or the peer's own that won the tie) is waited out first, so what is
   * reported is a session that started after the button was pressed, never an older one.
   */
  private async syncNowWith(peer: string): Promise<void> {
    const deadline = this.now() + (this.opts.sessionTimeoutMs ?? 30_000);
    for (let attempt = 0; attempt < 5 && !this.stopped; attempt++) {
      while (this.busy.has(peer) && this.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if ((await this.syncWith(peer)) !== 'busy') return;
    }
  }

  onState(listener: () => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.pairing.stop('the app is stopping');
    await this.switching;
    this.scheduler.stop();
    this.redialer.stop();
    this.acks.stop();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    try {
      await this.flush();
      await this.p2p.stop();
    } finally {
      this.store.close();
      this.lock.release();
    }
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
      try {
        this.replica.apply(rumor.records, 'gossip');
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
        // Our store failed (full disk, a damaged file), not the rumor: it still goes on to the
        // mesh and its sender is not blamed; anti-entropy brings it here again once we can store.
        this.unstored++;
        log.error('gossiped records could not be stored', { from, error: e });
        this.changed();
        return 'accept';
      }
      // R-HOLD-4: once the rumors stop, one session with the peer proves what each side holds.
      this.acks.heard(from);
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

  /** One session we initiate: whether it ended well, or 'busy' when one between us was already running. */
  private async syncWith(peer: string): Promise<boolean | 'busy'> {
    if (this.stopped || this.forgotten.has(peer)) return false;
    if (this.busy.has(peer)) return 'busy';
    this.busy.set(peer, { dir: 'out', since: this.now() });
    const signal = AbortSignal.timeout(this.opts.sessionTimeoutMs ?? 30_000);
    const p2p = this.p2p;
    try {
      // The replica remembered with its watermark lets the first session after a restart send a cursor.
      const peerReplica = this.peers.get(peer)?.replica ?? this.marks.get(peer)?.replica;
      const session = async (version: number | undefined): Promise<SessionOutcome> => {
        const stream = await p2p.open(peer, ANTI_ENTROPY_PROTOCOL, signal);
        return initiateOver(this.replica, stream, { peerReplica, version }, signal, this.transferListener(peer));
      };
      let outcome = await session(this.olderProtocol.get(peer));
      const older = olderVersionOffered(outcome, this.olderProtocol.get(peer));
      if (older !== null) {
        // R-VER-2: a device still on an older app answered with the versions it speaks.
        log.info('peer speaks an older anti-entropy protocol; syncing in it', { peer, version: older });
        this.olderProtocol.set(peer, older);
        outcome = await session(older);
      }
      // Both ends opened a session at once and the peer's goes ahead: nothing failed.
      if (outcome.error?.details.fault === 'busy') return 'busy';
      this.record(p2p, peer, outcome);
      return outcome.ok;
    } catch (e) {
      log.warn('anti-entropy could not start', { peer, error: e });
      return false;
    } finally {
      this.busy.delete(peer);
    }
  }

  private async respond(stream: FrameStream, peer: string, signal: AbortSignal): Promise<void> {
    const inbound = [...this.busy.values()].filter((b) => b.dir === 'in').length;
    const mine = this.busy.get(peer)?.dir;
    // One session per pair: when both opened one at once, the lower peer id's session proceeds.
    if (mine === 'in' || (mine === 'out' && peer > this.p2p.peerId) || inbound >= MAX_INBOUND_SESSIONS) {
      await stream.send(encodeFault('busy', 'a session with this peer is already running'), signal).catch(() => undefined);
      await stream.close().catch(() => undefined);
      return;
    }
    this.busy.set(peer, { dir: 'in', since: this.now() });
    const p2p = this.p2p;
    try {
      this.record(p2p, peer, await respondOver(this.replica, stream, signal, this.transferListener(peer)));
    } finally {
      if (this.busy.get(peer)?.dir === 'in') this.busy.delete(peer);
    }
  }

  /** Records a session that ran on the node `p2p`. */
  private record(p2p: P2PNode, peer: string, o: SessionOutcome): void {
    if (p2p !== this.p2p) {
      // The vault key changed while it ran: its peer belongs to the old vault (a device just
      // forgotten, say), and recording the session would list that device again.
      if (this.transfers.delete(peer)) this.changed();
      return;
    }
    const s = o.stats;
    const summary: SessionSummary = {
      peer, role: s.role, mode: s.used ?? s.requested, ok: o.ok, error: o.error ? `${o.error.code}: ${o.error.message}` : null,
      startedAt: o.startedAt, durationMs: o.durationMs, roundTrips: s.roundTrips, bytesSent: s.bytesSent, bytesReceived: s.bytesReceived,
      recordsSent: s.recordsSent, recordsReceived: s.recordsReceived, differingTop: s.differingTop,
    };
    if (o.error instanceof ProtocolError && o.error.code !== 'E_PEER_ERROR') this.rejected['anti-entropy']++;
    if (o.error?.code === 'E_PROTOCOL_VERSION') this.book.failed(peer, versionMismatchReason(o.error.message, (this.opts.now ?? Date.now)()));
    this.proveHeld(peer, o);
    // A repair that moved records proves nothing by itself (R-HOLD): the acknowledgement after it does.
    // The initiator alone asks, so the two ends do not open it at once.
    if (o.ok && s.role === 'initiator' && s.recordsSent + s.recordsReceived > 0) this.acks.heard(peer);
    if (this.transfers.delete(peer)) this.changed();
    const info = this.peerInfo(peer);
    info.lastSession = summary;
    if (s.peerReplica) info.replica = s.peerReplica;
    if (s.peerRoot) info.root = s.peerRoot;
    this.sessions.unshift(summary);
    this.sessions.length = Math.min(this.sessions.length, MAX_SESSIONS_LOG);
    if (!o.ok) log.info('anti-entropy session failed', { peer, error: o.error });
    this.changed();
  }

  private proveHeld(peer: string, o: SessionOutcome): void {
    const replica = o.stats.peerReplica;
    if (replica === null) return;
    // A device that started over with a new database holds nothing we proved of its old one.
    const known = this.marks.get(peer);
    const moved = known !== undefined && known.replica !== replica;
    if (o.peerHolds === null && !moved) return;
    this.marks.prove({ peer, replica, seq: o.peerHolds ?? 0, at: this.now() });
  }

  /** Progress of large incoming messages (R-PROG-1), for the debug panel, the UI and stderr. */
  private transferListener(peer: string): ProgressListener {
    return (p) => {
      if (!reportable(p)) return;
      const now = this.now();
      const startedAt = this.transfers.get(peer)?.startedAt ?? now;
      const progress = progressOf(peer, p, now - startedAt);
      if (p.complete) this.transfers.delete(peer);
      else this.transfers.set(peer, { startedAt, progress });
      for (const l of this.progressListeners) l(progress);
      this.changed();
    };
  }

  /** Every progress report of a large transfer, the last one with recordsDone === recordsTotal. */
  onProgress(listener: (p: SyncProgress) => void): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  /** Which paired devices are proven to hold the note's current versions, and why not the others. */
  noteSync(id: string): DeviceHold[] {
    const noteSeq = this.notes.lastChange(id);
    if (noteSeq === 0) throw new ValidationError('E_NOT_FOUND', `no note with id ${id}`, { id });
    const connected = new Set(this.p2p.connectedPeers().map((p) => p.peerId));
    let behind: number | undefined;
    const count = (after: number) => (behind ??= this.replica.changesSince(after, BEHIND_COUNT_MAX).length);
    return this.book.list().map((d) => holdOf({
      peer: d.peerId, name: d.name, connected: connected.has(d.peerId), lastSeen: d.lastSeen,
      lastSession: this.peers.get(d.peerId)?.lastSession ?? null, watermark: this.marks.get(d.peerId),
    }, noteSeq, count));
  }

  /** Of the paired devices, how many are proven to hold a note whose keys last changed at `noteSeq`. */
  devicesHolding(noteSeq: number): { holding: number; paired: number } {
    const devices = this.book.list();
    return { holding: holding(devices.map((d) => this.marks.get(d.peerId)), noteSeq), paired: devices.length };
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
    for (const d of this.book.list()) this.peerInfo(d.peerId);
    const peers: PeerState[] = [...this.peers].map(([id, info]) => {
      const device = this.book.get(id);
      const problem = device?.reinviteNeeded ? doctorReason('re-invite-needed', device.lastError?.at ?? device.lastSeen ?? 0) : device?.lastError ?? null;
      return {
        id,
        name: device?.name ?? null,
        paired: device !== undefined,
        knownAddresses: device?.addresses ?? [],
        lastSeen: connected.has(id) ? (this.opts.now ?? Date.now)() : device?.lastSeen ?? null,
        // A connected device's dial problems are over; an incompatible version is not.
        problem: connected.has(id) && problem?.code !== 'version-mismatch' && problem?.code !== 're-invite-needed' ? null : problem,
        redial: this.redialer.status(id),
        addresses: connected.get(id) ?? [],
        connected: connected.has(id),
        replica: info.replica,
        clockSkewMs: info.replica ? this.replica.skew.get(info.replica)?.aheadMs ?? null : null,
        lastSession: info.lastSession,
        merkle: info.root,
        watermark: this.watermarkOf(id),
      };
    });
    const g = this.p2p.gossipStats();
    const tree = this.replica.tree;
    const root = tree.node([]);
    return {
      peerId: this.p2p.peerId,
      replicaId: this.replica.replicaId,
      vaultId: this.vault.id,
      device: { name: this.settings.get().name },
      pairing: this.pairing.state(),
      network: { mdns: this.p2p.mdns, port: this.listenPort(), portFellBack: this.p2p.listenFellBack, interfaces: interfaceList() },
      addresses: this.p2p.addresses(),
      peers,
      gossip: {
        topic: g.topic, topicPeers: g.topicPeers, meshPeers: g.meshPeers, messagesIn: g.received.accepted + g.received.rejected + g.received.ignored,
        messagesOut: g.published, rejected: g.received.rejected, duplicates: g.duplicates, unstored: this.unstored,
      },
      merkle: { root: Buffer.from(root.digest.subarray(0, STATUS_BYTES)).toString('hex'), keys: root.count, top: Array.from({ length: FANOUT }, (_, i) => tree.node([i]).count) },
      sessions: [...this.sessions],
      running: [...this.busy].map(([peer, b]) => ({ peer, role: b.dir === 'in' ? 'responder' : 'initiator', startedAt: b.since })),
      paths: { ...this.replica.counters },
      rejected: { ...this.rejected },
      progress: this.largestTransfer(),
    };
  }

  private watermarkOf(peer: string): PeerState['watermark'] {
    const w = this.marks.get(peer);
    return w === undefined ? null : { seq: w.seq, ofSeq: this.replica.seq(), verifiedAt: w.at };
  }

  private largestTransfer(): SyncProgress | null {
    let best: { startedAt: number; progress: SyncProgress } | null = null;
    for (const t of this.transfers.values()) if (best === null || t.progress.bytesTotal > best.progress.bytesTotal) best = t;
    if (best === null) return null;
    const p = best.progress;
    // The time left, re-extrapolated to now: the last frame may have come a while ago.
    return progressOf(p.peer, { ...p, complete: false }, this.now() - best.startedAt);
  }

  private changed(): void {
    for (const l of this.stateListeners) l();
  }
}


function interfaceList(): { name: string; address: string; family: 'IPv4' | 'IPv6'; internal: boolean }[] {
  return Object.entries(networkInterfaces()).flatMap(([name, list]) =>
    (list ?? []).map((i) => ({ name, address: i.address, family: i.family === 'IPv6' ? 'IPv6' as const : 'IPv4' as const, internal: i.internal })));
}
