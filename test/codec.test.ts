// Record codec. Leaf hashes are computed over encodeRecord's bytes, so two replicas holding the
// same state must produce the same bytes or anti-entropy chases differences that never go away;
// and the decoder reads bytes from peers, so any input must end in a state or a ProtocolError.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ByteReader, ByteWriter } from '../engine/core/bytes.ts';
import { compareStamps } from '../engine/core/clock.ts';
import { decodeRecord, encodedSize, encodeRecord, knownEncoding, leafHash, readRecord, validateKey, validateValue, type KeyRecord } from '../engine/core/codec.ts';
import { EngineError, ProtocolError, ValidationError } from '../engine/core/errors.ts';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../engine/core/limits.ts';
import { EMPTY_STATE, merge, stampOf, statesEqual, type KeyState } from '../engine/core/record.ts';
import { Replica } from '../engine/replica.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { KEYS, opsArb, replay } from './histories.ts';
import { Prng } from './prng.ts';

const SEED = 0xc0dec;
const RUNS = { seed: SEED, numRuns: 200 };

const keyArb = fc.oneof(fc.constantFrom(...KEYS), fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }));

/** Some reachable (key, state) records, rekeyed so keys cover more than ASCII. */
const recordsArb: fc.Arbitrary<KeyRecord[]> = fc.tuple(opsArb(25, true), keyArb).map(([ops, extraKey]) => {
  const h = replay(ops);
  return h.snapshots.map((s, i) => ({ key: i % 2 === 0 ? s.key : extraKey, state: s.state }));
});

const recordArb: fc.Arbitrary<KeyRecord> = fc.tuple(recordsArb, fc.nat()).map(([recs, n]) =>
  recs.length === 0 ? { key: 'empty', state: EMPTY_STATE } : recs[n % recs.length],
);

/** What every decoded state must satisfy, whatever bytes it came from. */
function assertValidDecoded(rec: KeyRecord): void {
  assert.equal(typeof rec.key, 'string');
  assert.ok(rec.key.length > 0 && rec.key.isWellFormed());
  const { context, versions } = rec.state;
  for (const [d, c] of Object.entries(context)) {
    assert.match(d, /^[0-9a-f]{16}$/);
    assert.ok(Number.isSafeInteger(c) && c >= 1);
  }
  const dots = new Set<string>();
  for (let i = 0; i < versions.length; i++) {
    const v = versions[i];
    assert.ok(v.counter >= 1 && v.counter <= (context[v.device] ?? 0), 'version outside its context');
    assert.ok(Number.isSafeInteger(v.wall) && Number.isSafeInteger(v.tick));
    assert.ok(v.value === null || (typeof v.value === 'string' && v.value.isWellFormed()));
    assert.ok(!dots.has(`${v.device}:${v.counter}`), 'duplicate dot');
    dots.add(`${v.device}:${v.counter}`);
    if (i > 0) assert.ok(compareStamps(stampOf(versions[i - 1]), stampOf(v)) >= 0, 'decoded versions not winner first');
  }
  // Whatever was accepted can be re-encoded, and that encoding is a fixed point.
  const again = encodeRecord(rec);
  assert.deepEqual(encodeRecord(decodeRecord(again)), again);
  // And a store takes it: a record a peer may send must never make apply() throw at commit time.
  new MemoryStore("00000000000000e2").commit({ puts: [{ key: rec.key, state: rec.state }] });
}

test('encode then decode gives back the same record', () => {
  fc.assert(
    fc.property(recordsArb, (recs) => {
      for (const rec of recs) {
        const back = decodeRecord(encodeRecord(rec));
        assert.equal(back.key, rec.key);
        assert.ok(statesEqual(back.state, rec.state), `round trip changed ${JSON.stringify(rec)}`);
      }
    }),
    RUNS,
  );
});

test('the same state reached in different orders encodes to identical bytes', () => {
  fc.assert(
    fc.property(opsArb(30, true), fc.constantFrom(...KEYS), fc.nat(), (ops, key, shuffleSeed) => {
      const states = replay(ops).snapshots.filter((s) => s.key === key).map((s) => s.state);
      const forward = states.reduce<KeyState>((acc, s) => merge(acc, s), EMPTY_STATE);
      const shuffled = new Prng(shuffleSeed).shuffle(states).reduce<KeyState>((acc, s) => merge(s, acc), EMPTY_STATE);
      assert.deepEqual(encodeRecord({ key, state: shuffled }), encodeRecord({ key, state: forward }));
    }),
    RUNS,
  );
});

