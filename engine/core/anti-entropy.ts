// The anti-entropy session: a pure state machine (no sockets, timers or clock reads). The
// initiator's start() yields the first frames; each side feeds what it receives to receive(),
// which yields the frames to send back. Rules are numbered in engine/PROTOCOL.md.
//
// Merkle descent: a side that finds a node differing either lists its keys (small subtree),
// expands it (16 child summaries), ships all its records (the peer has none there) or asks for
// all of the peer's (it has none). Both sides take turns, so every one-way message descends a
// level. Digests and key ids are salted per session, so a truncated-digest collision that hides
// a difference once is not repeated by the next session.

import { encodedSize, sha256Prefix, type KeyRecord, type StoredSnapshot, type WireRecord } from './codec.ts';
import { EngineError, ProtocolError, ValidationError } from './errors.ts';
import { MAX_PATH_DEPTH, type MerkleView, type Path } from './merkle.ts';
import {
  decodeFrame, encodeFault, encodeHello, frameVersion, stepFrames,
  keyIdBytes, MAX_DIGEST_BYTES, MIN_DIGEST_BYTES, PROTOCOL_VERSION, ROOT_DIGEST_BYTES, SALT_BYTES, STATUS_BYTES, SUPPORTED_VERSIONS,
  type Expansion, type Hello, type Listing, type Mode, type PeerInfo, type Step, type Summary, type VersionSummary,
} from './protocol.ts';
import { statesEqual, type KeyState } from './record.ts';
import type { Change } from './change-log.ts';

/** What a session needs of a replica. Reads must reflect every apply() made before them. */
export interface SyncSource {
  readonly replicaId: string;
  readonly tree: MerkleView;
  seq(): number;
  get(key: string): KeyState | undefined;
  /**
   * Every record as stored (canonical bytes) as of now, in key order: streamed unread to a peer
   * that holds nothing, while this replica goes on taking writes.
   */
  snapshot(): StoredSnapshot;
  changesSince(after: number, limit: number): Change[];
  /** How far this replica has merged `replica`'s change log, if it knows. */
  cursor(replica: string): number | undefined;
  /** Merges records from the peer through the one merge(). */
  apply(records: readonly KeyRecord[]): void;
}

export interface SessionOptions {
  readonly mode?: Mode;
  /** The protocol version to open the session in (R-VER-2); a responder answers in the hello's. */
  readonly version?: number;
  /** Random bytes chosen by the caller for this session (SALT_BYTES long). */
  readonly salt: Uint8Array;
  /** Bytes per truncated node/version digest. */
  readonly width?: number;
  /** List a differing subtree's keys instead of descending when it holds at most this many. */
  readonly listMax?: number;
  /** Use the change log when both sides changed at most this many keys since they last met. */
  readonly recentMax?: number;
  /** The peer's replica id from an earlier session, to look up our cursor into its log. */
  readonly peerReplica?: string;
  /**
   * Received records of one message held before merging (R-ERR-1): a message's records are merged
   * when its last frame arrives, or in chunks once this many bytes of them are waiting.
   */
  readonly inboxBytes?: number;
}

// Width 3: a truncated digest that collides hides a difference from one session only, since
// every session salts its digests afresh; roots, which end sessions and prove what a peer holds,
// are compared on ROOT_DIGEST_BYTES. One byte less per node and listed key is what keeps a
// thousand scattered differences in a million keys under 200 bytes each.
export const DEFAULTS = { width: 3, listMax: 32, recentMax: 32 } as const;
/** A listing of this many entries still fits one frame (P-LIM-2), so listings are never split. */
const MAX_LIST = 4096;
const MAX_RECENT = 10_000;
/**
 * A message's records are kept for R-REC-2 while it has at most this many: a RECENT message
 * carries the few changes since a cursor (32 by default), and holding every record of a long
 * transfer (a whole vault for a new device) made the receiver's memory grow with the vault.
 */
const RECENT_ECHO_RECORDS = 1024;
/** Received records held before merging, so memory stays bounded on a huge transfer. */
export const INBOX_BYTES = 2 * 1024 * 1024;

