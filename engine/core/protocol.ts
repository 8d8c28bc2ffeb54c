// Binary frames of the anti-entropy protocol (rules in engine/PROTOCOL.md). A message is one or
// more frames; every frame but the last carries MORE. Decoding checks every length and count
// against explicit limits before allocating, and a frame either decodes whole or throws a
// ProtocolError, so nothing from a bad frame is ever acted on.

import { constants as zc, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { ByteReader, ByteWriter, fromHex, toHex } from './bytes.ts';
import { readRecord, writeRecord, type KeyRecord, type WireRecord } from './codec.ts';
import { ProtocolError } from './errors.ts';
import { DEVICE_ID_BYTES, MAX_CONTEXT_DEVICES, MAX_VERSIONS } from './limits.ts';
import { FANOUT, MAX_PATH_DEPTH, type Path } from './merkle.ts';

/** The version this app opens sessions in. */
export const PROTOCOL_VERSION = 2;
/** Versions this app answers (R-VER-1), newest first. 2 differs from 1 in key ids (keyIdBytes) and compressed frames. */
export const SUPPORTED_VERSIONS: readonly number[] = [2, 1];

/** Bytes of a salted key id in LIST, WANT and SUMMARY sections. */
export function keyIdBytes(version: number): number {
  return version === 1 ? 4 : 3;
}
/** P-LIM-1: no frame is larger than this; the transport refuses bigger length prefixes. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** P-LIM-2: records + node children + list entries + wanted ids + summaries in one frame. */
export const MAX_ENTRIES_PER_FRAME = 100_000;
/** Encoders start a new frame past this size so frames stay well under the limit. */
const FRAME_TARGET_BYTES = 1024 * 1024;
export const SALT_BYTES = 8;
export const ROOT_DIGEST_BYTES = 8;
/** Unsalted root prefix exchanged for display only; never used to decide anything. */
export const STATUS_BYTES = 8;
export const MIN_DIGEST_BYTES = 2;
export const MAX_DIGEST_BYTES = 16;

export type Mode = 'whole' | 'merkle' | 'recent' | 'auto';
const MODES: readonly Mode[] = ['whole', 'merkle', 'recent', 'auto'];

const T_HELLO = 1;
const T_STEP = 2;
const T_ERROR = 3;

const F_MORE = 1;
const F_FIN = 2;
const F_PEER = 4;
const F_RECENT = 8;
const F_ROOT_CHECK = 16;
const F_TOTAL = 32;
/** Version 2: the frame's body (everything after its 3 header bytes) is a Zstandard frame (RFC 8878). */
const F_COMPRESSED = 64;
/** Bodies under this size are sent as they are: compressing them saves little of a round trip. */
const COMPRESS_MIN_BYTES = 16 * 1024;

export interface Summary {
  readonly count: number;
  /** Salted, truncated digest; empty when count is 0. */
  readonly digest: Uint8Array;
}

export interface Cursor {
  readonly replica: string;
  readonly seq: number;
}

export interface Hello {
  readonly type: 'hello';
  /** The session's protocol version: every later frame of the session carries it. */
  readonly version: number;
  readonly mode: Mode;
  readonly salt: Uint8Array;
  readonly width: number;
  readonly replica: string;
  readonly seq: number;
  /** What the initiator has merged of the responder's change log, if it knows. */
  readonly cursor: Cursor | null;
  readonly root: Summary;
  /** First 8 bytes of the initiator's unsalted root digest: shown in the peer's debug panel. */
  readonly status: Uint8Array;
  readonly more: boolean;
  readonly records: readonly KeyRecord[];
}

/** How the responder chose to reconcile (R-HELLO-2). */
export type ReplyMode = 'equal' | 'whole' | 'merkle' | 'recent';
const REPLY_MODES: readonly ReplyMode[] = ['equal', 'whole', 'merkle', 'recent'];

export interface PeerInfo {
  readonly mode: ReplyMode;
  readonly replica: string;
  readonly seq: number;
  /** What the responder has merged of the initiator's change log, if anything. */
  readonly cursor: number | null;
  /** The responder's key count and the first 8 bytes of its unsalted root, for the debug panel. */
  readonly count: number;
  readonly status: Uint8Array;
}

export interface Expansion {
  readonly path: Path;
  readonly children: readonly Summary[];
}

export interface Listing {
  readonly path: Path;
  readonly entries: readonly { readonly id: number; readonly digest: Uint8Array }[];
}

export interface Want {
  readonly path: Path;
  readonly ids: readonly number[];
}

export interface MessageTotal {
  readonly records: number;
  /** Sum of the records' canonical encodings (codec.encodeRecord), in bytes. */
  readonly bytes: number;
}

export interface VersionSummary {
  readonly path: Path;
  readonly id: number;
  readonly context: Readonly<Record<string, number>>;
  readonly dots: readonly { readonly device: string; readonly counter: number }[];
}

export interface Step {
  readonly type: 'step';
  readonly more: boolean;
  readonly fin: boolean;
  readonly peer: PeerInfo | null;
  /** Asks the initiator for its changes since `peer.cursor` and its root after merging. */
  readonly recent: boolean;
  readonly rootCheck: Summary | null;
  /**
   * On the first frame of a message that spans several: how many records the whole message
   * carries and their encoded size (R-PROG-1), so the receiver can show progress.
   */
  readonly total: MessageTotal | null;
  readonly records: readonly KeyRecord[];
  readonly nodes: readonly Expansion[];
  readonly lists: readonly Listing[];
  readonly wants: readonly Want[];
  readonly wantAll: readonly Path[];
  readonly summaries: readonly VersionSummary[];
}

export type FaultCode = 'version' | 'busy' | 'malformed' | 'internal';
const FAULTS: readonly FaultCode[] = ['version', 'busy', 'malformed', 'internal'];

export interface Fault {
  readonly type: 'error';
  readonly code: FaultCode;
  readonly message: string;
  readonly supported: readonly number[];
}

export type Frame = Hello | Step | Fault;

/**
 * A message as encoders take it: its records may be decoded ones or stored bytes passed on, and
 * may be read only as its frames are taken.
 */
type Outgoing<T extends { readonly records: readonly KeyRecord[] }> = Omit<T, 'records'> & { readonly records: Iterable<WireRecord> };

export function emptyStep(): Step {
  return { type: 'step', more: false, fin: false, peer: null, recent: false, rootCheck: null, total: null, records: [], nodes: [], lists: [], wants: [], wantAll: [], summaries: [] };
}

// ---- encoding -------------------------------------------------------------------------------

function writePath(w: ByteWriter, path: Path): void {
  w.u8(path.length);
  for (let i = 0; i < path.length; i += 2) w.u8((path[i] << 4) | (path[i + 1] ?? 0));
}

function writeSummary(w: ByteWriter, s: Summary, width: number): void {
  w.varint(s.count);
  if (s.count > 0) w.bytes(s.digest.subarray(0, width));
}

function header(type: number, flags: number, version = PROTOCOL_VERSION): ByteWriter {
  return new ByteWriter(64).u8(version).u8(type).u8(flags);
}

function writeKeyId(w: ByteWriter, id: number, version: number): void {
  if (keyIdBytes(version) === 4) w.u32(id);
  else w.u8(id >>> 16).u8((id >>> 8) & 0xff).u8(id & 0xff);
}

function readKeyId(r: ByteReader, version: number): number {
  if (keyIdBytes(version) === 4) return r.u32('key id');
  return (r.u8('key id') << 16) | (r.u8('key id') << 8) | r.u8('key id');
}

export function encodeFault(code: FaultCode, message: string): Uint8Array {
  const w = header(T_ERROR, 0).u8(FAULTS.indexOf(code)).string(message.slice(0, 500));
  w.u8(SUPPORTED_VERSIONS.length);
  for (const v of SUPPORTED_VERSIONS) w.u8(v);
  return w.finish();
}

/** Splits records over as many frames as needed; the hello itself rides in the first. */
export function encodeHello(h: Omit<Outgoing<Hello>, 'type' | 'more' | 'version'> & { readonly version?: number }): Uint8Array[] {
  const version = h.version ?? PROTOCOL_VERSION;
  const chunks = [...chunkRecords(h.records)];
  if (chunks.length === 0) chunks.push([]);
  return chunks.map((records, i) => {
    const more = i < chunks.length - 1;
    if (i > 0) return encodeStepFrame({ ...emptyStep(), more, records }, h.width, version);
    const w = header(T_HELLO, more ? F_MORE : 0, version);
    w.u8(MODES.indexOf(h.mode)).bytes(h.salt).u8(h.width).bytes(fromHex(h.replica)).varint(h.seq);
    if (h.cursor === null) w.u8(0);
    else w.u8(1).bytes(fromHex(h.cursor.replica)).varint(h.cursor.seq);
    writeSummary(w, h.root, ROOT_DIGEST_BYTES);
    w.bytes(h.status.subarray(0, STATUS_BYTES));
    w.varint(records.length);
    for (const r of records) writeRecord(w, r);
    return w.finish();
  });
}

/** Records in frame-sized chunks, read only as the chunks are taken. */
function* chunkRecords(records: Iterable<WireRecord>): Generator<WireRecord[], void, undefined> {
  let chunk: WireRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = 'encoded' in r ? r.encoded.length : r.key.length + 64 + r.state.versions.reduce((n, v) => n + 32 + (v.value?.length ?? 0) * 3, 0);
    if (chunk.length > 0 && (bytes + size > FRAME_TARGET_BYTES || chunk.length >= MAX_ENTRIES_PER_FRAME / 2)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

/** One frame's content: its records in hand. */
type StepFrame = Omit<Step, 'records'> & { readonly records: readonly WireRecord[] };
type Part = Omit<StepFrame, 'type' | 'more' | 'fin' | 'peer' | 'recent' | 'rootCheck' | 'total'>;

function emptyPart(): { records: WireRecord[]; nodes: Expansion[]; lists: Listing[]; wants: Want[]; wantAll: Path[]; summaries: VersionSummary[] } {
  return { records: [], nodes: [], lists: [], wants: [], wantAll: [], summaries: [] };
}

/** Each frame's sections in order: record chunks (one a frame), then control sections packed by entry count. */
function* stepParts(step: Omit<Outgoing<Step>, 'type' | 'more' | 'total'>): Generator<Part, void, undefined> {
  let any = false;
  for (const chunk of chunkRecords(step.records)) {
    any = true;
    yield { ...emptyPart(), records: chunk };
  }
  const budget = MAX_ENTRIES_PER_FRAME / 2;
  let current = emptyPart();
  let cost = 0;
  const controls: Part[] = [];
  const add = <K extends Exclude<keyof Part, 'records'>>(kind: K, item: Part[K][number], itemCost: number): void => {
    if (cost > 0 && cost + itemCost > budget) {
      controls.push(current);
      current = emptyPart();
      cost = 0;
    }
    (current[kind] as unknown[]).push(item);
    cost += itemCost;
  };
  for (const n of step.nodes) add('nodes', n, FANOUT);
  for (const l of step.lists) add('lists', l, l.entries.length + 1);
  for (const x of step.wants) add('wants', x, x.ids.length + 1);
  for (const p of step.wantAll) add('wantAll', p, 1);
  for (const s of step.summaries) add('summaries', s, 1);
  if (cost > 0 || !any) controls.push(current);
  yield* controls;
}

/**
 * Encodes one logical step as frames under the limits. Records are split by size; control
 * sections are split by entry count. Peer info goes first, the closing flags go last.
 */
export function encodeStep(step: Omit<Outgoing<Step>, 'type' | 'more' | 'total'>, width: number, total: MessageTotal | null = null, version = PROTOCOL_VERSION): Uint8Array[] {
  return [...stepFrames(step, width, total, version)];
}

/**
 * encodeStep's frames, each encoded only when it is taken: a long reply's first frame can be on
 * the wire while the rest are still being built, and never are all of them in memory at once.
 */
export function* stepFrames(step: Omit<Outgoing<Step>, 'type' | 'more' | 'total'>, width: number, total: MessageTotal | null = null, version = PROTOCOL_VERSION): Generator<Uint8Array, void, undefined> {
  const parts = stepParts(step);
  try {
    // One part of lookahead: a frame's flags depend on whether another follows it.
    let current = parts.next();
    for (let i = 0; !current.done; i++) {
      const next = parts.next();
      const last = next.done === true;
      yield encodeStepFrame({
        ...current.value,
        type: 'step',
        more: !last,
        fin: last && step.fin,
        peer: i === 0 ? step.peer : null,
        // Only a message of several frames announces its total: a one-frame message is its own total.
        total: i === 0 && !last ? total : null,
        recent: last && step.recent,
        rootCheck: last ? step.rootCheck : null,
      }, width, version);
      current = next;
    }
  } finally {
    // Taken only in part (the link failed): let the records' source close what it holds.
    parts.return();
  }
}

function encodeStepFrame(s: StepFrame, width: number, version: number): Uint8Array {
  const flags = (s.more ? F_MORE : 0) | (s.fin ? F_FIN : 0) | (s.peer ? F_PEER : 0) | (s.recent ? F_RECENT : 0) | (s.rootCheck ? F_ROOT_CHECK : 0) | (s.total ? F_TOTAL : 0);
  const w = header(T_STEP, flags, version);
  if (s.peer) {
    w.u8(REPLY_MODES.indexOf(s.peer.mode)).bytes(fromHex(s.peer.replica)).varint(s.peer.seq);
    if (s.peer.cursor === null) w.u8(0);
    else w.u8(1).varint(s.peer.cursor);
    w.varint(s.peer.count).bytes(s.peer.status.subarray(0, STATUS_BYTES));
  }
  if (s.total) w.varint(s.total.records).varint(s.total.bytes);
  if (s.rootCheck) writeSummary(w, s.rootCheck, ROOT_DIGEST_BYTES);
  w.varint(s.records.length);
  for (const r of s.records) writeRecord(w, r);
  w.varint(s.nodes.length);
  for (const n of s.nodes) {
    writePath(w, n.path);
    for (const c of n.children) writeSummary(w, c, width);
  }
  w.varint(s.lists.length);
  for (const l of s.lists) {
    writePath(w, l.path);
    w.varint(l.entries.length);
    for (const e of l.entries) {
      writeKeyId(w, e.id, version);
      w.bytes(e.digest.subarray(0, width));
    }
  }
  w.varint(s.wants.length);
  for (const x of s.wants) {
    writePath(w, x.path);
    w.varint(x.ids.length);
    for (const id of x.ids) writeKeyId(w, id, version);
  }
  w.varint(s.wantAll.length);
  for (const p of s.wantAll) writePath(w, p);
  w.varint(s.summaries.length);
  for (const v of s.summaries) {
    writePath(w, v.path);
    writeKeyId(w, v.id, version);
    const devices = Object.keys(v.context).sort();
    w.varint(devices.length);
    for (const d of devices) w.bytes(fromHex(d)).varint(v.context[d]);
    w.varint(v.dots.length);
    for (const dot of v.dots) w.varint(devices.indexOf(dot.device)).varint(dot.counter);
  }
  const frame = w.finish();
  if (frame.length > MAX_FRAME_BYTES) throw new Error(`invariant: encoded frame of ${frame.length} bytes exceeds the limit`);
  return version >= 2 ? compressed(frame) : frame;
}

/**
 * A frame of records crosses the link in ~0.4 of the bytes compressed (note text), so in fewer
 * flow-control windows and with less to encrypt; Zstandard at level 1 costs the sender ~4 ms per
 * MB and the receiver ~2 ms (deflate, measured beside it, ~12 and ~5 for 0.45 of the bytes). The
 * format is RFC 8878; node:zlib still marks its zstd functions experimental, so an upgrade of
 * Node that changes them fails test/protocol-versions.test.ts, not the wire. Kept only when it
 * saves a tenth.
 */
function compressed(frame: Uint8Array): Uint8Array {
  if (frame.length < COMPRESS_MIN_BYTES) return frame;
  const body = zstdCompressSync(frame.subarray(3), { params: { [zc.ZSTD_c_compressionLevel]: 1 } });
  if (body.length + 3 > frame.length * 0.9) return frame;
  const out = new Uint8Array(3 + body.length);
  out.set(frame.subarray(0, 3));
  out[2] |= F_COMPRESSED;
  out.set(body, 3);
  return out;
}

/** A frame's length as encoded before compression (the frame's own length when not compressed). */
export function plainLength(frame: Uint8Array): number {
  if (frame.length < 3 || frame[1] !== T_STEP || (frame[2] & F_COMPRESSED) === 0) return frame.length;
  return 3 + zstdDecompressSync(frame.subarray(3), { maxOutputLength: MAX_FRAME_BYTES }).length;
}

/** The body of a compressed frame, refused past the frame limit before it is all decompressed. */
function decompressed(body: Uint8Array): ByteReader {
  let plain: Buffer;
  try {
    plain = zstdDecompressSync(body, { maxOutputLength: MAX_FRAME_BYTES });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new ProtocolError('E_FRAME_TOO_LARGE', `a compressed frame decompresses past the limit of ${MAX_FRAME_BYTES} bytes`);
    throw malformed(`a compressed frame does not decompress: ${(e as Error).message}`);
  }
  // A plain array of its own, so records decoded from it can keep views into it (ByteReader.keep).
  return new ByteReader(new Uint8Array(plain));
}

// ---- decoding -------------------------------------------------------------------------------

function malformed(message: string): ProtocolError {
  return new ProtocolError('E_FRAME_MALFORMED', message);
}

function readPath(r: ByteReader): Path {
  const depth = r.u8('path depth');
  if (depth > MAX_PATH_DEPTH) throw malformed(`path depth ${depth} exceeds ${MAX_PATH_DEPTH}`);
  const path: number[] = [];
  for (let i = 0; i < depth; i += 2) {
    const b = r.u8('path');
    path.push(b >> 4);
    if (i + 1 < depth) path.push(b & 15);
    else if ((b & 15) !== 0) throw malformed('path padding nibble is not zero');
  }
  return path;
}

function readSummary(r: ByteReader, width: number): Summary {
  const count = r.varint('count');
  return { count, digest: count > 0 ? r.bytes(width, 'digest').slice() : new Uint8Array(0) };
}

class Budget {
  private left = MAX_ENTRIES_PER_FRAME;
  take(n: number, what: string): number {
    if (n > this.left) throw malformed(`${what}: ${n} entries exceed the per-frame limit of ${MAX_ENTRIES_PER_FRAME}`);
    this.left -= n;
    return n;
  }
}

/** Reads the version byte only, so an incompatible peer gets a clear answer, not a parse error. */
export function frameVersion(frame: Uint8Array): number {
  if (frame.length < 3) throw malformed(`frame of ${frame.length} bytes is shorter than its header`);
  return frame[0];
}

/**
 * Decodes one frame. `width` is the session's digest width (from its hello); pass null to
 * decode a hello, which may be of any supported version. `version` is the session's (from its
 * hello): every later frame must carry it. Throws ProtocolError for anything malformed, truncated
 * or over a limit.
 */
export function decodeFrame(frame: Uint8Array, width: number | null, version = PROTOCOL_VERSION): Frame {
  if (frame.length > MAX_FRAME_BYTES) throw new ProtocolError('E_FRAME_TOO_LARGE', `frame of ${frame.length} bytes exceeds the limit of ${MAX_FRAME_BYTES}`);
  let r = new ByteReader(frame);
  const got = r.u8('version');
  const type = r.u8('type');
  const flags = r.u8('flags');
  if (type === T_ERROR) return readFault(r);
  if (width === null ? !SUPPORTED_VERSIONS.includes(got) : got !== version) {
    throw new ProtocolError('E_PROTOCOL_VERSION', `peer speaks anti-entropy protocol version ${got}; this app speaks ${width === null ? SUPPORTED_VERSIONS.join(' and ') : version}`, { version: got });
  }
  const budget = new Budget();
  let out: Frame;
  if (type === T_HELLO) {
    if ((flags & ~F_MORE) !== 0) throw malformed(`unknown hello flags ${flags}`);
    const modeIndex = r.u8('mode');
    if (modeIndex >= MODES.length) throw malformed(`unknown mode ${modeIndex}`);
    const salt = r.bytes(SALT_BYTES, 'salt').slice();
    const w = r.u8('digest width');
    if (w < MIN_DIGEST_BYTES || w > MAX_DIGEST_BYTES) throw malformed(`digest width ${w} outside ${MIN_DIGEST_BYTES}..${MAX_DIGEST_BYTES}`);
    const replica = toHex(r.bytes(DEVICE_ID_BYTES, 'replica id'));
    const seq = r.varint('seq');
    const hasCursor = r.u8('cursor flag');
    if (hasCursor > 1) throw malformed('cursor flag must be 0 or 1');
    const cursor = hasCursor === 1 ? { replica: toHex(r.bytes(DEVICE_ID_BYTES, 'cursor replica')), seq: r.varint('cursor seq') } : null;
    const root = readSummary(r, ROOT_DIGEST_BYTES);
    const status = r.bytes(STATUS_BYTES, 'status root').slice();
    const records = readRecords(r, budget);
    out = { type: 'hello', version: got, mode: MODES[modeIndex], salt, width: w, replica, seq, cursor, root, status, more: (flags & F_MORE) !== 0, records };
  } else if (type === T_STEP) {
    if (width === null) throw new ProtocolError('E_PROTOCOL_STATE', 'a session must open with a hello frame');
    const known = F_MORE | F_FIN | F_PEER | F_RECENT | F_ROOT_CHECK | F_TOTAL | (version >= 2 ? F_COMPRESSED : 0);
    if ((flags & ~known) !== 0) throw malformed(`unknown step flags ${flags}`);
    if ((flags & F_MORE) !== 0 && (flags & (F_FIN | F_RECENT | F_ROOT_CHECK)) !== 0) throw malformed('closing flags on a frame that says more follows');
    if ((flags & F_TOTAL) !== 0 && (flags & F_MORE) === 0) throw malformed('a message total on a frame that says nothing follows');
    if ((flags & F_COMPRESSED) !== 0) r = decompressed(frame.subarray(3));
    let peer: PeerInfo | null = null;
    if ((flags & F_PEER) !== 0) {
      const modeIndex = r.u8('reply mode');
      if (modeIndex >= REPLY_MODES.length) throw malformed(`unknown reply mode ${modeIndex}`);
      const replica = toHex(r.bytes(DEVICE_ID_BYTES, 'replica id'));
      const seq = r.varint('seq');
      const has = r.u8('cursor flag');
      if (has > 1) throw malformed('cursor flag must be 0 or 1');
      const cursor = has === 1 ? r.varint('cursor') : null;
      peer = { mode: REPLY_MODES[modeIndex], replica, seq, cursor, count: r.varint('peer key count'), status: r.bytes(STATUS_BYTES, 'status root').slice() };
    }
    const total = (flags & F_TOTAL) !== 0 ? { records: r.varint('total records'), bytes: r.varint('total bytes') } : null;
    const rootCheck = (flags & F_ROOT_CHECK) !== 0 ? readSummary(r, ROOT_DIGEST_BYTES) : null;
    const records = readRecords(r, budget);
    const nodes: Expansion[] = [];
    for (let i = budget.take(r.varint('node count'), 'nodes'); i > 0; i--) {
      const path = readPath(r);
      if (path.length >= MAX_PATH_DEPTH) throw malformed('cannot expand a node at the deepest level');
      budget.take(FANOUT, 'node children');
      const children: Summary[] = [];
      for (let c = 0; c < FANOUT; c++) children.push(readSummary(r, width));
      nodes.push({ path, children });
    }
    const lists: Listing[] = [];
    for (let i = budget.take(r.varint('list count'), 'lists'); i > 0; i--) {
      const path = readPath(r);
      const entries: { id: number; digest: Uint8Array }[] = [];
      for (let n = budget.take(r.varint('list length'), 'list entries'); n > 0; n--) entries.push({ id: readKeyId(r, version), digest: r.bytes(width, 'digest').slice() });
      lists.push({ path, entries });
    }
    const wants: Want[] = [];
    for (let i = budget.take(r.varint('want count'), 'wants'); i > 0; i--) {
      const path = readPath(r);
      const ids: number[] = [];
      for (let n = budget.take(r.varint('wanted ids'), 'wanted ids'); n > 0; n--) ids.push(readKeyId(r, version));
      wants.push({ path, ids });
    }
    const wantAll: Path[] = [];
    for (let i = budget.take(r.varint('want-all count'), 'want-all'); i > 0; i--) wantAll.push(readPath(r));
    const summaries: VersionSummary[] = [];
    for (let i = budget.take(r.varint('summary count'), 'summaries'); i > 0; i--) summaries.push(readVersionSummary(r, version));
    if ((flags & F_FIN) !== 0 && (rootCheck !== null || (flags & F_RECENT) !== 0 || nodes.length + lists.length + wants.length + wantAll.length + summaries.length > 0)) {
      // R-ERR-2 lists control sections in a FIN frame as out of turn, not as malformed bytes.
      throw new ProtocolError('E_PROTOCOL_STATE', 'a closing frame may carry only records');
    }
    out = {
      type: 'step', more: (flags & F_MORE) !== 0, fin: (flags & F_FIN) !== 0, peer, recent: (flags & F_RECENT) !== 0,
      rootCheck, total, records, nodes, lists, wants, wantAll, summaries,
    };
  } else {
    throw malformed(`unknown frame type ${type}`);
  }
  r.end('frame');
  return out;
}

function readRecords(r: ByteReader, budget: Budget): KeyRecord[] {
  const records: KeyRecord[] = [];
  for (let i = budget.take(r.varint('record count'), 'records'); i > 0; i--) records.push(readRecord(r, true));
  return records;
}

function readVersionSummary(r: ByteReader, version: number): VersionSummary {
  const path = readPath(r);
  const id = readKeyId(r, version);
  const devices: string[] = [];
  const context: Record<string, number> = {};
  for (let n = r.varint('context size', MAX_CONTEXT_DEVICES); n > 0; n--) {
    const d = toHex(r.bytes(DEVICE_ID_BYTES, 'device id'));
    if (d in context) throw malformed('device twice in a version summary');
    context[d] = r.varint('context counter');
    devices.push(d);
  }
  const dots: { device: string; counter: number }[] = [];
  for (let n = r.varint('dot count', MAX_VERSIONS); n > 0; n--) {
    const i = r.varint('dot device');
    if (i >= devices.length) throw malformed('dot names a device outside the summary');
    dots.push({ device: devices[i], counter: r.varint('dot counter') });
  }
  return { path, id, context, dots };
}

function readFault(r: ByteReader): Fault {
  const codeIndex = r.u8('error code');
  const message = r.string('error message', 2000);
  const supported: number[] = [];
  for (let n = r.u8('supported versions'); n > 0; n--) supported.push(r.u8('version'));
  return { type: 'error', code: FAULTS[codeIndex] ?? 'internal', message, supported };
}