test('encodedSize is the length of encodeRecord, without encoding', () => {
  fc.assert(
    fc.property(recordArb, (rec) => assert.equal(encodedSize(rec), encodeRecord(rec).length)),
    RUNS,
  );
  // Past 128 devices a version's device index can take two bytes.
  const context: Record<string, number> = {};
  for (let i = 0; i < 300; i++) context[i.toString(16).padStart(16, '0')] = 1;
  const wide: KeyRecord = { key: 'k', state: { context, versions: [{ device: (299).toString(16).padStart(16, '0'), counter: 1, wall: 5, tick: 0, value: 'é😀' }] } };
  assert.equal(encodedSize(wide), encodeRecord(wide).length);
});

test('object layout does not leak into the bytes: context insertion order and version order', () => {
  fc.assert(
    fc.property(recordArb, (rec) => {
      const canonical = encodeRecord(rec);
      // The same state as a store or a peer might hand it over: context keys in another insertion
      // order, versions in another order. Decoding puts versions back in canonical order.
      const context = Object.fromEntries(Object.entries(rec.state.context).reverse());
      const scrambled: KeyRecord = { key: rec.key, state: { context, versions: [...rec.state.versions].reverse() } };
      assert.deepEqual(encodeRecord(decodeRecord(encodeRecord(scrambled))), canonical);
      assert.deepEqual(encodeRecord({ key: rec.key, state: { context, versions: rec.state.versions } }), canonical);
    }),
    RUNS,
  );
});

test('a key or value that starts with U+FEFF keeps it through encode and decode', () => {
  const device = '0123456789abcdef';
  const rec: KeyRecord = { key: '\ufeffkey', state: { context: { [device]: 1 }, versions: [{ device, counter: 1, wall: 5, tick: 0, value: '\ufeffbody' }] } };
  const bytes = encodeRecord(rec);
  const back = decodeRecord(bytes);
  assert.equal(back.key, '\ufeffkey');
  assert.equal(back.state.versions[0].value, '\ufeffbody');
  assert.deepEqual(leafHash(encodeRecord(back)), leafHash(bytes), 'every replica hashes the same bytes');
});

/** A record written field by field, so a test can break canonical form on purpose. */
function handWritten(key: string, devices: readonly string[], versions: readonly { device: number; counter: number; wall: number; value: string }[], wideCounter = false): Uint8Array {
  const w = new ByteWriter().string(key).varint(devices.length);
  for (const d of devices) {
    w.bytes(Buffer.from(d, 'hex'));
    // A counter of 1 as a two-byte varint: the same value, a longer encoding.
    if (wideCounter) w.u8(0x81).u8(0x00);
    else w.varint(versions.filter((v) => devices[v.device] === d).reduce((n, v) => Math.max(n, v.counter), 1));
  }
  w.varint(versions.length);
  for (const v of versions) w.varint(v.device).varint(v.counter).varint(v.wall).varint(0).u8(1).string(v.value);
  return w.finish();
}

/** A record as a session reads it from a peer's frame: its canonical bytes are remembered. */
function fromPeer(bytes: Uint8Array): KeyRecord {
  const r = new ByteReader(bytes);
  const rec = readRecord(r, true);
  r.end('record');
  return rec;
}

test('decoded canonical bytes from a peer are stored as they came; any other form is encoded again', () => {
  const [d1, d2] = ['0000000000000001', '0000000000000002'];
  const canonical = handWritten('k', [d1, d2], [{ device: 1, counter: 1, wall: 9, value: 'new' }, { device: 0, counter: 1, wall: 5, value: 'old' }]);
  assert.equal(knownEncoding(decodeRecord(canonical)), undefined, 'a store read remembers nothing');
  const rec = fromPeer(canonical);
  assert.deepEqual(knownEncoding(rec), canonical);
  assert.deepEqual(encodeRecord(rec), canonical);
  assert.ok(Object.isFrozen(rec.state) && Object.isFrozen(rec.state.versions) && Object.isFrozen(rec.state.context) && Object.isFrozen(rec.state.versions[0]));
  encodeRecord(rec).fill(0);
  assert.deepEqual(encodeRecord(rec), canonical, 'changing what encodeRecord returned changes no later encoding');
  assert.equal(knownEncoding({ key: 'other', state: rec.state }), undefined, 'the bytes belong to one key');

  const variants = {
    'devices out of order': handWritten('k', [d2, d1], [{ device: 0, counter: 1, wall: 9, value: 'new' }, { device: 1, counter: 1, wall: 5, value: 'old' }]),
    'versions not winner first': handWritten('k', [d1, d2], [{ device: 0, counter: 1, wall: 5, value: 'old' }, { device: 1, counter: 1, wall: 9, value: 'new' }]),
    'a counter with a longer varint': handWritten('k', [d1, d2], [{ device: 1, counter: 1, wall: 9, value: 'new' }, { device: 0, counter: 1, wall: 5, value: 'old' }], true),
  };
  for (const [name, bytes] of Object.entries(variants)) {
    assert.notDeepEqual(bytes, canonical, name);
    const back = fromPeer(bytes);
    assert.ok(statesEqual(back.state, rec.state), `${name}: the same state`);
    assert.equal(knownEncoding(back), undefined, `${name}: not kept as it came`);
    assert.deepEqual(encodeRecord(back), canonical, `${name}: stored in canonical form`);
  }
});

