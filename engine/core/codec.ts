// Canonical binary form of a (key, state) record. The same state always encodes to the same
// bytes on every replica, which is what makes its hash usable as a Merkle leaf.

import { hash } from 'node:crypto';
import { ByteReader, ByteWriter, fromHex, toHex, varintSize } from './bytes.ts';
import { ProtocolError, ValidationError } from './errors.ts';
import { DEVICE_ID_BYTES, MAX_CONTEXT_DEVICES, MAX_KEY_BYTES, MAX_VALUE_BYTES, MAX_VERSIONS } from './limits.ts';
import { byStampDesc, canonicalState, type KeyState, type Version } from './record.ts';

export interface KeyRecord {
  readonly key: string;
  readonly state: KeyState;
}

/**
 * A record as a store keeps it: its canonical encoding (encodeRecord), passed on to a peer as it
 * is. Only bytes this replica's own store wrote are ever held this way; bytes from a peer are
 * always decoded and validated (readRecord).
 */
export interface StoredRecord {
  readonly key: string;
  readonly encoded: Uint8Array;
}

/** What encoders of frames take: a decoded record, or one as stored. */
export type WireRecord = KeyRecord | StoredRecord;

/**
 * Every record of a store as of one moment, as stored: what a session sends a peer that holds
 * nothing, streamed while the store goes on taking writes.
 */
export interface StoredSnapshot {
  readonly count: number;
  /** The sum of the records' encoded sizes. */
  readonly bytes: number;
  /** Every record, in key order, read as it is taken; one whose bytes no longer match their leaf hash throws. */
  records(): Iterable<StoredRecord>;
  /** Ends the snapshot (idempotent); records() is not read after. */
  close(): void;
}

const encoder = new TextEncoder();

// The canonical bytes a state was decoded from, so that storing a received record does not
// encode it again (a tenth of the receiving side of an initial sync went there). Keyed by the
// state object, which readRecord freezes: the bytes can never describe a changed state.
const decodedFrom = new WeakMap<KeyState, { readonly key: string; readonly bytes: Uint8Array }>();

/**
 * encodeRecord(rec) when rec's state was decoded from exactly those bytes, else undefined. The
 * bytes are shared: read them, never change them.
 */
export function knownEncoding(rec: KeyRecord): Uint8Array | undefined {
  const known = decodedFrom.get(rec.state);
  return known !== undefined && known.key === rec.key ? known.bytes : undefined;
}

const DEVICE_RE = /^[0-9a-f]{16}$/;

export function isDeviceId(s: string): boolean {
  return DEVICE_RE.test(s);
}

export function validateKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) throw new ValidationError('E_INVALID_KEY', 'a key must be a non-empty string');
  // A lone surrogate would be replaced when encoded, so replicas would hash different bytes.
  if (!key.isWellFormed()) throw new ValidationError('E_INVALID_KEY', 'a key must be well-formed Unicode');
  // UTF-16 length is a lower bound of the UTF-8 size and a third of an upper one: only measure
  // exactly when the key could be over the limit.
  const size = key.length * 3 <= MAX_KEY_BYTES ? key.length : encoder.encode(key).length;
  if (size > MAX_KEY_BYTES) throw new ValidationError('E_INVALID_KEY', `key is ${size} bytes; the limit is ${MAX_KEY_BYTES}`, { size, limit: MAX_KEY_BYTES });
  return key;
}

export function validateValue(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== 'string') throw new ValidationError('E_INVALID_VALUE', 'a value must be a string or null (delete)');
  if (!value.isWellFormed()) throw new ValidationError('E_INVALID_VALUE', 'a value must be well-formed Unicode text');
  // UTF-16 length is a lower bound of the UTF-8 size; only measure exactly near the limit.
  const size = value.length * 3 <= MAX_VALUE_BYTES ? value.length : encoder.encode(value).length;
  if (size > MAX_VALUE_BYTES) {
    throw new ValidationError('E_VALUE_TOO_LARGE', `value is ${size} bytes; the limit is ${MAX_VALUE_BYTES}`, { size, limit: MAX_VALUE_BYTES });
  }
  return value;
}

