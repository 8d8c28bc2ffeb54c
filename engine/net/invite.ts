// Invite codes: how a new laptop joins a vault. A code is read off one screen and typed (or
// pasted) on another, so it is Crockford base32 (no I/L/O/U to confuse, case-insensitive) in
// groups of five, and it ends with a checksum: a typo must be refused, never turned into a
// different vault that would silently sync with nobody.
//
// Binary layout, version 1 (every version keeps the first byte = version and the last four bytes
// = checksum, so a typo is reported as a typo even when it hits the version byte):
//   u8 version (1) | 32 B vault secret | 32 B inviter's Ed25519 public key (its peer id)
//   | u8 n (<= 4) | n x (u8 length, binary multiaddr without /p2p/) | 4 B sha256(all before)[0..4]
// The inviter's addresses let the joiner dial directly when mDNS cannot work (multicast filtered
// by the Wi-Fi, different subnets).

import { createHash } from 'node:crypto';
import { publicKeyFromRaw } from '@libp2p/crypto/keys';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { ValidationError } from '../core/errors.ts';
import { VAULT_SECRET_BYTES, vaultIdOf } from './vault.ts';

export const INVITE_VERSION = 1;
export const MAX_INVITE_ADDRS = 4;
/** Longer than any real multiaddr we would put in an invite (ip6 + tcp is 19 bytes). */
export const MAX_INVITE_ADDR_BYTES = 64;
/** A code longer than this is not an invite; refuse before decoding anything. */
export const MAX_INVITE_CHARS = 2048;

const CHECKSUM_BYTES = 4;
const P2P_CODE = 421;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const VALUE = new Map<string, number>([...ALPHABET].map((c, i) => [c, i]));
// Crockford's decoding aliases: the letters people type for digits they see.
VALUE.set('O', 0);
VALUE.set('I', 1);
VALUE.set('L', 1);

export interface Invite {
  readonly version: number;
  /** The vault secret (32 bytes). Whoever holds it can join the vault. */
  readonly secret: Uint8Array;
  /** Public id of the invited vault, derived from the secret: show it so the user can compare. */
  readonly vaultId: string;
  /** The inviting device's libp2p peer id. */
  readonly peerId: string;
  /** Addresses to dial the inviter at, each ending in /p2p/<peerId>. */
  readonly addrs: readonly string[];
}

export interface InviteInput {
  readonly secret: Uint8Array;
  readonly peerId: string;
  /** At most MAX_INVITE_ADDRS; a /p2p/ suffix, if present, must name `peerId`. */
  readonly addrs: readonly string[];
}

function invalid(message: string, details: Record<string, unknown> = {}): ValidationError {
  return new ValidationError('E_INVALID_INVITE', message, details);
}

function checksum(payload: Uint8Array): Uint8Array {
  return createHash('sha256').update(payload).digest().subarray(0, CHECKSUM_BYTES);
}

export function encodeInvite(input: InviteInput): string {
  if (!(input.secret instanceof Uint8Array) || input.secret.length !== VAULT_SECRET_BYTES) {
    throw invalid(`vault secret must be ${VAULT_SECRET_BYTES} bytes`);
  }
  const publicKey = ed25519PublicKey(input.peerId);
  if (input.addrs.length > MAX_INVITE_ADDRS) throw invalid(`at most ${MAX_INVITE_ADDRS} addresses fit in an invite`, { count: input.addrs.length });
  const addrBytes = input.addrs.map((a) => bareAddrBytes(a, input.peerId));

  const parts: Uint8Array[] = [Uint8Array.of(INVITE_VERSION), input.secret, publicKey, Uint8Array.of(addrBytes.length)];
  for (const b of addrBytes) parts.push(Uint8Array.of(b.length), b);
  const payload = concat(parts);
  return group(base32Encode(concat([payload, checksum(payload)])));
}

export function decodeInvite(code: string): Invite {
  if (typeof code !== 'string') throw invalid('an invite code is text');
  if (code.length > MAX_INVITE_CHARS) throw invalid(`too long to be an invite code (${code.length} characters)`, { length: code.length });
  const bytes = base32Decode(code);
  if (bytes.length < 1 + CHECKSUM_BYTES) throw invalid('too short to be an invite code');

  const payload = bytes.subarray(0, bytes.length - CHECKSUM_BYTES);
  const expected = checksum(payload);
  const got = bytes.subarray(bytes.length - CHECKSUM_BYTES);
  if (!expected.every((b, i) => b === got[i])) {
    throw invalid('the invite code does not check out: probably a typo, or not a code from this app', { reason: 'checksum' });
  }
  const version = payload[0];
  if (version !== INVITE_VERSION) {
    throw invalid(`invite code version ${version} is not supported (made by a newer version of the app?)`, { reason: 'version', version });
  }
  return parseV1(payload);
}