test('every truncation of a record, and any trailing byte, is a ProtocolError', () => {
  fc.assert(
    fc.property(recordArb, fc.integer({ min: 0, max: 255 }), (rec, extra) => {
      const bytes = encodeRecord(rec);
      for (let cut = 0; cut < bytes.length; cut++) {
        assert.throws(() => decodeRecord(bytes.subarray(0, cut)), ProtocolError, `cut at ${cut} of ${bytes.length} decoded`);
      }
      const longer = new Uint8Array(bytes.length + 1);
      longer.set(bytes);
      longer[bytes.length] = extra;
      assert.throws(() => decodeRecord(longer), ProtocolError);
    }),
    RUNS,
  );
});

test('a record with an empty key is refused like any malformed record', () => {
  // encodeRecord does not validate (its callers did); a peer's bytes get no such trust.
  const bytes = encodeRecord({ key: '', state: EMPTY_STATE });
  assert.throws(() => decodeRecord(bytes), ProtocolError);
});

test('flipped bytes decode to a valid record or throw ProtocolError, never anything else', () => {
  let rejected = 0;
  let accepted = 0;
  fc.assert(
    fc.property(recordArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (rec, flips) => {
      const bytes = encodeRecord(rec);
      for (const [pos, mask] of flips) bytes[pos % bytes.length] ^= mask;
      let decoded: KeyRecord;
      try {
        decoded = decodeRecord(bytes);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw new Error(`decoder threw ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
        rejected++;
        return;
      }
      accepted++;
      assertValidDecoded(decoded);
    }),
    { seed: SEED, numRuns: 3000 },
  );
  // Both outcomes must actually occur, or the property above checks less than it claims.
  assert.ok(rejected > 0 && accepted > 0, `rejected ${rejected}, accepted ${accepted}`);
});

function assertValidation(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ValidationError && e.code === code, `expected ValidationError ${code}`);
}

test('invalid keys are refused with ValidationError', () => {
  const euro = '€'; // 3 bytes in UTF-8, 1 UTF-16 unit: the limit is on bytes, not characters
  const atLimit = euro.repeat(Math.floor(MAX_KEY_BYTES / 3)) + 'x'.repeat(MAX_KEY_BYTES % 3);
  assert.equal(Buffer.byteLength(atLimit), MAX_KEY_BYTES);
  assert.equal(validateKey(atLimit), atLimit);
  assertValidation(() => validateKey(atLimit + 'x'), 'E_INVALID_KEY');
  assertValidation(() => validateKey(euro.repeat(Math.floor(MAX_KEY_BYTES / 3) + 1)), 'E_INVALID_KEY');
  assertValidation(() => validateKey(''), 'E_INVALID_KEY');
  assertValidation(() => validateKey('note-\uD800'), 'E_INVALID_KEY');
  assertValidation(() => validateKey('\uDFFFnote'), 'E_INVALID_KEY');
  for (const bad of [42, null, undefined, {}, ['k'], Symbol('k')]) assertValidation(() => validateKey(bad), 'E_INVALID_KEY');
});

test('key validation agrees with a byte-counting reference on arbitrary strings', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '\uD800', '\uDC00'), maxLength: 300 }), (key) => {
      const ok = key.length > 0 && key.isWellFormed() && Buffer.byteLength(key) <= MAX_KEY_BYTES;
      if (ok) assert.equal(validateKey(key), key);
      else assertValidation(() => validateKey(key), 'E_INVALID_KEY');
    }),
    { seed: SEED, numRuns: 1000 },
  );
});

test('invalid values are refused with ValidationError; null (delete) and the maximum size are fine', () => {
  assert.equal(validateValue(null), null);
  assert.equal(validateValue(''), '');
  const max = 'x'.repeat(MAX_VALUE_BYTES);
  assert.equal(validateValue(max), max);
  assertValidation(() => validateValue(max + 'x'), 'E_VALUE_TOO_LARGE');
  // Under the limit in UTF-16 units, over it in UTF-8 bytes.
  const wide = 'é'.repeat(MAX_VALUE_BYTES / 2 + 1);
  assert.ok(wide.length < MAX_VALUE_BYTES);
  assertValidation(() => validateValue(wide), 'E_VALUE_TOO_LARGE');
  const astral = '😀'.repeat(MAX_VALUE_BYTES / 4) + 'x';
  assertValidation(() => validateValue(astral), 'E_VALUE_TOO_LARGE');
  assert.equal(validateValue(astral.slice(0, -1)), astral.slice(0, -1));
  assertValidation(() => validateValue('text\uD83D'), 'E_INVALID_VALUE');
  for (const bad of [42, undefined, {}, ['v'], true]) assertValidation(() => validateValue(bad), 'E_INVALID_VALUE');
});

test('a replica refuses an invalid write as a whole and changes nothing', () => {
  const replica = Replica.open(new MemoryStore('00000000000000e1'), { now: () => 1_000 });
  replica.write([{ key: 'kept', value: 'before' }]);
  const seq = replica.seq();
  const root = replica.tree.root();
  const badBatches: { writes: unknown[]; code: string }[] = [
    { writes: [{ key: 'fine', value: 'ok' }, { key: 'x'.repeat(MAX_KEY_BYTES + 1), value: 'v' }], code: 'E_INVALID_KEY' },
    { writes: [{ key: 'fine', value: 'ok' }, { key: 'bad', value: 7 }], code: 'E_INVALID_VALUE' },
    { writes: [{ key: 'kept', value: '\uDC00' }], code: 'E_INVALID_VALUE' },
    { writes: [{ key: 'fine', value: 'x'.repeat(MAX_VALUE_BYTES + 1) }], code: 'E_VALUE_TOO_LARGE' },
    { writes: [{ key: 'dup', value: 'a' }, { key: 'dup', value: 'b' }], code: 'E_INVALID_KEY' },
  ];
  for (const { writes, code } of badBatches) {
    assertValidation(() => replica.write(writes as never), code);
    assert.equal(replica.seq(), seq);
    assert.deepEqual(replica.tree.root(), root);
    assert.equal(replica.get('fine'), undefined);
    assert.equal(replica.get('kept')?.versions[0].value, 'before');
  }
  // The errors are engine errors with stable codes, which is what hosts map to messages.
  try {
    replica.write([{ key: '', value: 'v' }]);
    assert.fail('empty key accepted');
  } catch (e) {
    assert.ok(e instanceof EngineError && e.code === 'E_INVALID_KEY');
  }
});

test('ByteWriter.string writes a minimal varint length and the UTF-8 bytes, around every prefix-size boundary', () => {
  // Strings are encoded in place behind room for the longest prefix, then moved back (issue 11).
  // 'aé' and 'ab€' start as ASCII and leave the short-ASCII fast path partway (issue 11).
  const units = ['a', 'é', '€', '😀', 'aé', 'ab€', 'abc😀'];
  const lengths = [0, 1, 2, 3, 42, 43, 63, 64, 127, 128, 129, 5461, 5462, 16383, 16384, 16385, 40000];
  for (const unit of units) {
    for (const n of lengths) {
      const s = unit.repeat(Math.ceil(n / unit.length)).slice(0, n).replace(/[\ud800-\udbff]$/, 'x');
      const w = new ByteWriter(4);
      w.u8(7).string(s).u8(9);
      const bytes = w.finish();
      const utf8 = new TextEncoder().encode(s);
      const expected = new ByteWriter(4).u8(7).varint(utf8.length).bytes(utf8).u8(9).finish();
      assert.deepEqual(bytes, expected, `${JSON.stringify(unit)} x ${n}`);
      const r = new ByteReader(bytes);
      assert.equal(r.u8('a'), 7);
      assert.equal(r.string('s', 1 << 20), s);
      assert.equal(r.u8('b'), 9);
    }
  }
});

test('a bad string length is reported with the field it belongs to', () => {
  const tooLong = new ByteWriter(8).varint(MAX_KEY_BYTES + 1).finish();
  assert.throws(() => readRecord(new ByteReader(tooLong)), (e: unknown) => e instanceof ProtocolError && /^key length is \d+, more than the limit/.test(e.message));
  const truncated = Uint8Array.of(0x80);
  assert.throws(() => readRecord(new ByteReader(truncated)), (e: unknown) => e instanceof ProtocolError && /key length needs 1 bytes/.test(e.message));
  const r = new ByteReader(new ByteWriter(8).varint(5).finish());
  assert.throws(() => r.blob('value', 4), /value length is 5, more than the limit 4/);
});