export function writeRecord(w: ByteWriter, rec: WireRecord): void {
  if ('encoded' in rec) {
    w.bytes(rec.encoded);
    return;
  }
  w.string(rec.key);
  const devices = Object.keys(rec.state.context).sort();
  w.varint(devices.length);
  for (const d of devices) w.bytes(fromHex(d)).varint(rec.state.context[d]);
  w.varint(rec.state.versions.length);
  for (const v of rec.state.versions) {
    // A linear search: a key's context names a handful of devices (at most 1024).
    const i = devices.indexOf(v.device);
    if (i < 0) throw new Error(`invariant: version device ${v.device} missing from context`);
    w.varint(i).varint(v.counter).varint(v.wall).varint(v.tick);
    if (v.value === null) w.u8(0);
    else w.u8(1).string(v.value);
  }
}

// Records are encoded into this one buffer (encoding is synchronous and calls nothing that could
// encode in between), then copied out at their exact size into a shared slab: a small ArrayBuffer
// of its own costs more to allocate than encoding a small record does. Only encoded records live
// in the slab, and they are short-lived (a store binds and drops them); a large record gets a
// buffer of its own, so a kept one pins at most one slab.
const scratch = new ByteWriter(64 * 1024);
const SCRATCH_MAX = 1024 * 1024;
const SLAB_BYTES = 64 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/** What `w` holds, copied out: into the slab when small, else into an array of its own. */
function copyOut(w: ByteWriter): Uint8Array {
  const n = w.length;
  if (n > SLAB_BYTES / 16) return w.finish();
  if (slabUsed + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + n);
  w.copyTo(out);
  slabUsed += n;
  return out;
}

export function encodeRecord(rec: KeyRecord): Uint8Array {
  // A copy: the caller owns what encodeRecord returns, and may change it.
  const known = knownEncoding(rec);
  if (known !== undefined) return new Uint8Array(known);
  scratch.reset(SCRATCH_MAX);
  writeRecord(scratch, rec);
  return copyOut(scratch);
}

/**
 * encodeRecord(rec).length, computed without encoding: sessions count the record bytes they send
 * and receive, and encoding a 2 KB note body only to measure it cost as much as sending it.
 */
export function encodedSize(rec: WireRecord): number {
  if ('encoded' in rec) return rec.encoded.length;
  const known = knownEncoding(rec);
  if (known !== undefined) return known.length;
  let size = stringSize(rec.key);
  const devices = Object.keys(rec.state.context);
  size += varintSize(devices.length);
  for (const d of devices) size += DEVICE_ID_BYTES + varintSize(rec.state.context[d]);
  size += varintSize(rec.state.versions.length);
  // A version's device index takes one byte below 128 devices; past that, its sorted position says.
  const sorted = devices.length < 128 ? devices : [...devices].sort();
  for (const v of rec.state.versions) {
    size += varintSize(devices.length < 128 ? 0 : sorted.indexOf(v.device)) + varintSize(v.counter) + varintSize(v.wall) + varintSize(v.tick) + 1;
    if (v.value !== null) size += stringSize(v.value);
  }
  return size;
}

function stringSize(s: string): number {
  const bytes = Buffer.byteLength(s, 'utf8');
  return varintSize(bytes) + bytes;
}

/**
 * Reads and fully validates one record. Anything a correct peer could not have produced is a
 * ProtocolError; the returned state is in canonical order. With `remember` (records from a peer,
 * about to be stored), canonical bytes are kept for encodeRecord to return (knownEncoding): a
 * weak reference per record, which costs store reads more than it could ever save them.
 */