function parseV1(payload: Uint8Array): Invite {
  let at = 1;
  const take = (n: number, what: string): Uint8Array => {
    if (at + n > payload.length) throw invalid(`invite code is truncated (${what})`, { reason: 'truncated' });
    const out = payload.slice(at, at + n);
    at += n;
    return out;
  };
  const secret = take(VAULT_SECRET_BYTES, 'secret');
  const peerId = peerIdOf(take(32, 'peer id'));
  const count = take(1, 'address count')[0];
  if (count > MAX_INVITE_ADDRS) throw invalid(`invite names ${count} addresses, at most ${MAX_INVITE_ADDRS} allowed`, { reason: 'addrs' });
  const addrs: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = take(1, 'address length')[0];
    if (len === 0 || len > MAX_INVITE_ADDR_BYTES) throw invalid(`invite address ${i} has a bad length ${len}`, { reason: 'addrs' });
    addrs.push(`${parseAddr(take(len, 'address'), i)}/p2p/${peerId}`);
  }
  if (at !== payload.length) throw invalid('invite code has trailing bytes', { reason: 'trailing' });
  return { version: INVITE_VERSION, secret, vaultId: vaultIdOf(secret), peerId, addrs };
}

function parseAddr(bytes: Uint8Array, index: number): string {
  try {
    const ma = multiaddr(bytes);
    // A parser that skipped bytes would make two codes mean one address; require an exact round trip.
    if (!equal(ma.bytes, bytes)) throw new Error('not canonical');
    if (ma.protoCodes().includes(P2P_CODE)) throw new Error('contains /p2p/');
    return ma.toString();
  } catch (err) {
    throw invalid(`invite address ${index} is not a valid multiaddr`, { reason: 'addrs', cause: (err as Error).message });
  }
}

function peerIdOf(raw: Uint8Array): string {
  try {
    const key = publicKeyFromRaw(raw);
    if (key.type !== 'Ed25519') throw new Error(`${key.type} key`);
    return key.toString(); // an Ed25519 public key prints as its peer id
  } catch (err) {
    throw invalid('invite carries an invalid peer id', { reason: 'peer', cause: (err as Error).message });
  }
}

function ed25519PublicKey(peerId: string): Uint8Array {
  let id;
  try {
    id = peerIdFromString(peerId);
  } catch {
    throw invalid(`not a peer id: ${peerId}`);
  }
  if (id.type !== 'Ed25519') throw invalid(`invites carry Ed25519 peer ids, got ${id.type}`);
  return id.publicKey.raw;
}

function bareAddrBytes(addr: string, peerId: string): Uint8Array {
  let ma;
  try {
    ma = multiaddr(addr);
  } catch (err) {
    throw invalid(`not a multiaddr: ${addr}`, { cause: (err as Error).message });
  }
  const named = ma.getPeerId();
  if (named != null && named !== peerId) throw invalid(`address ${addr} names another peer`);
  const bare = ma.decapsulateCode(P2P_CODE);
  if (bare.protoCodes().includes(P2P_CODE)) throw invalid(`address ${addr} has a /p2p/ part in the middle`);
  if (bare.bytes.length === 0 || bare.bytes.length > MAX_INVITE_ADDR_BYTES) throw invalid(`address ${addr} is too long for an invite`);
  return bare.bytes;
}

// --- Crockford base32 -------------------------------------------------------------------------

function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

function base32Decode(code: string): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  let pos = 0;
  for (const raw of code) {
    pos++;
    if (raw === '-' || /\s/.test(raw)) continue;
    const v = VALUE.get(raw.toUpperCase());
    if (v === undefined) throw invalid(`invalid character ${JSON.stringify(raw)} at position ${pos} of the invite code`, { reason: 'character', position: pos });
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
    }
    acc &= (1 << bits) - 1;
  }
  // The last character's unused low bits are always 0 when encoding. Requiring it means a typo
  // there cannot slip past the checksum (those bits are not part of the checksummed bytes).
  if (bits >= 5 || acc !== 0) throw invalid('the invite code does not check out: probably a typo at the end', { reason: 'padding' });
  return Uint8Array.from(out);
}

function group(s: string): string {
  return s.match(/.{1,5}/g)?.join('-') ?? '';
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
