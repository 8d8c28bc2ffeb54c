// Rumors: what gossipsub carries. A local write is published as a rumor holding the new states
// of the keys it changed; a value too large to gossip travels as a notice (key + dot) and the
// record itself is pulled by anti-entropy. Decoding is strict and bounded: a rumor either decodes
// whole and belongs to our vault, or it is rejected and nothing of it is merged.

import { ByteReader, ByteWriter, fromHex, toHex } from './bytes.ts';
import { readRecord, writeRecord, type KeyRecord } from './codec.ts';
import { ProtocolError } from './errors.ts';
import { DEVICE_ID_BYTES, MAX_KEY_BYTES } from './limits.ts';

export const RUMOR_VERSION = 1;
/** Gossipsub messages stay small: a rumor is at most this many bytes. */
export const MAX_RUMOR_BYTES = 256 * 1024;
/** A record whose encoding exceeds this is announced by a notice instead of gossiped whole. */
export const MAX_GOSSIPED_RECORD_BYTES = 64 * 1024;
export const MAX_RUMOR_ENTRIES = 1024;
const VAULT_ID_BYTES = 8;

export interface Notice {
  readonly key: string;
  readonly device: string;
  readonly counter: number;
}

export interface Rumor {
  readonly vault: string;
  readonly records: readonly KeyRecord[];
  readonly notices: readonly Notice[];
}

export function encodeRumor(r: Rumor): Uint8Array {
  const w = new ByteWriter(256);
  w.u8(RUMOR_VERSION).bytes(fromHex(r.vault));
  w.varint(r.records.length);
  for (const rec of r.records) writeRecord(w, rec);
  w.varint(r.notices.length);
  for (const n of r.notices) w.string(n.key).bytes(fromHex(n.device)).varint(n.counter);
  return w.finish();
}

/** Throws ProtocolError for anything that is not a well-formed rumor of `vault`. */
export function decodeRumor(bytes: Uint8Array, vault: string): Rumor {
  if (bytes.length > MAX_RUMOR_BYTES) throw new ProtocolError('E_FRAME_TOO_LARGE', `rumor of ${bytes.length} bytes exceeds ${MAX_RUMOR_BYTES}`);
  const r = new ByteReader(bytes);
  const version = r.u8('rumor version');
  if (version !== RUMOR_VERSION) throw new ProtocolError('E_PROTOCOL_VERSION', `rumor version ${version}; this app speaks ${RUMOR_VERSION}`, { version });
  const from = toHex(r.bytes(VAULT_ID_BYTES, 'vault id'));
  if (from !== vault) throw new ProtocolError('E_FRAME_MALFORMED', `rumor for vault ${from}, not ours`);
  const records: KeyRecord[] = [];
  for (let n = r.varint('record count', MAX_RUMOR_ENTRIES); n > 0; n--) records.push(readRecord(r, true));
  const notices: Notice[] = [];
  for (let n = r.varint('notice count', MAX_RUMOR_ENTRIES); n > 0; n--) {
    const key = r.string('notice key', MAX_KEY_BYTES);
    notices.push({ key, device: toHex(r.bytes(DEVICE_ID_BYTES, 'device id')), counter: r.varint('counter') });
  }
  r.end('rumor');
  return { vault, records, notices };
}

/**
 * Splits a batch of fresh local records into rumors under the size limits; records too large to
 * gossip become notices of their newest local version.
 */
export function rumorsFor(vault: string, device: string, records: readonly KeyRecord[]): Rumor[] {
  const out: Rumor[] = [];
  let current = { records: [] as KeyRecord[], notices: [] as Notice[], bytes: 0 };
  const flush = (): void => {
    if (current.records.length + current.notices.length > 0) out.push({ vault, records: current.records, notices: current.notices });
    current = { records: [], notices: [], bytes: 0 };
  };
  for (const rec of records) {
    const probe = new ByteWriter(64);
    writeRecord(probe, rec);
    const size = probe.length;
    const entries = current.records.length + current.notices.length;
    if (size > MAX_GOSSIPED_RECORD_BYTES) {
      const own = rec.state.versions.find((v) => v.device === device) ?? rec.state.versions[0];
      if (own === undefined) continue;
      if (entries >= MAX_RUMOR_ENTRIES || current.bytes + MAX_KEY_BYTES + 32 > MAX_RUMOR_BYTES - 64) flush();
      current.notices.push({ key: rec.key, device: own.device, counter: own.counter });
      current.bytes += rec.key.length * 3 + 32;
      continue;
    }
    if (entries >= MAX_RUMOR_ENTRIES || current.bytes + size > MAX_RUMOR_BYTES - 64) flush();
    current.records.push(rec);
    current.bytes += size;
  }
  flush();
  return out;
}