export function readRecord(r: ByteReader, remember = false): KeyRecord {
  const start = r.offset;
  const longVarints = r.longVarints;
  const key = r.string('key', MAX_KEY_BYTES);
  if (key.length === 0) throw new ProtocolError('E_FRAME_MALFORMED', 'record with an empty key');
  const deviceCount = r.varint('context size', MAX_CONTEXT_DEVICES);
  const devices: string[] = [];
  const context: Record<string, number> = {};
  for (let i = 0; i < deviceCount; i++) {
    const d = toHex(r.bytes(DEVICE_ID_BYTES, 'device id'));
    const counter = r.varint('context counter');
    if (counter < 1) throw new ProtocolError('E_FRAME_MALFORMED', `record ${key}: context counter must be at least 1`);
    if (d in context) throw new ProtocolError('E_FRAME_MALFORMED', `record ${key}: device ${d} twice in context`);
    context[d] = counter;
    devices.push(d);
  }
  const versionCount = r.varint('version count', MAX_VERSIONS);
  const versions: Version[] = [];
  for (let i = 0; i < versionCount; i++) {
    const di = r.varint('version device', deviceCount === 0 ? 0 : deviceCount - 1);
    if (deviceCount === 0) throw new ProtocolError('E_FRAME_MALFORMED', `record ${key}: version without context`);
    const device = devices[di];
    const counter = r.varint('version counter');
    if (counter < 1 || counter > context[device]) throw new ProtocolError('E_FRAME_MALFORMED', `record ${key}: version counter outside its context`);
    if (versions.some((v) => v.device === device && v.counter === counter)) throw new ProtocolError('E_FRAME_MALFORMED', `record ${key}: duplicate version`);
    const wall = r.varint('wall time');
    const tick = r.varint('clock counter', 0xffff_ffff);
    const tag = r.u8('value tag');
    if (tag > 1) throw new ProtocolError('E_FRAME_MALFORMED', `record ${key}: unknown value tag ${tag}`);
    const value = tag === 0 ? null : r.string('value', MAX_VALUE_BYTES);
    versions.push({ device, counter, wall, tick, value });
  }
  if (r.longVarints !== longVarints || !inCanonicalOrder(devices, versions)) return { key, state: canonicalState(context, versions) };
  // Devices came sorted and versions winner first: the objects as read are the canonical state.
  if (!remember) return { key, state: { context, versions } };
  for (const v of versions) Object.freeze(v);
  const state: KeyState = Object.freeze({ context: Object.freeze(context), versions: Object.freeze(versions) as Version[] });
  decodedFrom.set(state, { key, bytes: r.keep(start) });
  return { key, state };
}

/**
 * With every varint in its shortest form, whether the bytes just read are what encodeRecord
 * writes: the reader accepts no other form of any other field (strict UTF-8, so a string's bytes
 * are the ones its text encodes to; one tag per kind of value; device ids of fixed size), so only
 * the order of devices and of versions is left to check.
 */
function inCanonicalOrder(devices: readonly string[], versions: readonly Version[]): boolean {
  for (let i = 1; i < devices.length; i++) if (devices[i - 1] >= devices[i]) return false;
  for (let i = 1; i < versions.length; i++) if (byStampDesc(versions[i - 1], versions[i]) > 0) return false;
  return true;
}

export function decodeRecord(bytes: Uint8Array): KeyRecord {
  const r = new ByteReader(bytes);
  const rec = readRecord(r);
  r.end('record');
  return rec;
}

export const HASH_BYTES = 16;

/**
 * The first `bytes` bytes of SHA-256(data), in an array of their own. Node hands the digest back
 * as a 'binary' (latin1) string, one character per byte, because it builds a string several times
 * faster than a Buffer: 0.3 us instead of 0.8-1.0 us for a 100-byte record, and every write,
 * merged record and opened tree hashes one or two.
 */
export function sha256Prefix(data: string | Uint8Array, bytes: number): Uint8Array {
  return sha256Into(data, new Uint8Array(bytes), bytes);
}

/** The first `bytes` bytes of SHA-256(data), written at the start of `out` (returned). */
function sha256Into(data: string | Uint8Array, out: Uint8Array, bytes: number): Uint8Array {
  const digest = hash('sha256', data, 'binary');
  for (let i = 0; i < bytes; i++) out[i] = digest.charCodeAt(i);
  return out;
}

/** Position of a key in the Merkle tree: the same on every replica, whatever the write order. */
export function keyHash(key: string): Uint8Array {
  return sha256Prefix(key, HASH_BYTES);
}

/** keyHash(key) written into `out` (HASH_BYTES long), for callers that only read it at once. */
export function keyHashInto(key: string, out: Uint8Array): Uint8Array {
  return sha256Into(key, out, HASH_BYTES);
}

/** Leaf hash: covers the key and its whole versioned state (every version and the context). */
export function leafHash(encoded: Uint8Array): Uint8Array {
  return sha256Prefix(encoded, HASH_BYTES);
}
