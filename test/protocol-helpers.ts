// Helpers for test/protocol.test.ts: deterministic replicas, an in-memory session driver that
// records every frame, and the spec's salted digests recomputed from PROTOCOL.md (not taken from
// the session), so assertions compare the engine against the document, not against itself.

import { createHash } from 'node:crypto';
import { AntiEntropySession, DEFAULTS, type SessionOptions } from '../engine/core/anti-entropy.ts';
import { ByteWriter } from '../engine/core/bytes.ts';
import { encodeRecord, type KeyRecord } from '../engine/core/codec.ts';
import { decodeFrame, keyIdBytes, PROTOCOL_VERSION, type Expansion, type Frame, type Hello, type Listing, type PeerInfo, type Summary, type VersionSummary, type Want } from '../engine/core/protocol.ts';
import type { Path } from '../engine/core/merkle.ts';
import { Replica } from '../engine/replica.ts';
import { MemoryStore } from '../engine/store/memory.ts';

export const A = 'aaaaaaaaaaaaaaaa';
export const B = 'bbbbbbbbbbbbbbbb';
export const C = 'cccccccccccccccc';
export const SALT = Uint8Array.from([3, 1, 4, 1, 5, 9, 2, 6]);
export const ALL = Number.MAX_SAFE_INTEGER;
/** A fixed wall clock: every run of a scenario produces byte-identical frames. */
export const NOW = 1_700_000_000_000;

export type Role = 'initiator' | 'responder';