function bounded(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

export type UsedMode = 'equal' | 'whole' | 'merkle' | 'recent' | 'recent+merkle';

export interface SessionStats {
  role: 'initiator' | 'responder';
  requested: Mode;
  used: UsedMode | null;
  roundTrips: number;
  bytesSent: number;
  bytesReceived: number;
  framesSent: number;
  framesReceived: number;
  recordsSent: number;
  recordsReceived: number;
  recordBytesSent: number;
  recordBytesReceived: number;
  /** Top-level subtrees (first nibble of the key hash) seen to differ, for the debug heatmap. */
  differingTop: number[];
  peerReplica: string | null;
  /** The peer's key count and root prefix (hex) as it reported them, for the debug panel. */
  peerRoot: { count: number; digest: string } | null;
}

export type SessionStatus = 'open' | 'done' | 'failed';

export interface Cursor {
  readonly replica: string;
  readonly seq: number;
}

/** Records of one incoming message of several frames, against the total its sender announced (R-PROG-1). */
export interface TransferProgress {
  readonly recordsDone: number;
  readonly recordsTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** True once the message's last frame arrived and its records were merged. */
  readonly complete: boolean;
}

export class AntiEntropySession {
  readonly stats: SessionStats;
  private readonly source: SyncSource;
  private readonly listMax: number;
  private readonly recentMax: number;
  private salt: Uint8Array;
  private width: number;
  private version: number;
  private statusValue: SessionStatus = 'open';
  private errorValue: EngineError | null = null;
  private helloSeen = false;
  private peer: PeerInfo | null = null;
  private helloFromPeer: Hello | null = null;
  /** The peer's hello continues in more frames (whole mode ships records with it). */
  private helloOpen = false;
  private pending = newOut();
  private inbox: KeyRecord[] = [];
  private inboxBytes = 0;
  private readonly inboxLimit: number;
  private message = new Map<string, KeyState>();
  private messageRecords = 0;
  private readonly top = new Set<number>();
  /** This replica's log position when the hello was built (initiator) or answered (responder). */
  private helloSeq = 0;
  private provenSeq: number | null = null;
  /** The peer's current message continues in more frames. */
  private midMessage = false;
  private incoming: { recordsDone: number; recordsTotal: number; bytesDone: number; bytesTotal: number; complete: boolean } | null = null;

  private constructor(source: SyncSource, role: SessionStats['role'], mode: Mode, opts: Partial<SessionOptions>) {
    this.source = source;
    this.listMax = bounded('listMax', opts.listMax ?? DEFAULTS.listMax, 0, MAX_LIST);
    this.recentMax = bounded('recentMax', opts.recentMax ?? DEFAULTS.recentMax, 0, MAX_RECENT);
    this.inboxLimit = bounded('inboxBytes', opts.inboxBytes ?? INBOX_BYTES, 1, INBOX_BYTES);
    this.salt = opts.salt ?? new Uint8Array(SALT_BYTES);
    this.width = bounded('width', opts.width ?? DEFAULTS.width, MIN_DIGEST_BYTES, MAX_DIGEST_BYTES);
    this.version = opts.version ?? PROTOCOL_VERSION;
    if (!SUPPORTED_VERSIONS.includes(this.version)) throw new RangeError(`protocol version must be one of ${SUPPORTED_VERSIONS.join(', ')}, got ${this.version}`);
    this.stats = {
      role, requested: mode, used: null, roundTrips: 0, bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0,
      recordsSent: 0, recordsReceived: 0, recordBytesSent: 0, recordBytesReceived: 0, differingTop: [], peerReplica: null, peerRoot: null,
    };
  }

  /** R-HELLO-1: the initiator opens with its root summary, its log position and its cursor. */
  static initiate(source: SyncSource, opts: SessionOptions): { session: AntiEntropySession; frames: Uint8Array[] } {
    if (opts.salt.length !== SALT_BYTES) throw new RangeError(`salt must be ${SALT_BYTES} bytes`);
    const mode = opts.mode ?? 'auto';
    const s = new AntiEntropySession(source, 'initiator', mode, opts);
    s.helloSeen = true;
    const known = opts.peerReplica === undefined ? undefined : source.cursor(opts.peerReplica);
    // R-WHOLE-1: the naive baseline ships the initiator's whole dataset with the hello.
    const records = mode === 'whole' ? everything(source) : [];
    s.helloSeq = source.seq();
    const frames = encodeHello({
      version: s.version,
      mode,
      salt: s.salt,
      width: s.width,
      replica: source.replicaId,
      seq: source.seq(),
      cursor: opts.peerReplica !== undefined && known !== undefined ? { replica: opts.peerReplica, seq: known } : null,
      root: s.summarize(source.tree.node([]), ROOT_DIGEST_BYTES),
      status: source.tree.node([]).digest.subarray(0, STATUS_BYTES),
      records,
    });
    s.stats.roundTrips = 1;
    s.countSent(frames);
    s.stats.recordsSent += records.length;
    for (const r of records) s.stats.recordBytesSent += encodedSize(r);
    return { session: s, frames };
  }

  static respond(source: SyncSource, opts: Pick<SessionOptions, 'listMax' | 'recentMax' | 'inboxBytes'> = {}): AntiEntropySession {
    return new AntiEntropySession(source, 'responder', 'auto', opts);
  }

  get status(): SessionStatus {
    return this.statusValue;
  }

  get error(): EngineError | null {
    return this.errorValue;
  }

  /** Once done: "I have merged the peer's change log through seq", to persist for `recent`. */
  get cursor(): Cursor | null {
    if (this.statusValue !== 'done') return null;
    if (this.stats.role === 'initiator') return this.peer ? { replica: this.peer.replica, seq: this.peer.seq } : null;
    return this.helloFromPeer ? { replica: this.helloFromPeer.replica, seq: this.helloFromPeer.seq } : null;
  }

  /**
   * The highest seq of this replica's change log the peer is proven to hold (R-HOLD-1..3), or
   * null when this session proved nothing. Proven is not guessed: the two roots were equal at a
   * known point of this log, or the peer reported its cursor into this log, which it saves only
   * after a session that ended well (R-CUR-1).
   */
  get peerHolds(): number | null {
    return this.provenSeq;
  }

  /** The incoming message of several frames being received (or just received), or null. */
  get progress(): TransferProgress | null {
    return this.incoming;
  }

  private prove(seq: number): void {
    // A cursor past our own log would be a claim about writes that do not exist: never taken.
    if (seq > this.source.seq()) return;
    if (this.provenSeq === null || seq > this.provenSeq) this.provenSeq = seq;
  }

  /**
   * Feeds one frame from the peer; returns the frames to send back (often none until the last
   * frame of a message). A bad frame fails the session before anything in it is merged (R-ERR-1).
   */
  receive(frame: Uint8Array): Uint8Array[] {
    return [...this.answer(frame)];
  }

  /**
   * receive(), with the frames of a long reply encoded as they are taken: a transport sends the
   * first while the rest are being built. Take them all before feeding the next frame.
   */
  answer(frame: Uint8Array): Iterable<Uint8Array> {
    if (this.statusValue !== 'open') throw new ProtocolError('E_PROTOCOL_STATE', `session is ${this.statusValue}; no more frames expected`);
    this.stats.framesReceived++;
    this.stats.bytesReceived += frame.length;
    let decoded;
    try {
      if (!this.helloSeen && !SUPPORTED_VERSIONS.includes(frameVersion(frame)) && frame[1] !== 3) {
        // R-VER-1: answer an unknown version with a fault the peer can read, then stop.
        const err = new ProtocolError('E_PROTOCOL_VERSION', `peer speaks anti-entropy protocol version ${frame[0]}; this app speaks ${SUPPORTED_VERSIONS.join(' and ')}`, { version: frame[0] });
        return this.fail(err, encodeFault('version', err.message));
      }
      decoded = decodeFrame(frame, this.helloSeen ? this.width : null, this.version);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      return this.fail(e, encodeFault(e.code === 'E_PROTOCOL_VERSION' ? 'version' : 'malformed', e.message));
    }
    if (decoded.type === 'error') {
      const code = decoded.code === 'version' ? 'E_PROTOCOL_VERSION' : 'E_PEER_ERROR';
      return this.fail(new ProtocolError(code, `peer ended the session: ${decoded.message}`, { fault: decoded.code, supported: decoded.supported }), null);
    }
    try {
      if (decoded.type === 'hello') {
        if (this.helloSeen) return this.fail(new ProtocolError('E_PROTOCOL_STATE', 'unexpected second hello'), encodeFault('malformed', 'unexpected second hello'));
        return this.onHello(decoded);
      }
      if (this.stats.role === 'responder' && this.helloFromPeer === null) {
        return this.fail(new ProtocolError('E_PROTOCOL_STATE', 'a session must open with a hello frame'), encodeFault('malformed', 'expected hello'));
      }
      return this.onStep(decoded);
    } catch (e) {
      // A frame can decode yet hold records the store refuses: one over MAX_RECORD_BYTES, or a
      // state whose merge with ours exceeds MAX_VERSIONS or MAX_CONTEXT_DEVICES. Replica.apply
      // commits atomically, so nothing of the frame was merged; fail like any bad frame (R-ERR-1).
      if (!(e instanceof ValidationError)) throw e;
      const err = new ProtocolError('E_FRAME_MALFORMED', `peer sent records this replica refuses: ${e.message}`, { cause: e.code });
      return this.fail(err, encodeFault('malformed', err.message));
    }
  }

  // ---- message handling ----------------------------------------------------------------------

  private onHello(h: Hello): Iterable<Uint8Array> {
    if (this.stats.role !== 'responder') return this.fail(new ProtocolError('E_PROTOCOL_STATE', 'initiator received a hello'), encodeFault('malformed', 'unexpected hello'));
    this.helloSeen = true;
    this.helloFromPeer = h;
    this.salt = h.salt;
    this.width = h.width;
    this.version = h.version;
    this.stats.requested = h.mode;
    this.stats.peerReplica = h.replica;
    this.stats.peerRoot = { count: h.root.count, digest: hex(h.status) };
    this.take(h.records, !h.more);
    this.helloOpen = h.more;
    return h.more ? [] : this.completeHello(h);
  }

  private completeHello(h: Hello): Iterable<Uint8Array> {
    const out = this.pending;
    const known = this.source.cursor(h.replica);
    const root = this.source.tree.node([]);
    this.helloSeq = this.source.seq();
    // R-HOLD-2: the initiator says how far it has merged our log.
    if (h.cursor !== null && h.cursor.replica === this.source.replicaId) this.prove(h.cursor.seq);
    const peer = { replica: this.source.replicaId, seq: this.source.seq(), cursor: known ?? null, count: root.count, status: root.digest.subarray(0, STATUS_BYTES) };
    if (h.mode === 'whole') {
      // R-WHOLE-2: answer with everything, then stop.
      this.stats.used = 'whole';
      this.sendAll(out, []);
    } else if (this.same(this.source.tree.node([]), h.root, ROOT_DIGEST_BYTES)) {
      this.stats.used = 'equal'; // R-ROOT-1: equal roots end the session in one round trip.
      this.prove(this.helloSeq); // R-HOLD-1: the initiator holds all we hold now.
    } else if (h.mode !== 'merkle' && this.recentViable(h, known)) {
      // R-REC-1: both change logs since the last meeting are short; send ours directly.
      this.stats.used = 'recent';
      out.recent = true;
      this.addRecords(out, this.changedRecords(h.cursor!.seq));
    } else {
      this.stats.used = 'merkle';
      this.compareNode([], h.root, ROOT_DIGEST_BYTES, out);
    }
    out.peer = { ...peer, mode: this.stats.used };
    return this.reply();
  }

  private recentViable(h: Hello, known: number | undefined): boolean {
    if (h.cursor === null || h.cursor.replica !== this.source.replicaId || h.cursor.seq > this.source.seq()) return false;
    if (known === undefined || known > h.seq || h.seq - known > this.recentMax) return false;
    return this.source.changesSince(h.cursor.seq, this.recentMax + 1).length <= this.recentMax;
  }

  private onStep(step: Step): Iterable<Uint8Array> {
    if (this.helloOpen) {
      if (step.fin || step.peer || step.recent || step.rootCheck || step.total || step.nodes.length + step.lists.length + step.wants.length + step.wantAll.length + step.summaries.length > 0) {
        return this.fail(new ProtocolError('E_PROTOCOL_STATE', 'a hello continuation may carry only records'), encodeFault('malformed', 'bad hello continuation'));
      }
      this.take(step.records, !step.more);
      this.helloOpen = step.more;
      return step.more ? [] : this.completeHello(this.helloFromPeer!);
    }
    const out = this.pending;
    if (step.peer) {
      if (this.stats.role !== 'initiator' || this.peer !== null) {
        return this.fail(new ProtocolError('E_PROTOCOL_STATE', 'unexpected peer info'), encodeFault('malformed', 'unexpected peer info'));
      }
      this.peer = step.peer;
      this.stats.peerReplica = step.peer.replica;
      this.stats.peerRoot = { count: step.peer.count, digest: hex(step.peer.status) };
      this.stats.used = step.peer.mode;
      // R-HOLD-1: its root equalled ours as it was at our hello; R-HOLD-2: its cursor into our log.
      if (step.peer.mode === 'equal') this.prove(this.helloSeq);
      if (step.peer.cursor !== null) this.prove(step.peer.cursor);
    } else if (this.stats.role === 'initiator' && this.peer === null) {
      return this.fail(new ProtocolError('E_PROTOCOL_STATE', 'first reply lacks peer info'), encodeFault('malformed', 'first reply lacks peer info'));
    }
    // R-ERR-2 before anything is merged: a RECENT request the initiator cannot answer is out of turn.
    if (step.recent && (this.stats.role !== 'initiator' || this.peer?.cursor == null)) {
      return this.fail(new ProtocolError('E_PROTOCOL_STATE', 'recent request without a cursor'), encodeFault('malformed', 'recent request without a cursor'));
    }
    const progressFault = this.track(step);
    if (progressFault) return this.fail(progressFault, encodeFault('malformed', progressFault.message));
    const bytesBefore = this.stats.recordBytesReceived;
    const received = this.take(step.records, !step.more);
    if (this.incoming) {
      this.incoming.bytesDone += this.stats.recordBytesReceived - bytesBefore;
      this.incoming.complete = !step.more;
      const p = this.incoming;
      if (p.bytesDone > p.bytesTotal || (p.complete && (p.recordsDone !== p.recordsTotal || p.bytesDone !== p.bytesTotal))) {
        const err = new ProtocolError('E_FRAME_MALFORMED', `peer's message carried ${p.recordsDone} records (${p.bytesDone} B) so far, not the ${p.recordsTotal} (${p.bytesTotal} B) it announced`);
        return this.fail(err, encodeFault('malformed', err.message));
      }
    }
    // Repeated or nested wants are answered once: a peer cannot multiply our work or our reply.
    const wanted = new Map<string, { path: Path; ids: Set<number> }>();
    for (const want of step.wants) {
      const k = want.path.join('.');
      const w = wanted.get(k) ?? { path: want.path, ids: new Set<number>() };
      for (const id of want.ids) w.ids.add(id);
      wanted.set(k, w);
    }
    for (const w of wanted.values()) {
      for (const e of this.entriesUnder(w.path)) if (w.ids.has(e.id)) this.sendKey(e.key, out);
    }
    const served: Path[] = [];
    for (const path of step.wantAll) {
      if (served.some((p) => p.length <= path.length && p.every((n, i) => path[i] === n))) continue;
      served.push(path);
      this.sendAll(out, path);
    }
    for (const s of step.summaries) this.compareSummary(s, out);
    if (this.stats.used === 'recent' && step.nodes.length + step.lists.length > 0) this.stats.used = 'recent+merkle';
    for (const n of step.nodes) this.compareExpansion(n, out);
    for (const l of step.lists) this.compareList(l, out);
    if (step.recent) {
      // R-REC-2: the initiator answers with its own changes and its root after merging.
      for (const r of this.changedRecords(this.peer!.cursor!)) {
        if (!statesEqual(received.get(r.key), r.state)) this.addRecords(out, [r]);
      }
      out.rootCheck = this.summarize(this.source.tree.node([]), ROOT_DIGEST_BYTES);
    }
    if (step.rootCheck) {
      // R-REC-3: after a recent exchange the roots must agree; if not, descend as merkle.
      if (!this.same(this.source.tree.node([]), step.rootCheck, ROOT_DIGEST_BYTES)) {
        this.stats.used = 'recent+merkle';
        this.compareNode([], step.rootCheck, ROOT_DIGEST_BYTES, out);
      } else {
        this.prove(this.source.seq()); // R-HOLD-3: after merging, the initiator's root is ours.
      }
    }
    if (step.more) return [];
    if (step.fin) {
      // R-FIN-1: nothing answers a closing message.
      this.finish();
      return [];
    }
    return this.reply();
  }

  /**
   * R-PROG-1/2: a message's first frame may announce its total; later frames count against it.
   * Returns the fault when the peer breaks the rule, before anything of the frame is merged.
   */
  private track(step: Step): ProtocolError | null {
    const first = !this.midMessage;
    this.midMessage = step.more;
    if (step.total !== null && !first) return new ProtocolError('E_PROTOCOL_STATE', 'a message total on a frame that continues a message');
    if (first) {
      this.incoming = step.total === null ? null : { recordsDone: 0, recordsTotal: step.total.records, bytesDone: 0, bytesTotal: step.total.bytes, complete: false };
    }
    if (this.incoming === null) return null;
    this.incoming.recordsDone += step.records.length;
    if (this.incoming.recordsDone > this.incoming.recordsTotal) {
      return new ProtocolError('E_FRAME_MALFORMED', `peer sent more records (${this.incoming.recordsDone}) than its message announced (${this.incoming.recordsTotal})`);
    }
    return null;
  }

  private reply(): Iterable<Uint8Array> {
    const out = this.pending;
    this.pending = newOut();
    const fin = out.nodes.length + out.lists.length + out.wants.size + out.wantAll.length + out.summaries.length === 0 && !out.recent && out.rootCheck === null;
    if (fin) this.finish();
    else if (this.stats.role === 'initiator') this.stats.roundTrips++;
    const step = {
      fin, peer: out.peer, recent: out.recent, rootCheck: out.rootCheck, nodes: out.nodes,
      lists: out.lists, wants: [...out.wants.values()], wantAll: out.wantAll, summaries: out.summaries,
    };
    // Everything covers any record also picked one by one: they were all read from the same store.
    if (out.everything) return this.streamed(step);
    // In key order: a note's fields travel together, so a receiver merging a long message in
    // chunks indexes each note once (a note split over two chunks is indexed twice).
    const records = [...out.records.values()].sort(byKey);
    let recordBytes = 0;
    for (const r of records) recordBytes += encodedSize(r);
    this.stats.recordsSent += records.length;
    this.stats.recordBytesSent += recordBytes;
    return this.counted(stepFrames({ ...step, records }, this.width, { records: records.length, bytes: recordBytes }, this.version));
  }

  /**
   * A reply carrying every record: a snapshot of the store, opened when the first frame is taken
   * (the same tick as the reply, before anything else can write) and read as frames are taken, so
   * the first frame leaves at once and the replica never holds the whole vault in memory.
   */
  private *streamed(step: Omit<Parameters<typeof stepFrames>[0], 'records'>): Generator<Uint8Array, void, undefined> {
    const snap = this.source.snapshot();
    try {
      this.stats.recordsSent += snap.count;
      this.stats.recordBytesSent += snap.bytes;
      yield* this.counted(stepFrames({ ...step, records: snap.records() }, this.width, { records: snap.count, bytes: snap.bytes }, this.version));
    } finally {
      snap.close();
    }
  }

  private *counted(frames: Iterable<Uint8Array>): Generator<Uint8Array, void, undefined> {
    for (const f of frames) {
      this.countSent([f]);
      yield f;
    }
  }

  // ---- comparisons ---------------------------------------------------------------------------

  /** R-NODE-1..4: what to do with one node the peer summarized. */
  private compareNode(path: Path, theirs: Summary, width: number, out: Out): void {
    const mine = this.source.tree.node(path);
    if (this.same(mine, theirs, width)) return;
    if (path.length > 0) this.top.add(path[0]);
    if (theirs.count === 0) this.sendAll(out, path);
    else if (mine.count === 0) out.wantAll.push(path);
    else if (mine.count <= this.listMax || path.length >= MAX_PATH_DEPTH) out.lists.push(this.listing(path));
    else out.nodes.push({ path, children: this.source.tree.children(path).map((c) => this.summarize(c, this.width)) });
  }

  private compareExpansion(n: Expansion, out: Out): void {
    if (n.path.length > 0) this.top.add(n.path[0]);
    n.children.forEach((child, i) => this.compareNode([...n.path, i], child, this.width, out));
  }

  /** R-LIST-1..3: certain records go now; common keys with other versions get a summary. */
  private compareList(l: Listing, out: Out): void {
    if (l.path.length > 0) this.top.add(l.path[0]);
    const theirs = new Map<number, Set<string>>();
    for (const e of l.entries) {
      const set = theirs.get(e.id) ?? new Set<string>();
      set.add(hex(e.digest));
      theirs.set(e.id, set);
    }
    const mineIds = new Set<number>();
    const matched = new Set<string>();
    for (const e of this.entriesUnder(l.path)) {
      mineIds.add(e.id);
      const digests = theirs.get(e.id);
      const d = hex(e.digest);
      if (digests === undefined) this.sendKey(e.key, out);
      else if (digests.has(d)) matched.add(`${e.id}:${d}`);
      else out.summaries.push(this.versionSummary(l.path, e.id, e.key));
    }
    for (const e of l.entries) {
      if (!mineIds.has(e.id) && !matched.has(`${e.id}:${hex(e.digest)}`)) addWant(out, l.path, e.id);
    }
  }

  /** R-SUM-1: decide from the peer's causal summary who lacks which versions of a common key. */
  private compareSummary(s: VersionSummary, out: Out): void {
    const mine = this.entriesUnder(s.path).filter((e) => e.id === s.id);
    if (mine.length === 0) addWant(out, s.path, s.id);
    for (const e of mine) {
      const state = this.source.get(e.key);
      if (state === undefined) continue;
      const theyLack = state.versions.some((v) => (s.context[v.device] ?? 0) < v.counter);
      const iLack = s.dots.some((d) => (state.context[d.device] ?? 0) < d.counter);
      // Neither lacking anything yet differing means inconsistent histories: exchanging both
      // states lets merge() settle them identically on both sides.
      if (theyLack || !iLack) this.sendKey(e.key, out);
      if (iLack || !theyLack) addWant(out, s.path, s.id);
    }
  }

  private versionSummary(path: Path, id: number, key: string): VersionSummary {
    const state = this.source.get(key)!;
    return { path, id, context: state.context, dots: state.versions.map((v) => ({ device: v.device, counter: v.counter })) };
  }

  private listing(path: Path): Listing {
    return { path, entries: this.entriesUnder(path).map((e) => ({ id: e.id, digest: e.digest })) };
  }

  private entriesUnder(path: Path): { key: string; id: number; digest: Uint8Array }[] {
    return this.source.tree.keysUnder(path).map((e) => ({
      key: e.key,
      id: keyId(this.salt, e.keyHash, this.version),
      digest: salted(this.salt, e.leaf, this.width),
    }));
  }

  // ---- helpers -------------------------------------------------------------------------------

  private summarize(node: { count: number; digest: Uint8Array }, width: number): Summary {
    return { count: node.count, digest: node.count === 0 ? new Uint8Array(0) : salted(this.salt, node.digest, width) };
  }

  private same(mine: { count: number; digest: Uint8Array }, theirs: Summary, width: number): boolean {
    if (mine.count !== theirs.count) return false;
    return mine.count === 0 || hex(salted(this.salt, mine.digest, width)) === hex(theirs.digest);
  }

  /** Every record under `path`; for the whole tree, a snapshot of the store streamed with the reply. */
  private sendAll(out: Out, path: Path): void {
    if (path.length === 0) out.everything = true;
    else this.addRecords(out, this.recordsUnder(path));
  }

  private recordsUnder(path: Path): KeyRecord[] {
    const out: KeyRecord[] = [];
    for (const e of this.source.tree.keysUnder(path)) {
      const state = this.source.get(e.key);
      if (state !== undefined) out.push({ key: e.key, state });
    }
    return out;
  }

  private sendKey(key: string, out: Out): void {
    if (out.records.has(key)) return;
    const state = this.source.get(key);
    if (state !== undefined) out.records.set(key, { key, state });
  }

  private addRecords(out: Out, records: readonly KeyRecord[]): void {
    for (const r of records) if (!out.records.has(r.key)) out.records.set(r.key, r);
  }

  private changedRecords(after: number): KeyRecord[] {
    const out: KeyRecord[] = [];
    for (const c of this.source.changesSince(after, Number.MAX_SAFE_INTEGER)) {
      const state = this.source.get(c.key);
      if (state !== undefined) out.push({ key: c.key, state });
    }
    return out;
  }

  /**
   * Records of a message are merged together when its last frame arrives (in chunks once more
   * than inboxLimit bytes wait), so one commit covers many frames and a note whose fields travel
   * in different frames is indexed once, not once per field. A chunk merged before a later bad
   * frame stays merged (R-ERR-1): each record is a valid state, so merging it is safe, and holding
   * a whole transfer to undo it would make memory grow with the vault. Returns the records of
   * the message so far, for R-REC-2, while it has at most RECENT_ECHO_RECORDS; past that, none (a
   * RECENT message that long then gets its records echoed back: more bytes, never a wrong state).
   */
  private take(records: readonly KeyRecord[], last: boolean): Map<string, KeyState> {
    this.stats.recordsReceived += records.length;
    this.messageRecords += records.length;
    const keep = this.messageRecords <= RECENT_ECHO_RECORDS;
    if (!keep && this.message.size > 0) this.message = new Map();
    for (const r of records) {
      const size = encodedSize(r);
      this.stats.recordBytesReceived += size;
      this.inboxBytes += size;
      this.inbox.push(r);
      if (keep) this.message.set(r.key, r.state);
    }
    if (last || this.inboxBytes > this.inboxLimit) {
      const batch = this.inbox;
      this.inbox = [];
      this.inboxBytes = 0;
      if (batch.length > 0) this.source.apply(batch);
    }
    const message = this.message;
    if (last) {
      this.message = new Map();
      this.messageRecords = 0;
    }
    return message;
  }

  private countSent(frames: Uint8Array[]): void {
    this.stats.framesSent += frames.length;
    for (const f of frames) this.stats.bytesSent += f.length;
  }

  private finish(): void {
    this.statusValue = 'done';
    this.stats.differingTop = [...this.top].sort((a, b) => a - b);
  }

  private fail(err: EngineError, fault: Uint8Array | null): Uint8Array[] {
    this.statusValue = 'failed';
    this.errorValue = err;
    this.stats.differingTop = [...this.top].sort((a, b) => a - b);
    if (fault === null) return [];
    this.countSent([fault]);
    return [fault];
  }
}

interface Out {
  peer: PeerInfo | null;
  recent: boolean;
  rootCheck: Summary | null;
  /** By key, so a record is sent at most once per message whatever asked for it. */
  records: Map<string, KeyRecord>;
  /** Every record this replica holds goes with the message (the peer holds nothing there). */
  everything: boolean;
  nodes: Expansion[];
  lists: Listing[];
  wants: Map<string, { path: Path; ids: number[] }>;
  wantAll: Path[];
  summaries: VersionSummary[];
}

function newOut(): Out {
  return { peer: null, recent: false, rootCheck: null, records: new Map(), everything: false, nodes: [], lists: [], wants: new Map(), wantAll: [], summaries: [] };
}

/** A store's every record, read in full (a whole-mode hello carries them all at once). */
function everything(source: SyncSource): WireRecord[] {
  const snap = source.snapshot();
  try {
    return [...snap.records()];
  } finally {
    snap.close();
  }
}

function byKey(a: KeyRecord, b: KeyRecord): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function addWant(out: Out, path: Path, id: number): void {
  const k = path.join('.');
  const w = out.wants.get(k) ?? { path, ids: [] };
  if (!w.ids.includes(id)) w.ids.push(id);
  out.wants.set(k, w);
}

function salted(salt: Uint8Array, data: Uint8Array, width: number): Uint8Array {
  return sha256Prefix(Buffer.concat([salt, data]), width);
}

function keyId(salt: Uint8Array, keyHash: Uint8Array, version: number): number {
  const digest = sha256Prefix(Buffer.concat([salt, ID_DOMAIN, keyHash]), keyIdBytes(version));
  let id = 0;
  for (const b of digest) id = id * 256 + b;
  return id;
}

const ID_DOMAIN = Buffer.from([0x6b]);

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

