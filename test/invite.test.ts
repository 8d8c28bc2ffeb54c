import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { ValidationError } from '../engine/core/errors.ts';
import { decodeInvite, encodeInvite, MAX_INVITE_ADDRS, MAX_INVITE_CHARS } from '../engine/net/invite.ts';
import { vaultIdOf } from '../engine/net/vault.ts';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const secret = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
const generatedKey = await generateKeyPair('Ed25519');
const peerId = generatedKey.publicKey.toString();
const addrs = ['/ip4/192.168.1.23/tcp/41234', '/ip6/fe80::1/tcp/41234', '/ip4/10.0.0.7/tcp/9000', '/dns4/laptop.local/tcp/9000'];

function invalidInvite(err: unknown): boolean {
  return err instanceof ValidationError && err.code === 'E_INVALID_INVITE';
}

/** Builds a code from raw bytes with a correct checksum, to test what the checksum alone cannot catch. */
function rawCode(payload: Uint8Array): string {
  const sum = createHash('sha256').update(payload).digest().subarray(0, 4);
  const bytes = Buffer.concat([payload, sum]);
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  while (bits.length % 5) bits += '0';
  return bits.match(/.{5}/g)!.map((g) => ALPHABET[parseInt(g, 2)]).join('');
}

describe('invite codes', () => {
  test('round trip', () => {
    const code = encodeInvite({ secret, peerId, addrs });
    const inv = decodeInvite(code);
    assert.equal(inv.version, 1);
    assert.deepEqual(inv.secret, secret);
    assert.equal(inv.peerId, peerId);
    assert.equal(inv.vaultId, vaultIdOf(secret));
    assert.deepEqual(inv.addrs, addrs.map((a) => `${a}/p2p/${peerId}`));
    for (const a of inv.addrs) assert.equal(multiaddr(a).getPeerId(), peerId);
  });

  test('is Crockford base32 in dash-separated groups of five, and reasonably short', () => {
    const code = encodeInvite({ secret, peerId, addrs: addrs.slice(0, 2) });
    assert.match(code, /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{1,5})*$/);
    assert.ok(code.length < 200, `${code.length} characters`);
    const bare = encodeInvite({ secret, peerId, addrs: [] });
    assert.deepEqual(decodeInvite(bare).addrs, []);
  });

  test('a /p2p/ suffix naming the inviter is accepted and not stored twice', () => {
    const a = encodeInvite({ secret, peerId, addrs: [addrs[0]] });
    const b = encodeInvite({ secret, peerId, addrs: [`${addrs[0]}/p2p/${peerId}`] });
    assert.equal(a, b);
  });

  test('tolerates case, spaces, dashes, line breaks and the I/L/O look-alikes', () => {
    const code = encodeInvite({ secret, peerId, addrs });
    const expected = decodeInvite(code);
    const bare = code.replaceAll('-', '');
    const variants = [
      code.toLowerCase(),
      bare,
      bare.match(/.{1,4}/g)!.join(' '),
      ` ${code.replaceAll('-', ' - ')}\n`,
      bare.match(/.{1,30}/g)!.join('\n'),
      code.replaceAll('0', 'O').replaceAll('1', 'l'),
      code.replaceAll('1', 'I').toLowerCase(),
    ];
    for (const v of variants) assert.deepEqual(decodeInvite(v), expected, v);
  });

  test('every single-character substitution is detected', () => {
    const code = encodeInvite({ secret, peerId, addrs: addrs.slice(0, 2) });
    let tried = 0;
    for (let i = 0; i < code.length; i++) {
      if (code[i] === '-') continue;
      for (const c of ALPHABET) {
        if (c === code[i]) continue;
        const typo = code.slice(0, i) + c + code.slice(i + 1);
        assert.throws(() => decodeInvite(typo), invalidInvite, `substitution at ${i}: ${code[i]} -> ${c}`);
        tried++;
      }
    }
    assert.ok(tried > 2000, `${tried} typos tried`);
  });

  test('every deleted, duplicated or swapped character is detected', () => {
    const code = encodeInvite({ secret, peerId, addrs: addrs.slice(0, 1) }).replaceAll('-', '');
    for (let i = 0; i < code.length; i++) {
      assert.throws(() => decodeInvite(code.slice(0, i) + code.slice(i + 1)), invalidInvite, `deletion at ${i}`);
      assert.throws(() => decodeInvite(code.slice(0, i) + code[i] + code.slice(i)), invalidInvite, `duplication at ${i}`);
      if (i + 1 < code.length && code[i] !== code[i + 1]) {
        const swapped = code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2);
        assert.throws(() => decodeInvite(swapped), invalidInvite, `swap at ${i}`);
      }
    }
  });

  test('garbage and foreign codes are rejected with E_INVALID_INVITE', () => {
    const garbage = [
      '',
      '-----',
      'hello world',
      'U0000',
      'ABCDE-FGHJK-MNPQR',
      '0'.repeat(181),
      randomBytes(40).toString('hex'),
      'https://example.com/invite?code=12345',
      '🙂🙂🙂',
    ];
    for (const g of garbage) assert.throws(() => decodeInvite(g), invalidInvite, JSON.stringify(g));
    // Random codes in the right alphabet and length: the checksum must refuse them.
    for (let i = 0; i < 200; i++) {
      const r = [...randomBytes(150)].map((b) => ALPHABET[b & 31]).join('');
      assert.throws(() => decodeInvite(r), invalidInvite);
    }
    assert.throws(() => decodeInvite(undefined as unknown as string), invalidInvite);
  });

  test('oversized codes are refused before decoding', () => {
    const code = encodeInvite({ secret, peerId, addrs });
    assert.throws(() => decodeInvite(code + ' '.repeat(MAX_INVITE_CHARS)), (err: unknown) => {
      return invalidInvite(err) && /too long/.test((err as Error).message);
    });
    assert.throws(() => decodeInvite('Z'.repeat(100_000)), invalidInvite);
  });

  test('an unknown version with a valid checksum says so', () => {
    const payload = Buffer.concat([Buffer.of(2), Buffer.alloc(70)]);
    assert.throws(() => decodeInvite(rawCode(payload)), (err: unknown) => {
      return invalidInvite(err) && (err as ValidationError).details.reason === 'version';
    });
  });

  test('structurally bad payloads with a valid checksum are refused', () => {
    const pk = generatedKey.publicKey.raw;
    const withP2p = multiaddr(`/ip4/1.2.3.4/tcp/1/p2p/${peerId}`).bytes;
    const v1 = (rest: number[]) => rawCode(Buffer.concat([Buffer.of(1), Buffer.from(secret), pk, Buffer.from(rest)]));
    const cases: Array<[string, string]> = [
      ['truncated secret', rawCode(Buffer.concat([Buffer.of(1), Buffer.alloc(10)]))],
      ['no address count', v1([])],
      ['too many addresses', v1([MAX_INVITE_ADDRS + 1])],
      ['zero-length address', v1([1, 0])],
      ['address runs past the end', v1([1, 8, 4, 10, 0])],
      ['unknown multiaddr protocol', v1([1, 3, 0x7f, 1, 2])],
      ['truncated ip4 multiaddr', v1([1, 3, 4, 10, 0])],
      ['multiaddr with /p2p/', v1([1, withP2p.length, ...withP2p])],
      ['trailing bytes', v1([0, 42])],
    ];
    for (const [name, code] of cases) {
      assert.throws(() => decodeInvite(code), invalidInvite, name);
    }
  });

  test('encoding refuses bad input', () => {
    const bad: Array<[string, Parameters<typeof encodeInvite>[0]]> = [
      ['short secret', { secret: new Uint8Array(31), peerId, addrs }],
      ['bad peer id', { secret, peerId: 'not-a-peer', addrs }],
      ['too many addresses', { secret, peerId, addrs: [...addrs, '/ip4/1.2.3.4/tcp/1'] }],
      ['bad multiaddr', { secret, peerId, addrs: ['/ip4/999.1.1.1/tcp/1'] }],
      ['another peer', { secret, peerId, addrs: [`/ip4/1.2.3.4/tcp/1/p2p/12D3KooWDWzxBpJwWtM1xUuAxzdh4fBLfvgL5Sr1JAVd13P61hxg`] }],
    ];
    for (const [name, input] of bad) assert.throws(() => encodeInvite(input), invalidInvite, name);
  });
});