export function replica(id: string): Replica {
  return Replica.open(new MemoryStore(id), { now: () => NOW });
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

// ---- the spec's hashes, recomputed ------------------------------------------------------------

export function sha256(...parts: (Uint8Array | number[])[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p instanceof Uint8Array ? p : Uint8Array.from(p));
  return h.digest();
}

/** The 32 nibbles of sha256(key)[0..16]: where the key sits in the tree. */
export function pathOf(key: string): number[] {
  const h = sha256(Buffer.from(key, 'utf8')).subarray(0, 16);
  const out: number[] = [];
  for (const b of h) out.push(b >> 4, b & 15);
  return out;
}

export function isPrefix(prefix: Path, path: Path): boolean {
  return prefix.length <= path.length && prefix.every((n, i) => path[i] === n);
}

/** sha256(salt || data)[0..w]: a salted node or version digest. */
export function salted(salt: Uint8Array, data: Uint8Array, w: number): Buffer {
  return sha256(salt, data).subarray(0, w);
}

/** The first keyIdBytes(version) bytes (big-endian) of sha256(salt || 0x6b || key hash). */
export function keyIdOf(salt: Uint8Array, key: string, version = PROTOCOL_VERSION): number {
  return sha256(salt, [0x6b], sha256(Buffer.from(key, 'utf8')).subarray(0, 16)).readUIntBE(0, keyIdBytes(version));
}

export function leafOf(rec: KeyRecord): Buffer {
  return sha256(encodeRecord(rec)).subarray(0, 16);
}

/** Every record a replica holds, sorted by key, read through the store (not the tree). */
export function recordsOf(r: Replica): KeyRecord[] {
  return r.storage.changesSince(0, ALL)
    .map((c) => ({ key: c.key, state: r.get(c.key)! }))
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

/** A node as the spec defines it: how many keys under the path, XOR of their leaves. */
export function nodeOf(r: Replica, path: Path): { count: number; digest: Uint8Array } {
  const digest = new Uint8Array(16);
  let count = 0;
  for (const rec of recordsOf(r)) {
    if (!isPrefix(path, pathOf(rec.key))) continue;
    count++;
    const leaf = leafOf(rec);
    for (let i = 0; i < 16; i++) digest[i] ^= leaf[i];
  }
  return { count, digest };
}

export function summaryOf(r: Replica, path: Path, salt: Uint8Array, w: number): { count: number; digest: string } {
  const n = nodeOf(r, path);
  return { count: n.count, digest: n.count === 0 ? '' : hex(salted(salt, n.digest, w)) };
}

export function wireSummary(s: Summary): { count: number; digest: string } {
  return { count: s.count, digest: hex(s.digest) };
}

// ---- replica contents -------------------------------------------------------------------------

/** Everything a bad frame must leave untouched: the log position, the tree and every state. */
export interface Snapshot {
  seq: number;
  count: number;
  root: string;
  states: string;
}

export function snapshot(r: Replica): Snapshot {
  return { seq: r.seq(), count: r.tree.size, root: hex(r.tree.node([]).digest), states: JSON.stringify(recordsOf(r)) };
}

export function seed(r: Replica, keys: readonly string[], value: (k: string) => string = (k) => `v:${k}`): void {
  if (keys.length > 0) r.write(keys.map((key) => ({ key, value: value(key) })));
}

/** Gives `to` every record `from` holds (or the named ones), as gossip would. */
export function copy(from: Replica, to: Replica, keys?: readonly string[]): void {
  const recs = recordsOf(from).filter((r) => keys === undefined || keys.includes(r.key));
  if (recs.length > 0) to.apply(recs, 'gossip');
}

export function range(prefix: string, n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i + from}`);
}

/** n keys named `${tag}${i}` whose tree path starts with `prefix` (or, with `not`, does not). */
export function keysUnder(prefix: Path, n: number, tag: string, not = false): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const key = `${tag}${i}`;
    if (isPrefix(prefix, pathOf(key)) !== not) out.push(key);
  }
  return out;
}

// ---- the driver -------------------------------------------------------------------------------

export interface Sent {
  readonly index: number;
  readonly from: Role;
  readonly bytes: Uint8Array;
  /** The sender replica's seq when it produced the frame. */
  readonly senderSeq: number;
}

export interface Delivery {
  readonly index: number;
  readonly to: Role;
  readonly bytes: Uint8Array;
  readonly replies: Uint8Array[];
}

export interface RunOptions extends Partial<SessionOptions> {
  readonly maxMessages?: number;
  /** Replaces (or with null drops) the frame with this delivery index. */
  readonly tamper?: (index: number, bytes: Uint8Array, to: Role, receiver: AntiEntropySession) => Uint8Array | null;
  /** Stop right after delivering this index. */
  readonly stopAfter?: number;
  /** Saves cursors when both sides end well, as syncPair does. */
  readonly saveCursors?: boolean;
}

export interface Run {
  readonly a: Replica;
  readonly b: Replica;
  readonly init: AntiEntropySession;
  readonly resp: AntiEntropySession;
  readonly ok: boolean;
  readonly sent: Sent[];
  readonly deliveries: Delivery[];
  readonly width: number;
}

/**
 * One session in memory, message by message like engine/sync-pair.ts, recording every frame.
 * Frame indexes count frames in the order they are sent, so a deterministic scenario's frame n
 * is the same frame in every run.
 */
export function run(a: Replica, b: Replica, opts: RunOptions = {}): Run {
  const { session: init, frames } = AntiEntropySession.initiate(a, { salt: SALT, peerReplica: b.replicaId, ...opts });
  const resp = AntiEntropySession.respond(b, { listMax: opts.listMax, recentMax: opts.recentMax, inboxBytes: opts.inboxBytes });
  const sent: Sent[] = [];
  const deliveries: Delivery[] = [];
  const send = (from: Role, fs: Uint8Array[], seq: number): Uint8Array[] => {
    for (const bytes of fs) sent.push({ index: sent.length, from, bytes, senderSeq: seq });
    return fs;
  };
  let queue = send('initiator', frames, a.seq());
  let to: Role = 'responder';
  let stopped = false;
  for (let m = 0; m < (opts.maxMessages ?? 400) && queue.length > 0 && !stopped; m++) {
    const base = sent.length - queue.length;
    const receiver = to === 'responder' ? resp : init;
    const replica = to === 'responder' ? b : a;
    const replies: Uint8Array[] = [];
    for (let i = 0; i < queue.length; i++) {
      const index = base + i;
      const bytes = opts.tamper ? opts.tamper(index, queue[i], to, receiver) : queue[i];
      if (bytes !== null && receiver.status === 'open') {
        const out = receiver.receive(bytes);
        deliveries.push({ index, to, bytes, replies: out });
        replies.push(...out);
      }
      if (index === opts.stopAfter) {
        stopped = true;
        break;
      }
    }
    // Replies are indexed after the whole message they answer, as in syncPair.
    queue = send(to, replies, replica.seq());
    to = to === 'responder' ? 'initiator' : 'responder';
  }
  const ok = init.status === 'done' && resp.status === 'done';
  if (ok && opts.saveCursors !== false) {
    if (init.cursor) a.saveCursor(init.cursor.replica, init.cursor.seq);
    if (resp.cursor) b.saveCursor(resp.cursor.replica, resp.cursor.seq);
  }
  return { a, b, init, resp, ok, sent, deliveries, width: opts.width ?? DEFAULTS.width };
}

/** Decodes a recorded frame: the first initiator frame is the hello, the rest are steps. */
export function decodeSent(s: Sent, width: number): Frame {
  return decodeFrame(s.bytes, s.index === 0 ? null : width);
}

/** A message: consecutive frames of one side up to the first without MORE, sections merged. */
export interface Message {
  readonly from: Role;
  readonly frames: Frame[];
  readonly bytes: number;
  readonly hello: Hello | null;
  readonly peer: PeerInfo | null;
  readonly fin: boolean;
  readonly recent: boolean;
  readonly rootCheck: Summary | null;
  readonly records: KeyRecord[];
  readonly nodes: Expansion[];
  readonly lists: Listing[];
  readonly wants: Want[];
  readonly wantAll: Path[];
  readonly summaries: VersionSummary[];
}

export function messages(r: Pick<Run, 'sent' | 'width'>): Message[] {
  const out: Message[] = [];
  let group: { from: Role; frames: Frame[]; bytes: number } | null = null;
  for (const s of r.sent) {
    const f = decodeSent(s, r.width);
    if (group === null || group.from !== s.from) group = { from: s.from, frames: [], bytes: 0 };
    group.frames.push(f);
    group.bytes += s.bytes.length;
    const more = f.type === 'error' ? false : f.more;
    if (!more) {
      out.push(merged(group.from, group.frames, group.bytes));
      group = null;
    }
  }
  if (group !== null) out.push(merged(group.from, group.frames, group.bytes));
  return out;
}

function merged(from: Role, frames: Frame[], bytes: number): Message {
  const m = {
    from, frames, bytes, hello: null as Hello | null, peer: null as PeerInfo | null, fin: false, recent: false, rootCheck: null as Summary | null,
    records: [] as KeyRecord[], nodes: [] as Expansion[], lists: [] as Listing[], wants: [] as Want[], wantAll: [] as Path[], summaries: [] as VersionSummary[],
  };
  for (const f of frames) {
    if (f.type === 'error') continue;
    if (f.type === 'hello') {
      m.hello = f;
      m.records.push(...f.records);
      continue;
    }
    m.peer ??= f.peer;
    m.fin = f.fin;
    m.recent ||= f.recent;
    m.rootCheck ??= f.rootCheck;
    m.records.push(...f.records);
    m.nodes.push(...f.nodes);
    m.lists.push(...f.lists);
    m.wants.push(...f.wants);
    m.wantAll.push(...f.wantAll);
    m.summaries.push(...f.summaries);
  }
  return m;
}

export function keysOf(records: readonly KeyRecord[]): string[] {
  return records.map((r) => r.key).sort();
}

/** Whether a message asks anything of the peer (R-FIN-1). */
export function asks(m: Message): boolean {
  return m.nodes.length + m.lists.length + m.wants.length + m.wantAll.length + m.summaries.length > 0 || m.recent || m.rootCheck !== null;
}

// ---- scenarios for bad-frame injection ----------------------------------------------------------

export interface Scenario {
  readonly name: string;
  /** Fresh replicas in the same state every time. */
  setup(): { a: Replica; b: Replica };
  readonly opts: RunOptions;
}

/** A merkle session with every section: expansions, lists, wants, summaries and want-alls. */
export const MERKLE: Scenario = {
  name: 'merkle',
  setup() {
    const a = replica(A);
    const b = replica(B);
    // Nothing under nibble 7 is shared, so b's keys there make a want-all; the rest of the
    // differences are one key each: a-only, b-only, newer on one side, concurrent on both.
    const shared = keysUnder([7], 40, 'shared-', true);
    seed(a, shared);
    copy(a, b);
    seed(a, ['a-only-1', 'a-only-2']);
    seed(b, ['b-only-1', 'b-only-2']);
    seed(b, keysUnder([7], 3, 'seven-'));
    seed(a, [shared[0]], () => 'rewritten on a');
    seed(a, [shared[1]], () => 'concurrent a');
    seed(b, [shared[1]], () => 'concurrent b');
    return { a, b };
  },
  opts: { mode: 'merkle' },
};

/** A recent session: both sides changed a few keys since a first, completed session. */
export const RECENT: Scenario = {
  name: 'recent',
  setup() {
    const a = replica(A);
    const b = replica(B);
    seed(a, range('k', 30));
    copy(a, b);
    run(a, b);
    seed(a, ['ra1', 'ra2', 'k1']);
    seed(b, ['rb1', 'k2']);
    return { a, b };
  },
  opts: { mode: 'auto' },
};

/** A whole session, records in the hello and in the reply. */
export const WHOLE: Scenario = {
  name: 'whole',
  setup() {
    const a = replica(A);
    const b = replica(B);
    seed(a, range('wa', 4));
    seed(b, range('wb', 3));
    return { a, b };
  },
  opts: { mode: 'whole' },
};

export const SCENARIOS: readonly Scenario[] = [MERKLE, RECENT, WHOLE];

export interface Injection {
  readonly receiver: AntiEntropySession;
  readonly replica: Replica;
  readonly before: Snapshot;
  readonly after: Snapshot;
  readonly replies: Uint8Array[];
  /** What receive() threw, if it threw at all. */
  readonly thrown: unknown;
  /** Width the receiver decodes this frame with (null for a responder awaiting its hello). */
  readonly width: number | null;
}

/**
 * Replays `scenario` with fresh replicas up to delivery `index`, then hands the receiver `bad`
 * instead of the recorded frame. Frames before it are checked to be the recorded ones, so the
 * receiver is in exactly the state the good run had at that point.
 */
export function inject(scenario: Scenario, recorded: readonly Sent[], index: number, bad: Uint8Array): Injection {
  const { a, b } = scenario.setup();
  let result: Injection | null = null;
  const width = scenario.opts.width ?? DEFAULTS.width;
  run(a, b, {
    ...scenario.opts,
    saveCursors: false,
    stopAfter: index,
    tamper: (i, bytes, to, receiver) => {
      if (i !== index) {
        if (!Buffer.from(bytes).equals(Buffer.from(recorded[i].bytes))) throw new Error(`replay of ${scenario.name} diverged at frame ${i}`);
        return bytes;
      }
      const rep = to === 'responder' ? b : a;
      const before = snapshot(rep);
      let replies: Uint8Array[] = [];
      let thrown: unknown = undefined;
      try {
        replies = receiver.receive(bad);
      } catch (e) {
        thrown = e;
      }
      result = { receiver, replica: rep, before, after: snapshot(rep), replies, thrown, width: to === 'responder' && i === 0 ? null : width };
      return null; // delivered by hand above
    },
  });
  if (result === null) throw new Error(`frame ${index} of ${scenario.name} was never delivered`);
  return result;
}

// ---- hand-built frames ------------------------------------------------------------------------

export function bytesOf(fn: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter(64);
  fn(w);
  return w.finish();
}

/** n empty sections (a zero count each): of records, nodes, lists, wants, wantAll, summaries. */
export function zeros(w: ByteWriter, n: number): void {
  for (let i = 0; i < n; i++) w.varint(0);
}

export function writePath(w: ByteWriter, path: Path): void {
  w.u8(path.length);
  for (let i = 0; i < path.length; i += 2) w.u8((path[i] << 4) | (path[i + 1] ?? 0));
}
