// The anti-entropy protocol, rule by rule (engine/PROTOCOL.md). Each test is titled with the rule
// it checks. Expectations come from the document: digests, key ids and frame sizes are recomputed
// from the spec's definitions in test/protocol-helpers.ts, and results are judged by what both
// replicas hold afterwards, not by the session's own view of itself.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { AntiEntropySession, DEFAULTS, type SessionOptions } from '../engine/core/anti-entropy.ts';
import { ByteWriter, fromHex } from '../engine/core/bytes.ts';
import { writeRecord, type KeyRecord } from '../engine/core/codec.ts';
import { ProtocolError, type ErrorCode } from '../engine/core/errors.ts';
import {
  decodeFrame, emptyStep, encodeStep, keyIdBytes, MAX_FRAME_BYTES, PROTOCOL_VERSION, SUPPORTED_VERSIONS,
  type FaultCode, type Frame, type Hello, type Step,
} from '../engine/core/protocol.ts';
import type { KeyState } from '../engine/core/record.ts';
import { syncPair } from '../engine/sync-pair.ts';
import type { Replica } from '../engine/replica.ts';
import { Prng } from './prng.ts';
import {
  A, ALL, asks, B, bytesOf, C, copy, decodeSent, hex, inject, isPrefix, keyIdOf, keysOf, keysUnder, leafOf, MERKLE,
  messages, NOW, nodeOf, pathOf, range, RECENT, recordsOf, replica, run, SALT, salted, SCENARIOS,
  seed, snapshot, summaryOf, WHOLE, wireSummary, writePath, zeros,
  type Injection, type Message, type Run, type Scenario,
} from './protocol-helpers.ts';

const W = DEFAULTS.width; // the default digest width (PROTOCOL.md)
const V = PROTOCOL_VERSION;

/** A salted key id as the current version writes it (keyIdBytes). */
function keyId(w: ByteWriter, id: number): ByteWriter {
  for (let i = keyIdBytes(V) - 1; i >= 0; i--) w.u8(Math.floor(id / 256 ** i) % 256);
  return w;
}
const F_MORE = 1;
const F_FIN = 2;
const F_PEER = 4;
const F_RECENT = 8;
const F_ROOT_CHECK = 16;

// ---- small utilities ------------------------------------------------------------------------------

function asHello(f: Frame): Hello {
  assert.equal(f.type, 'hello');
  return f as Hello;
}

function asStep(f: Frame): Step {
  assert.equal(f.type, 'step');
  return f as Step;
}

function asFault(bytes: Uint8Array): { code: FaultCode; supported: readonly number[]; message: string } {
  const f = decodeFrame(bytes, null);
  assert.equal(f.type, 'error');
  if (f.type !== 'error') throw new Error('unreachable');
  return f;
}

function varintLen(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

/** HELLO size from the table in PROTOCOL.md (no records). */
function helloSize(seq: number, cursorSeq: number | null, count: number): number {
  return 3 + 1 + 8 + 1 + 8 + varintLen(seq) + (cursorSeq === null ? 1 : 1 + 8 + varintLen(cursorSeq))
    + varintLen(count) + (count > 0 ? 8 : 0) + 8 + 1;
}

/** An empty FIN step with PEER, from the STEP table: header, peer section, six zero counts. */
function finWithPeerSize(seq: number, cursor: number | null, count: number): number {
  return 3 + 1 + 8 + varintLen(seq) + (cursor === null ? 1 : 1 + varintLen(cursor)) + varintLen(count) + 8 + 6;
}

function stateOf(r: Replica, key: string): KeyState {
  const s = r.get(key);
  assert.ok(s, `${r.replicaId} should hold ${key}`);
  return s;
}

function values(r: Replica, key: string): (string | null)[] {
  return stateOf(r, key).versions.map((v) => v.value).sort();
}

/** Both replicas converged: same keys, same states, same tree root (recomputed from the spec). */
function assertConverged(a: Replica, b: Replica): void {
  assert.deepEqual(recordsOf(a), recordsOf(b));
  assert.deepEqual(summaryOf(a, [], SALT, 16), summaryOf(b, [], SALT, 16));
  assert.equal(hex(a.tree.node([]).digest), hex(nodeOf(a, []).digest), 'tree root is the XOR of the leaves');
  assert.equal(hex(b.tree.node([]).digest), hex(nodeOf(b, []).digest), 'tree root is the XOR of the leaves');
}

function pair(): { a: Replica; b: Replica } {
  return { a: replica(A), b: replica(B) };
}

/** Two replicas that met once: same 30 keys and cursors saved by the real driver. */
function met(n = 30): { a: Replica; b: Replica } {
  const { a, b } = pair();
  seed(a, range('k', n));
  copy(a, b);
  const r = syncPair(a, b, { salt: SALT });
  assert.ok(r.ok);
  assert.equal(a.cursor(B), b.seq());
  assert.equal(b.cursor(A), a.seq());
  return { a, b };
}

function controlFree(m: Message): void {
  assert.deepEqual([m.nodes.length, m.lists.length, m.wants.length, m.wantAll.length, m.summaries.length, m.recent, m.rootCheck], [0, 0, 0, 0, 0, false, null]);
}

const INTRUDER: KeyRecord = {
  key: 'intruder',
  state: { context: { [C]: 1 }, versions: [{ device: C, counter: 1, wall: NOW, tick: 0, value: 'must never be merged' }] },
};

/** Letters at random: text that compression cannot shrink much (version 2 compresses large frames). */
function incompressible(n: number, seed: number): string {
  const rng = new Prng(seed);
  return Array.from({ length: n }, () => String.fromCharCode(97 + rng.int(0, 25))).join('');
}

/** A STEP frame written by hand; `body` writes everything after the 3 header bytes. */
function stepFrame(flags: number, body: (w: ByteWriter) => void, version = V): Uint8Array {
  return bytesOf((w) => {
    w.u8(version).u8(2).u8(flags);
    body(w);
  });
}

/** A valid record first, so merging anything before refusing the frame would be visible. */
function intruder(w: ByteWriter): void {
  w.varint(1);
  writeRecord(w, INTRUDER);
}

function peerSection(w: ByteWriter, cursor: number | null = null, mode = 2): void {
  w.u8(mode).bytes(fromHex(B)).varint(1);
  if (cursor === null) w.u8(0);
  else w.u8(1).varint(cursor);
  w.varint(0).bytes(new Uint8Array(8)); // key count and status root (display only)
}

function helloFrame(o: { version?: number; flags?: number; mode?: number; width?: number; records?: KeyRecord[]; tail?: (w: ByteWriter) => void } = {}): Uint8Array {
  return bytesOf((w) => {
    w.u8(o.version ?? V).u8(1).u8(o.flags ?? 0).u8(o.mode ?? 0).bytes(SALT).u8(o.width ?? W).bytes(fromHex(A)).varint(1).u8(0);
    w.varint(0); // root summary: count 0
    w.bytes(new Uint8Array(8)); // status root (display only)
    if (o.tail) o.tail(w);
    else {
      const records = o.records ?? [INTRUDER];
      w.varint(records.length);
      for (const r of records) writeRecord(w, r);
    }
  });
}

/** R-ERR-1's contract for a refused frame: ProtocolError, failed, one ERROR back, nothing merged. */
function assertRefused(inj: Injection, code: ErrorCode, fault: FaultCode | null, label: string): void {
  assert.equal(inj.thrown, undefined, `${label}: receive() must not throw, threw ${String(inj.thrown)}`);
  assert.equal(inj.receiver.status, 'failed', label);
  assert.ok(inj.receiver.error instanceof ProtocolError, `${label}: error is a ProtocolError`);
  assert.equal(inj.receiver.error.code, code, `${label}: ${inj.receiver.error.message}`);
  if (fault === null) assert.equal(inj.replies.length, 0, `${label}: nothing answers an ERROR`);
  else {
    assert.equal(inj.replies.length, 1, `${label}: one ERROR frame back`);
    assert.equal(asFault(inj.replies[0]).code, fault, label);
  }
  assert.deepEqual(inj.after, inj.before, `${label}: nothing from the bad frame merged`);
}

/** The good run of a scenario, whose frames the bad-frame tests replace one at a time. */
function recorded(s: Scenario): Run {
  const { a, b } = s.setup();
  const r = run(a, b, { ...s.opts, saveCursors: false });
  assert.ok(r.ok, `${s.name} runs clean`);
  return r;
}

const GOOD = new Map<string, Run>();
function good(s: Scenario): Run {
  let r = GOOD.get(s.name);
  if (r === undefined) GOOD.set(s.name, (r = recorded(s)));
  if (s === MERKLE) {
    // The hand-built frames below replace these two; they must stay mid-session frames to each side.
    assert.equal(r.sent[TO_RESPONDER_MID].from, 'initiator');
    assert.equal(r.sent[TO_INITIATOR_MID].from, 'responder');
    assert.ok(r.sent.findIndex((x) => x.from === 'responder') < TO_RESPONDER_MID, 'the responder already sent PEER');
  }
  return r;
}

/** Delivery indexes in the MERKLE transcript: a mid-session frame to each side. */
const TO_RESPONDER_MID = 2;
const TO_INITIATOR_MID = 3;

function refuse(s: Scenario, index: number, bad: Uint8Array, code: ErrorCode, fault: FaultCode | null, label: string): Injection {
  const inj = inject(s, good(s).sent, index, bad);
  assertRefused(inj, code, fault, label);
  return inj;
}

// ---- opening ------------------------------------------------------------------------------------

describe('R-HELLO-1 the initiator opens with one HELLO: root summary, log position, cursor', () => {
  test('first meeting: no cursor; root count and salted 8-byte digest; layout and size as documented', () => {
    const a = replica(A);
    seed(a, range('k', 5));
    const { session, frames } = AntiEntropySession.initiate(a, { salt: SALT, peerReplica: B });
    assert.equal(frames.length, 1);
    const h = asHello(decodeFrame(frames[0], null));
    assert.deepEqual(
      { mode: h.mode, width: h.width, replica: h.replica, seq: h.seq, cursor: h.cursor, more: h.more, records: h.records.length, salt: hex(h.salt) },
      { mode: 'auto', width: W, replica: A, seq: a.seq(), cursor: null, more: false, records: 0, salt: hex(SALT) },
    );
    assert.ok(a.seq() > 0);
    assert.deepEqual(wireSummary(h.root), summaryOf(a, [], SALT, 8));
    // Raw bytes, read against the HELLO table rather than through decodeFrame.
    assert.deepEqual([...frames[0].subarray(0, 4)], [V, 1, 0, 3]);
    assert.equal(hex(frames[0].subarray(4, 12)), hex(SALT));
    assert.equal(frames[0][12], W);
    assert.equal(hex(frames[0].subarray(13, 21)), A);
    assert.equal(frames[0].length, helloSize(a.seq(), null, 5));
    assert.deepEqual([session.stats.framesSent, session.stats.bytesSent, session.stats.roundTrips], [1, frames[0].length, 1]);
  });

  test('after an earlier session: carries the saved cursor into that responder\'s log', () => {
    const a = replica(A);
    seed(a, range('k', 3));
    a.saveCursor(B, 7);
    a.saveCursor(C, 99);
    const { frames } = AntiEntropySession.initiate(a, { salt: SALT, peerReplica: B });
    const h = asHello(decodeFrame(frames[0], null));
    assert.deepEqual(h.cursor, { replica: B, seq: 7 });
    assert.equal(frames[0].length, helloSize(a.seq(), 7, 3));
  });

  test('a cursor into another replica is not offered to this one', () => {
    const a = replica(A);
    a.saveCursor(C, 5);
    const h = asHello(decodeFrame(AntiEntropySession.initiate(a, { salt: SALT, peerReplica: B }).frames[0], null));
    assert.equal(h.cursor, null);
  });

  test('an empty replica announces count 0 with no digest bytes', () => {
    const a = replica(A);
    const { frames } = AntiEntropySession.initiate(a, { salt: SALT, peerReplica: B });
    assert.deepEqual(wireSummary(asHello(decodeFrame(frames[0], null)).root), { count: 0, digest: '' });
    assert.equal(frames[0].length, helloSize(0, null, 0));
  });

  test('the requested mode and digest width are announced', () => {
    for (const mode of ['whole', 'merkle', 'recent', 'auto'] as const) {
      for (const width of [2, 16]) {
        const a = replica(A);
        seed(a, ['x']);
        const h = asHello(decodeFrame(AntiEntropySession.initiate(a, { salt: SALT, mode, width }).frames[0], null));
        assert.deepEqual([h.mode, h.width], [mode, width]);
      }
    }
  });
});

describe('R-HELLO-2 the responder\'s first STEP carries PEER: mode, replica, seq, cursor', () => {
  const cases: { name: string; setup: () => { a: Replica; b: Replica }; opts: Partial<SessionOptions>; mode: string }[] = [
    { name: 'equal', setup: () => { const p = pair(); seed(p.a, range('k', 5)); copy(p.a, p.b); return p; }, opts: {}, mode: 'equal' },
    { name: 'whole', setup: WHOLE.setup, opts: { mode: 'whole' }, mode: 'whole' },
    { name: 'merkle', setup: MERKLE.setup, opts: { mode: 'merkle' }, mode: 'merkle' },
    { name: 'recent', setup: RECENT.setup, opts: { mode: 'auto' }, mode: 'recent' },
  ];
  for (const c of cases) {
    test(`${c.name}: PEER names the way chosen, the responder, its log position and its cursor`, () => {
      const { a, b } = c.setup();
      const cursorBefore = b.cursor(A) ?? null;
      const aRootBefore = Buffer.from(a.tree.node([]).digest.subarray(0, 8)).toString('hex');
      const r = run(a, b, c.opts);
      assert.ok(r.ok);
      const replies = r.sent.filter((s) => s.from === 'responder');
      const first = asStep(decodeSent(replies[0], W));
      // seq is where the responder's log stood when it sent PEER (whole mode merges the hello first).
      const { count, status, ...rest } = first.peer!;
      assert.deepEqual(rest, { mode: c.mode, replica: B, seq: replies[0].senderSeq, cursor: cursorBefore });
      // The display-only status is the responder's key count and unsalted root prefix when it answered.
      assert.equal(r.init.stats.peerRoot?.count, count);
      assert.equal(r.init.stats.peerRoot?.digest, Buffer.from(status).toString('hex'));
      assert.equal(r.resp.stats.peerRoot?.digest, aRootBefore, 'the hello carried the initiator\'s root prefix');
      assert.equal(replies.filter((s) => asStep(decodeSent(s, W)).peer !== null).length, 1, 'only the first reply frame carries PEER');
      assert.equal(r.init.stats.used, c.mode);
      assert.equal(r.init.stats.peerReplica, B);
      assert.equal(r.resp.stats.peerReplica, A);
      if (c.name === 'recent') assert.notEqual(cursorBefore, null);
      if (c.name === 'whole') assert.ok(replies[0].senderSeq > 3, 'the whole-mode PEER seq counts the merged hello records');
    });
  }
});

describe('R-VER-1 a HELLO of another version gets ERROR version; both sides fail, nothing merged', () => {
  for (const version of [0, 3, 255]) {
    test(`hello with version byte ${version}`, () => {
      const { a, b } = pair();
      seed(a, range('a', 3));
      seed(b, range('b', 2));
      const { session: init, frames } = AntiEntropySession.initiate(a, { salt: SALT, mode: 'whole', peerReplica: B });
      const bad = frames[0].slice();
      bad[0] = version;
      const resp = AntiEntropySession.respond(b);
      const bBefore = snapshot(b);
      const out = resp.receive(bad);
      assert.equal(out.length, 1);
      const fault = asFault(out[0]);
      assert.deepEqual([fault.code, fault.supported], ['version', [...SUPPORTED_VERSIONS]]);
      assert.ok(fault.message.length > 0 && Buffer.byteLength(fault.message) <= 500);
      assert.equal(resp.status, 'failed');
      assert.ok(resp.error instanceof ProtocolError);
      assert.equal(resp.error.code, 'E_PROTOCOL_VERSION');
      assert.deepEqual(snapshot(b), bBefore, 'the whole-mode records in the hello were not merged');

      const aBefore = snapshot(a);
      assert.deepEqual(init.receive(out[0]), [], 'nothing answers an ERROR');
      assert.equal(init.status, 'failed');
      assert.equal(init.error?.code, 'E_PROTOCOL_VERSION');
      assert.deepEqual(init.error?.details.supported, [...SUPPORTED_VERSIONS]);
      assert.deepEqual(snapshot(a), aBefore);
      assert.equal(init.cursor, null);
      assert.equal(resp.cursor, null);
    });
  }

  test('through syncPair: not ok, E_PROTOCOL_VERSION, no records and no cursors saved', () => {
    const { a, b } = pair();
    seed(a, range('a', 3));
    seed(b, range('b', 3));
    const before = [snapshot(a), snapshot(b)];
    const r = syncPair(a, b, { salt: SALT, wire: (f, from) => (from === 'initiator' && f[1] === 1 ? Uint8Array.from([3, ...f.subarray(1)]) : f) });
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'E_PROTOCOL_VERSION');
    assert.deepEqual([snapshot(a), snapshot(b)], before);
    assert.deepEqual([a.cursor(B), b.cursor(A)], [undefined, undefined]);
  });

  test('an ERROR frame is read whatever its version byte', () => {
    const { a } = pair();
    const { session } = AntiEntropySession.initiate(a, { salt: SALT, peerReplica: B });
    // What a version-2 peer would send: ERROR code 0 (version), "v2 only", supported [2, 3].
    const fault = bytesOf((w) => w.u8(2).u8(3).u8(0).u8(0).string('v2 only').u8(2).u8(2).u8(3));
    assert.deepEqual(session.receive(fault), []);
    assert.equal(session.status, 'failed');
    assert.equal(session.error?.code, 'E_PROTOCOL_VERSION');
    assert.deepEqual(session.error?.details.supported, [2, 3]);
  });
});

// ---- choosing the way ---------------------------------------------------------------------------------

describe('R-ROOT-1 equal roots end in one round trip with a FIN', () => {
  for (const mode of ['auto', 'merkle', 'recent'] as const) {
    test(`${mode}: HELLO then one empty FIN step with PEER equal, nothing else`, () => {
      const { a, b } = pair();
      seed(a, range('k', 30));
      copy(a, b);
      const r = run(a, b, { mode });
      assert.ok(r.ok);
      assert.equal(r.sent.length, 2, 'exactly two frames in the whole session');
      const [hello, reply] = messages(r);
      assert.equal(hello.from, 'initiator');
      assert.equal(reply.from, 'responder');
      assert.equal(reply.fin, true);
      assert.equal(reply.peer?.mode, 'equal');
      assert.equal(reply.records.length, 0);
      controlFree(reply);
      assert.deepEqual([r.init.stats.used, r.resp.stats.used, r.init.stats.roundTrips], ['equal', 'equal', 1]);
      // Sizes from the document's tables: ~45 bytes of hello (33 here, no cursor) and ~20 of FIN.
      assert.equal(r.sent[0].bytes.length, helloSize(a.seq(), null, 30));
      assert.equal(r.sent[1].bytes.length, finWithPeerSize(b.seq(), null, b.tree.size));
      assert.deepEqual([r.init.stats.bytesSent, r.init.stats.bytesReceived], [r.sent[0].bytes.length, r.sent[1].bytes.length]);
      assert.deepEqual([r.resp.stats.bytesReceived, r.resp.stats.bytesSent], [r.sent[0].bytes.length, r.sent[1].bytes.length]);
      assert.deepEqual([r.init.stats.recordsSent, r.resp.stats.recordsSent], [0, 0]);
    });
  }

  test('two empty replicas are equal too', () => {
    const { a, b } = pair();
    const r = run(a, b);
    assert.deepEqual([r.ok, r.init.stats.used, r.init.stats.roundTrips, r.sent.length], [true, 'equal', 1, 2]);
  });

  test('one differing key is not equal (the comparison can fail)', () => {
    const { a, b } = pair();
    seed(a, range('k', 30));
    copy(a, b);
    seed(b, ['k7'], () => 'changed');
    const r = run(a, b);
    assert.ok(r.ok);
    assert.equal(r.init.stats.used, 'merkle');
    assert.ok(r.sent.length > 2);
    assertConverged(a, b);
  });
});

test('R-WHOLE-1 in whole mode the initiator sends every record with its hello', () => {
  const { a, b } = pair();
  seed(a, range('a', 6));
  a.write([{ key: 'a2', value: null }]); // a tombstone is a record too
  seed(b, range('b', 3));
  const mine = recordsOf(a);
  const r = run(a, b, { mode: 'whole' });
  const [hello] = messages(r);
  assert.equal(hello.hello?.mode, 'whole');
  assert.deepEqual([...hello.records].sort((x, y) => (x.key < y.key ? -1 : 1)), mine);
  assert.equal(r.init.stats.recordsSent, mine.length);

  // Even when nothing differs: whole is the naive baseline and never looks at the roots.
  const p = pair();
  seed(p.a, range('k', 4));
  copy(p.a, p.b);
  const same = run(p.a, p.b, { mode: 'whole' });
  assert.equal(messages(same)[0].records.length, 4);
  assert.equal(same.init.stats.used, 'whole');
});

test('R-WHOLE-2 the whole-mode responder answers with every record it has, FIN, one round trip', () => {
  const { a, b } = pair();
  seed(a, range('a', 5));
  seed(b, range('b', 4));
  const r = run(a, b, { mode: 'whole' });
  assert.ok(r.ok);
  const ms = messages(r);
  assert.equal(ms.length, 2);
  const reply = ms[1];
  assert.equal(reply.peer?.mode, 'whole');
  assert.equal(reply.fin, true);
  controlFree(reply);
  // "every record it has" includes the hello's records it just merged: 5 + 4.
  assert.deepEqual(keysOf(reply.records), keysOf(recordsOf(b)));
  assert.equal(reply.records.length, 9);
  assert.deepEqual([r.init.stats.used, r.resp.stats.used, r.init.stats.roundTrips], ['whole', 'whole', 1]);
  assert.deepEqual([r.resp.stats.recordsSent, r.init.stats.recordsReceived], [9, 9]);
  assertConverged(a, b);
});

describe('R-REC-1 with usable cursors and short logs the responder sends its changes, RECENT set', () => {
  /** After a first session: b changed b1, k3 and got g by gossip from a; a changed a1, a2, g. */
  function scene(): { a: Replica; b: Replica } {
    const { a, b } = met();
    seed(a, ['a1', 'a2']);
    seed(b, ['b1', 'k3']);
    seed(a, ['g']);
    copy(a, b, ['g']);
    return { a, b };
  }

  for (const mode of ['auto', 'recent'] as const) {
    test(`${mode}: RECENT step with exactly the responder's changes since the initiator's cursor`, () => {
      const { a, b } = scene();
      const since = a.cursor(B)!;
      const expected = b.changesSince(since, ALL).map((c) => ({ key: c.key, state: b.get(c.key)! })).sort((x, y) => (x.key < y.key ? -1 : 1));
      assert.deepEqual(keysOf(expected), ['b1', 'g', 'k3']);
      const bCursor = b.cursor(A);
      const r = run(a, b, { mode });
      assert.ok(r.ok);
      const reply = messages(r)[1];
      assert.equal(reply.peer?.mode, 'recent');
      assert.equal(reply.peer?.cursor, bCursor);
      assert.equal(reply.recent, true);
      assert.deepEqual([...reply.records].sort((x, y) => (x.key < y.key ? -1 : 1)), expected);
      assert.deepEqual([reply.nodes.length, reply.lists.length, reply.wants.length, reply.wantAll.length, reply.summaries.length], [0, 0, 0, 0, 0]);
      assert.deepEqual([r.init.stats.used, r.resp.stats.used, r.init.stats.roundTrips], ['recent', 'recent', 2]);
      assertConverged(a, b);
    });
  }

  test('merkle requested: cursors are not used even when they would be', () => {
    const { a, b } = scene();
    const r = run(a, b, { mode: 'merkle' });
    assert.ok(r.ok);
    assert.equal(r.init.stats.used, 'merkle');
    assert.ok(messages(r).every((m) => !m.recent));
    assertConverged(a, b);
  });

  // Boundaries of recentMax on each side (PROTOCOL.md: "moved by at most recentMax").
  for (const [side, n, used] of [['responder', 4, 'recent'], ['responder', 5, 'merkle'], ['initiator', 4, 'recent'], ['initiator', 5, 'merkle']] as const) {
    test(`recentMax 4: ${side} log moved by ${n} -> ${used}`, () => {
      const { a, b } = met();
      seed(side === 'responder' ? b : a, range('new', n));
      const r = run(a, b, { recentMax: 4 });
      assert.ok(r.ok);
      assert.equal(r.init.stats.used, used);
      assert.equal(messages(r)[1].recent, used === 'recent');
      assertConverged(a, b);
    });
  }

  for (const [n, used] of [[32, 'recent'], [33, 'merkle']] as const) {
    test(`default recentMax (32 in PROTOCOL.md): responder log moved by ${n} -> ${used}, a stale cursor falls back`, () => {
      const { a, b } = met();
      seed(b, range('new', n));
      const r = run(a, b);
      assert.ok(r.ok);
      assert.equal(r.init.stats.used, used);
      assertConverged(a, b);
    });
  }
});

test('R-REC-2 the initiator answers RECENT with its own changes (minus those just received) and ROOT_CHECK', () => {
  const { a, b } = met();
  seed(a, ['a1', 'a2']);
  seed(a, ['g']);
  copy(a, b, ['g']); // in both logs, identical: must not travel back
  seed(a, ['k5'], () => 'a edit');
  seed(b, ['k5'], () => 'b edit'); // concurrent: a's merged state differs from what b sent
  seed(b, ['b1']);
  const r = run(a, b);
  assert.ok(r.ok);
  const ms = messages(r);
  assert.equal(ms.length, 4);
  assert.deepEqual(keysOf(ms[1].records), ['b1', 'g', 'k5']);
  const answer = ms[2];
  assert.equal(answer.from, 'initiator');
  // a's log since b's cursor holds a1, a2, g, k5 and b's b1 (merged from RECENT); g and b1 equal
  // what b just sent, k5 is now the merge of both edits.
  assert.deepEqual(keysOf(answer.records), ['a1', 'a2', 'k5']);
  assert.deepEqual(answer.records.find((x) => x.key === 'k5')!.state, stateOf(a, 'k5'));
  assert.equal(answer.fin, false);
  assert.ok(answer.rootCheck);
  // a's state does not change after it sends ROOT_CHECK (b's FIN carries nothing), so compare now.
  assert.deepEqual(wireSummary(answer.rootCheck), summaryOf(a, [], SALT, 8));
  assert.equal(ms[3].records.length, 0);
  assert.deepEqual(values(b, 'k5'), ['a edit', 'b edit']);
  assertConverged(a, b);
});

// The records of a message are kept for R-REC-2 only while it has at most 1,024 of them (so a long
// transfer is never held whole in memory): past that, a RECENT message (possible with a large
// recentMax) gets its own records echoed back. More bytes, same converged state.
for (const [n, echoed] of [[1000, false], [1100, true]] as const) {
  test(`R-REC-2 with a RECENT message of ${n} records: ${echoed ? 'past the kept 1,024, they travel back' : 'none of them travels back'}`, () => {
    const { a, b } = met();
    seed(a, ['a1']);
    seed(b, range('b', n));
    const r = run(a, b, { recentMax: 2000 });
    assert.ok(r.ok);
    const ms = messages(r);
    assert.equal(ms[1].recent, true);
    assert.equal(ms[1].records.length, n);
    assert.equal(ms[2].records.length, echoed ? n + 1 : 1, 'a1, and with the echo every record just received');
    assertConverged(a, b);
  });
}

describe('R-REC-3 ROOT_CHECK equal ends with FIN; different continues as recent+merkle; no usable cursor means merkle', () => {
  test('equal ROOT_CHECK: the responder ends with an empty FIN, two round trips', () => {
    const { a, b } = met();
    seed(a, ['a1']);
    seed(b, ['b1']);
    const r = run(a, b);
    const ms = messages(r);
    assert.equal(ms.length, 4);
    assert.deepEqual([ms[3].from, ms[3].fin, ms[3].records.length], ['responder', true, 0]);
    assert.deepEqual([r.init.stats.used, r.resp.stats.used, r.init.stats.roundTrips], ['recent', 'recent', 2]);
    assertConverged(a, b);
  });

  test('a record outside both change-log windows (responder cursor too far): mismatch, recent+merkle repairs it', () => {
    const { a, b } = met();
    seed(a, ['hidden']);
    b.saveCursor(A, a.seq()); // b now wrongly believes it merged a's log through "hidden"
    seed(a, ['a1']);
    seed(b, ['b1']);
    const r = run(a, b);
    assert.ok(r.ok);
    assert.deepEqual([r.init.stats.used, r.resp.stats.used], ['recent+merkle', 'recent+merkle']);
    const ms = messages(r);
    assert.ok(!ms[2].records.some((x) => x.key === 'hidden'), 'the recent exchange itself missed it');
    assert.ok(ms[2].rootCheck);
    assert.equal(ms[3].from, 'responder');
    assert.equal(ms[3].fin, false, 'the mismatch did not end the session');
    assert.ok(ms[3].nodes.length + ms[3].lists.length > 0, 'the responder started a descent from the root');
    assert.deepEqual(values(b, 'hidden'), ['v:hidden']);
    assertConverged(a, b);
  });

  test('a record outside both windows (initiator cursor too far): mismatch, repaired', () => {
    const { a, b } = met();
    seed(b, ['hidden']);
    a.saveCursor(B, b.seq());
    seed(a, ['a1']);
    const r = run(a, b);
    assert.ok(r.ok);
    assert.equal(r.resp.stats.used, 'recent+merkle');
    assert.deepEqual(values(a, 'hidden'), ['v:hidden']);
    assertConverged(a, b);
  });

  test('a record dropped from the RECENT step on the wire: ROOT_CHECK catches it, merkle repairs it', () => {
    const { a, b } = met();
    seed(b, ['b1', 'b2']);
    const r = run(a, b, {
      tamper: (i, bytes) => {
        if (i !== 1) return bytes;
        const s = asStep(decodeFrame(bytes, W));
        const frames = encodeStep({ ...s, records: s.records.filter((x) => x.key !== 'b2') }, W);
        assert.equal(frames.length, 1);
        return frames[0];
      },
    });
    assert.ok(r.ok);
    assert.equal(r.resp.stats.used, 'recent+merkle');
    assertConverged(a, b);
  });

  const fallbacks: [string, () => { a: Replica; b: Replica }, Partial<SessionOptions>][] = [
    ['first meeting, recent requested', () => { const p = pair(); seed(p.a, range('a', 5)); seed(p.b, range('b', 5)); return p; }, { mode: 'recent' }],
    ['initiator cursor names another replica', () => { const p = met(); p.a.saveCursor(C, 1); seed(p.b, ['b1']); return p; }, { mode: 'recent', peerReplica: C }],
    ['responder has no cursor into the initiator', () => { const p = pair(); seed(p.a, range('k', 5)); copy(p.a, p.b); p.a.saveCursor(B, p.b.seq()); seed(p.b, ['b1']); return p; }, { mode: 'recent' }],
    ['initiator cursor ahead of the responder\'s log (log reset)', () => { const p = met(); p.a.saveCursor(B, p.b.seq() + 10); seed(p.b, ['b1']); return p; }, { mode: 'recent' }],
    ['responder cursor ahead of the initiator\'s log', () => { const p = met(); p.b.saveCursor(A, p.a.seq() + 10); seed(p.b, ['b1']); return p; }, { mode: 'recent' }],
  ];
  for (const [name, setup, opts] of fallbacks) {
    test(`falls back to merkle: ${name}`, () => {
      const { a, b } = setup();
      const r = run(a, b, opts);
      assert.ok(r.ok);
      assert.equal(r.init.stats.used, 'merkle');
      assert.ok(messages(r).every((m) => !m.recent && m.rootCheck === null));
      assertConverged(a, b);
    });
  }
});

// ---- merkle descent ---------------------------------------------------------------------------------

describe('R-NODE-1 equal count and digest: the subtree is done', () => {
  test('one differing key among 600: every compared path lies on that key\'s path, only it travels', () => {
    const { a, b } = pair();
    seed(a, range('k', 600));
    copy(a, b);
    seed(b, ['extra']);
    const target = pathOf('extra');
    const r = run(a, b, { listMax: 24 });
    assert.ok(r.ok);
    const paths = messages(r).flatMap((m) => [...m.nodes.map((n) => n.path), ...m.lists.map((l) => l.path), ...m.wants.map((x) => x.path), ...m.wantAll]);
    assert.ok(messages(r).some((m) => m.nodes.some((n) => n.path.length > 0)), 'the descent went below the root');
    for (const p of paths) assert.ok(isPrefix(p, target), `path ${p.join('.')} is off the differing key's path`);
    const moved = messages(r).flatMap((m) => m.records.map((x) => x.key));
    assert.deepEqual(moved, ['extra']);
    assertConverged(a, b);
  });

  for (const width of [2, 8, 16]) {
    test(`digest width ${width}: expansions carry ${width}-byte salted digests and the session converges`, () => {
      const { a, b } = pair();
      seed(a, range('k', 100));
      copy(a, b);
      seed(a, ['x1']);
      seed(b, ['y1']);
      const children = range('', 16).map((_, i) => summaryOf(b, [i], SALT, width));
      const r = run(a, b, { width, listMax: 8 });
      assert.ok(r.ok);
      const root = messages(r)[1].nodes.find((n) => n.path.length === 0);
      assert.ok(root, 'the responder expanded the root');
      assert.deepEqual(root.children.map(wireSummary), children);
      assertConverged(a, b);
    });
  }
});

describe('R-NODE-2 peer count 0: send every record under the path', () => {
  test('a subtree only the initiator has: its records ride the next message, FIN, no request', () => {
    const { a, b } = pair();
    seed(a, keysUnder([5], 300, 's', true));
    copy(a, b);
    const extras = keysUnder([5], 12, 'e');
    seed(a, extras);
    const r = run(a, b, { listMax: 24 });
    assert.ok(r.ok);
    const ms = messages(r);
    assert.equal(ms.length, 3);
    assert.ok(ms[1].nodes.some((n) => n.path.length === 0 && n.children[5].count === 0), 'b expanded the root with 0 under nibble 5');
    assert.deepEqual(keysOf(ms[2].records), [...extras].sort());
    assert.equal(ms[2].fin, true);
    controlFree(ms[2]);
    assert.equal(r.init.stats.roundTrips, 1);
    assertConverged(a, b);
  });

  test('at the root: an empty initiator gets everything in the first reply', () => {
    const { a, b } = pair();
    seed(b, range('b', 40));
    const r = run(a, b);
    const ms = messages(r);
    assert.equal(ms.length, 2);
    assert.deepEqual(keysOf(ms[1].records), keysOf(recordsOf(b)));
    assert.equal(ms[1].fin, true);
    assert.equal(r.init.stats.roundTrips, 1);
    assertConverged(a, b);
  });
});

describe('R-NODE-3 own count 0: WANT-ALL the path; the peer answers with every record under it', () => {
  test('a subtree only the responder has: the initiator wants all of [5] and gets exactly it', () => {
    const { a, b } = pair();
    seed(a, keysUnder([5], 300, 's', true));
    copy(a, b);
    const extras = keysUnder([5], 12, 'e');
    seed(b, extras);
    const r = run(a, b, { listMax: 24 });
    assert.ok(r.ok);
    const ms = messages(r);
    assert.equal(ms.length, 4);
    assert.deepEqual(ms[2].wantAll, [[5]]);
    assert.deepEqual([ms[2].records.length, ms[2].lists.length, ms[2].nodes.length], [0, 0, 0]);
    assert.deepEqual(keysOf(ms[3].records), [...extras].sort());
    assert.equal(ms[3].fin, true);
    assert.equal(r.init.stats.roundTrips, 2);
    assertConverged(a, b);
  });

  test('at the root: an empty responder wants all, the initiator sends everything with FIN', () => {
    const { a, b } = pair();
    seed(a, range('a', 40));
    const r = run(a, b);
    const ms = messages(r);
    assert.equal(ms.length, 3);
    assert.deepEqual(ms[1].wantAll, [[]]);
    assert.deepEqual(keysOf(ms[2].records), keysOf(recordsOf(a)));
    assert.equal(ms[2].fin, true);
    assertConverged(a, b);
  });
});

describe('R-NODE-4 own count <= listMax (or full depth): LIST; otherwise EXPAND 16 child summaries', () => {
  for (const [listMax, expect] of [[10, 'list'], [9, 'expand']] as const) {
    test(`10 keys, listMax ${listMax}: ${expect}`, () => {
      const { a, b } = pair();
      seed(a, range('a', 10));
      seed(b, range('b', 10));
      const listing = recordsOf(b).map((x) => `${keyIdOf(SALT, x.key)}:${hex(salted(SALT, leafOf(x), W))}`).sort();
      const children = range('', 16).map((_, i) => summaryOf(b, [i], SALT, W));
      const r = run(a, b, { listMax });
      assert.ok(r.ok);
      const first = messages(r)[1];
      if (expect === 'list') {
        assert.equal(first.nodes.length, 0);
        assert.equal(first.lists.length, 1);
        assert.deepEqual(first.lists[0].path, []);
        // Entries are (salted key id, salted version digest) of each of b's keys.
        assert.deepEqual(first.lists[0].entries.map((e) => `${e.id}:${hex(e.digest)}`).sort(), listing);
      } else {
        assert.equal(first.lists.length, 0);
        assert.equal(first.nodes.length, 1);
        assert.deepEqual(first.nodes[0].path, []);
        assert.equal(first.nodes[0].children.length, 16);
        assert.deepEqual(first.nodes[0].children.map(wireSummary), children);
      }
      assertConverged(a, b);
    });
  }

  test('listMax 0: a concurrently edited key is expanded down to full depth (32), then listed, never expanded there', () => {
    const { a, b } = pair();
    seed(a, ['k', 's1', 's2']);
    copy(a, b);
    seed(a, ['k'], () => 'a');
    seed(b, ['k'], () => 'b');
    const r = run(a, b, { listMax: 0 });
    assert.ok(r.ok);
    const ms = messages(r);
    const expanded = ms.flatMap((m) => m.nodes.map((n) => n.path.length));
    assert.equal(Math.max(...expanded), 31, 'expansions go as deep as 31 (children at depth 32)');
    const lists = ms.flatMap((m) => m.lists);
    assert.ok(lists.some((l) => l.path.length === 32 && isPrefix(l.path, pathOf('k'))), 'the full-depth node was listed');
    assert.ok(lists.every((l) => l.path.length === 32));
    assert.deepEqual(values(a, 'k'), ['a', 'b']);
    assertConverged(a, b);
  });
});

// ---- lists and summaries ------------------------------------------------------------------------------

/** Shared 20 keys, then whatever `change` does; listMax 1000 so b lists the root at once. */
function listed(change: (a: Replica, b: Replica) => void): { a: Replica; b: Replica; r: Run; ms: Message[] } {
  const { a, b } = pair();
  seed(a, range('k', 20));
  copy(a, b);
  change(a, b);
  const r = run(a, b, { listMax: 1000 });
  assert.ok(r.ok);
  const ms = messages(r);
  assert.deepEqual(ms[1].lists.map((l) => l.path), [[]], 'b listed the root');
  return { a, b, r, ms };
}

test('R-LIST-1 an own key the list lacks is sent at once, unasked', () => {
  const { a, b, r, ms } = listed((a) => seed(a, ['x']));
  assert.equal(ms.length, 3);
  assert.deepEqual(keysOf(ms[2].records), ['x']);
  assert.equal(ms[2].fin, true);
  controlFree(ms[2]);
  assert.ok(ms.every((m) => m.wants.length === 0), 'nobody had to ask for it');
  assert.equal(r.init.stats.roundTrips, 1);
  assertConverged(a, b);
});

test('R-LIST-2 a listed id the receiver lacks is WANTed by (path, id) and the record comes back', () => {
  const { a, b, r, ms } = listed((_a, b) => seed(b, ['y']));
  assert.equal(ms.length, 4);
  assert.deepEqual(ms[2].wants, [{ path: [], ids: [keyIdOf(SALT, 'y')] }]);
  assert.equal(ms[2].records.length, 0);
  assert.deepEqual(keysOf(ms[3].records), ['y']);
  assert.equal(ms[3].fin, true);
  assert.equal(r.init.stats.roundTrips, 2);
  assertConverged(a, b);
});

test('R-LIST-3 same id, different digest: a SUMMARY of own state goes instead of the record', () => {
  const { a, b, ms } = listed((a) => seed(a, ['k4'], () => 'newer on a'));
  const s = ms[2];
  assert.equal(s.records.length, 0, 'no record before we know who lacks what');
  assert.equal(s.summaries.length, 1);
  const k4 = stateOf(a, 'k4');
  assert.deepEqual(s.summaries[0], { path: [], id: keyIdOf(SALT, 'k4'), context: k4.context, dots: k4.versions.map((v) => ({ device: v.device, counter: v.counter })) });
  // b's versions are all in a's context; only b lacks something: it wants, sends nothing.
  assert.deepEqual(ms[3].wants, [{ path: [], ids: [keyIdOf(SALT, 'k4')] }]);
  assert.equal(ms[3].records.length, 0);
  assert.deepEqual(keysOf(ms[4].records), ['k4']);
  assert.deepEqual(values(b, 'k4'), ['newer on a']);
  assertConverged(a, b);
});

describe('R-SUM-1 a SUMMARY makes the receiver send what the peer lacks and want what it lacks', () => {
  test('common key changed on both sides concurrently: both end with both versions', () => {
    const { a, b, ms } = listed((a, b) => {
      seed(a, ['k4'], () => 'from a');
      seed(b, ['k4'], () => 'from b');
    });
    assert.equal(ms[2].summaries.length, 1);
    const reply = ms[3];
    assert.deepEqual(keysOf(reply.records), ['k4'], 'b sends its version a has not seen');
    assert.deepEqual(reply.wants, [{ path: [], ids: [keyIdOf(SALT, 'k4')] }], 'and wants the one it has not seen');
    assert.deepEqual(values(a, 'k4'), ['from a', 'from b']);
    assert.deepEqual(values(b, 'k4'), ['from a', 'from b']);
    assertConverged(a, b);
  });

  test('neither side lacks a dot yet the digests differ (a cloned device): both states travel, merge settles them', () => {
    const one = (wall: number, value: string): KeyState => ({ context: { [C]: 1 }, versions: [{ device: C, counter: 1, wall, tick: 0, value }] });
    const { a, b, ms } = listed((a, b) => {
      a.apply([{ key: 'twin', state: one(NOW - 10, 'x') }]);
      b.apply([{ key: 'twin', state: one(NOW - 5, 'y') }]);
    });
    const reply = ms[3];
    assert.deepEqual(keysOf(reply.records), ['twin']);
    assert.deepEqual(reply.wants, [{ path: [], ids: [keyIdOf(SALT, 'twin')] }]);
    assert.deepEqual(stateOf(a, 'twin'), stateOf(b, 'twin'));
    assertConverged(a, b);
  });

  test('a summary for a key the receiver does not hold: it wants it', () => {
    const a = replica(A);
    seed(a, ['k0']);
    const { session } = AntiEntropySession.initiate(a, { salt: SALT, mode: 'merkle', peerReplica: B });
    // A reply from "b" summarizing a key a lacks.
    const step = encodeStep({
      ...emptyStep(), peer: { mode: 'merkle', replica: B, seq: 1, cursor: null, count: 1, status: new Uint8Array(8) },
      summaries: [{ path: [], id: 12345, context: { [B]: 1 }, dots: [{ device: B, counter: 1 }] }],
    }, W);
    const out = session.receive(step[0]);
    const m = asStep(decodeFrame(out[0], W));
    assert.deepEqual(m.wants, [{ path: [], ids: [12345] }]);
    assert.equal(m.records.length, 0);
  });
});

// ---- ending -------------------------------------------------------------------------------------------

/** Finished sessions of every shape, for the rules that hold for all of them. */
function everyShape(): [string, Run][] {
  const shapes: [string, Run][] = [];
  for (const s of SCENARIOS) {
    const { a, b } = s.setup();
    shapes.push([s.name, run(a, b, s.opts)]);
  }
  const eq = pair();
  seed(eq.a, range('k', 5));
  copy(eq.a, eq.b);
  shapes.push(['equal', run(eq.a, eq.b)]);
  const hidden = met();
  seed(hidden.a, ['hidden']);
  hidden.b.saveCursor(A, hidden.a.seq());
  seed(hidden.b, ['b1']);
  shapes.push(['recent+merkle', run(hidden.a, hidden.b)]);
  const deep = pair();
  seed(deep.a, ['k']);
  copy(deep.a, deep.b);
  seed(deep.a, ['k'], () => 'a');
  seed(deep.b, ['k'], () => 'b');
  shapes.push(['full depth', run(deep.a, deep.b, { listMax: 0 })]);
  const empty = pair();
  seed(empty.a, range('a', 40));
  shapes.push(['want-all root', run(empty.a, empty.b)]);
  return shapes;
}

describe('R-FIN-1 a message asking nothing is sent with FIN, ends the session, and nothing answers it', () => {
  const shapes = everyShape();
  for (const [name, r] of shapes) {
    test(`${name}: FIN exactly on the message that asks nothing, and it is the last`, () => {
      assert.ok(r.ok, `${name} completes`);
      const ms = messages(r);
      ms.forEach((m, i) => {
        if (i === 0) return; // the hello is not a step
        assert.equal(m.fin, !asks(m), `message ${i} (${m.from}): FIN iff it asks nothing`);
      });
      assert.equal(ms.filter((m) => m.fin).length, 1);
      assert.equal(ms[ms.length - 1].fin, true, 'the FIN message is the last one sent');
      // Frames inside a message: only the last may close it, and a FIN frame holds records/PEER only.
      for (const m of ms) {
        m.frames.forEach((f, i) => {
          if (f.type !== 'step') return;
          assert.equal(f.more, i < m.frames.length - 1);
          if (f.fin) assert.deepEqual([f.nodes.length, f.lists.length, f.wants.length, f.wantAll.length, f.summaries.length, f.recent, f.rootCheck], [0, 0, 0, 0, 0, false, null]);
        });
      }
      const last = r.deliveries[r.deliveries.length - 1];
      assert.deepEqual(last.replies, [], 'the FIN got no answer');
      assert.deepEqual([r.init.status, r.resp.status], ['done', 'done']);
      // Round trips are counted on the initiator: each message it sends without FIN is one wait.
      assert.equal(r.init.stats.roundTrips, ms.filter((m) => m.from === 'initiator' && !m.fin).length);
    });
  }

  test('a frame after the end is refused with a ProtocolError (E_PROTOCOL_STATE) and changes nothing', () => {
    const { a, b } = pair();
    seed(a, ['x']);
    const r = run(a, b);
    assert.ok(r.ok);
    for (const [session, rep] of [[r.init, a], [r.resp, b]] as const) {
      const before = snapshot(rep);
      assert.throws(() => session.receive(stepFrame(0, (w) => { intruder(w); zeros(w, 5); })), (e: unknown) => e instanceof ProtocolError && e.code === 'E_PROTOCOL_STATE');
      assert.deepEqual(snapshot(rep), before);
      assert.equal(session.status, 'done');
    }
  });
});

describe('R-CUR-1 cursors are recorded only when the session ends well', () => {
  test('success: initiator keeps (responder, seq from PEER), responder keeps (initiator, seq from HELLO)', () => {
    const { a, b } = pair();
    seed(a, range('a', 5));
    seed(b, range('b', 7));
    const sent: { from: string; bytes: Uint8Array }[] = [];
    const r = syncPair(a, b, { salt: SALT, wire: (f, from) => { sent.push({ from, bytes: f }); return f; } });
    assert.ok(r.ok);
    const hello = asHello(decodeFrame(sent[0].bytes, null));
    const peer = asStep(decodeFrame(sent.find((s) => s.from === 'responder')!.bytes, W)).peer!;
    assert.equal(a.cursor(B), peer.seq);
    assert.equal(b.cursor(A), hello.seq);
    assert.equal(peer.seq, 7, 'b\'s log position before it merged anything of a');
    assert.equal(hello.seq, 5);
    assert.ok(a.seq() > 5 && b.seq() > 7, 'both merged records after those positions');
  });

  test('the session getter: cursor is null until done, and null after a failure', () => {
    const a = replica(A);
    seed(a, ['x']);
    const { session } = AntiEntropySession.initiate(a, { salt: SALT, peerReplica: B });
    assert.equal(session.cursor, null);
    session.receive(bytesOf((w) => w.u8(1).u8(3).u8(0).u8(1).string('busy').u8(1).u8(1)));
    assert.equal(session.status, 'failed');
    assert.equal(session.error?.code, 'E_PEER_ERROR');
    assert.equal(session.cursor, null);
  });

  for (const [name, setup] of [
    ['initiator sends the last frame', (a: Replica) => seed(a, ['x'])],
    ['responder sends the last frame', (_a: Replica, b: Replica) => seed(b, ['y'])],
  ] as const) {
    test(`last frame dropped (${name}): syncPair saves no cursor on either side`, () => {
      const make = () => {
        const p = pair();
        seed(p.a, range('k', 10));
        copy(p.a, p.b);
        setup(p.a, p.b);
        p.a.saveCursor(B, 1);
        p.b.saveCursor(A, 2);
        return p;
      };
      const probe = make();
      let total = 0;
      assert.ok(syncPair(probe.a, probe.b, { salt: SALT, listMax: 1000, wire: (f) => { total++; return f; } }).ok);
      assert.ok(total >= 3);
      const { a, b } = make();
      let n = 0;
      const r = syncPair(a, b, { salt: SALT, listMax: 1000, wire: (f) => (++n === total ? null : f) });
      assert.equal(r.ok, false);
      assert.deepEqual([a.cursor(B), b.cursor(A)], [1, 2], 'the cursors of the earlier meeting are untouched');
    });
  }

  test('a tampered frame fails the session: no cursor saved', () => {
    const { a, b } = pair();
    seed(a, range('k', 10));
    const r = syncPair(a, b, { salt: SALT, wire: (f, from) => (from === 'responder' ? f.subarray(0, f.length - 1) : f) });
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'E_FRAME_MALFORMED');
    assert.deepEqual([a.cursor(B), b.cursor(A)], [undefined, undefined]);
  });
});

// ---- errors and limits ------------------------------------------------------------------------------

describe('R-ERR-1 a bad frame fails the session, gets ERROR malformed back, and nothing of it is merged', () => {
  for (const s of SCENARIOS) {
    test(`${s.name}: every truncation of every frame`, () => {
      const g = good(s);
      let n = 0;
      for (const f of g.sent) {
        for (let len = 0; len < f.bytes.length; len++) {
          refuse(s, f.index, f.bytes.slice(0, len), 'E_FRAME_MALFORMED', 'malformed', `${s.name} frame ${f.index} (${f.from}) cut to ${len}/${f.bytes.length}`);
          n++;
        }
      }
      assert.equal(n, g.sent.reduce((x, f) => x + f.bytes.length, 0));
    });
  }

  for (const s of SCENARIOS) {
    test(`${s.name}: random byte flips (fast-check, seed 42)`, () => {
      const g = good(s);
      fc.assert(fc.property(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (fi, pos, mask) => {
        const f = g.sent[fi % g.sent.length];
        const bad = f.bytes.slice();
        const p = pos % bad.length;
        bad[p] ^= mask;
        const inj = inject(s, g.sent, f.index, bad);
        const label = `${s.name} frame ${f.index} byte ${p} ^ ${mask}`;
        assert.equal(inj.thrown, undefined, `${label}: receive() threw ${String(inj.thrown)}`);
        const expected = oracle(bad, inj.width);
        if (expected !== 'valid') assertRefused(inj, expected.code, expected.fault, label);
        else if (inj.receiver.status === 'failed') {
          // A well-formed frame can still be out of turn (a flipped flag): same contract.
          assert.ok(inj.receiver.error instanceof ProtocolError, label);
          assertRefused(inj, inj.receiver.error.code, 'malformed', label);
        }
      }), { seed: 42, numRuns: 300 });
    });
  }

  test('a bad frame fails its whole message: records of the message\'s earlier frames are not merged either', () => {
    const big = (i: number) => `${i}`.concat(incompressible(600_000, i));
    const BIG: Scenario = {
      name: 'big whole',
      setup() {
        const { a, b } = pair();
        a.write(['r0', 'r1', 'r2'].map((key, i) => ({ key, value: big(i) })));
        return { a, b };
      },
      opts: { mode: 'whole' },
    };
    const g = recorded(BIG);
    const hello = g.sent.filter((s) => s.from === 'initiator').map((s) => decodeSent(s, W));
    assert.deepEqual(hello.map((f) => f.type), ['hello', 'step', 'step'], 'the hello continues in two STEP frames');
    const keyIn = (f: Frame) => (f.type === 'error' ? [] : f.records.map((x) => x.key));
    const [k0, k1, k2] = hello.map(keyIn);
    assert.deepEqual([k0.length, k1.length, k2.length], [1, 1, 1]);
    const inj = inject(BIG, g.sent, 2, g.sent[2].bytes.slice(0, 1000));
    assertRefused(inj, 'E_FRAME_MALFORMED', 'malformed', 'truncated third frame');
    const valueOf = (key: string) => inj.replica.get(key)?.versions[0].value;
    // Records are merged when a message's last frame arrives, so the two valid frames before the
    // bad one were held, never merged, and are dropped with the session.
    for (const k of [k0[0], k1[0], k2[0]]) assert.equal(valueOf(k), undefined, `${k} of the refused message is not merged`);
  });

  test('a huge message is merged in chunks: a bad frame drops only what is not merged yet, and the next session sends only that', () => {
    // The same three ~600 KB records, with the receiver's inbox limit (2 MiB in the app) set
    // just above one record: after the second frame, 1.2 MB wait and are merged as a chunk.
    const big = (i: number) => `${i}`.concat(incompressible(600_000, i));
    const CHUNKED: Scenario = {
      name: 'big whole, small inbox',
      setup() {
        const { a, b } = pair();
        a.write(['r0', 'r1', 'r2'].map((key, i) => ({ key, value: big(i) })));
        return { a, b };
      },
      opts: { mode: 'whole', inboxBytes: 700_000 },
    };
    const g = recorded(CHUNKED);
    const keys = g.sent.filter((s) => s.from === 'initiator').map((s) => decodeSent(s, W)).map((f) => (f.type === 'error' ? [] : f.records.map((x) => x.key)));
    assert.deepEqual(keys.map((k) => k.length), [1, 1, 1], 'one record per frame');
    const inj = inject(CHUNKED, g.sent, 2, g.sent[2].bytes.slice(0, 1000));
    assert.equal(inj.receiver.status, 'failed');
    assert.equal((inj.receiver.error as ProtocolError).code, 'E_FRAME_MALFORMED');
    assert.equal(asFault(inj.replies[0]).code, 'malformed');
    const valueOf = (key: string) => inj.replica.get(key)?.versions[0].value;
    assert.equal(valueOf(keys[0][0]), big(Number(keys[0][0].slice(1))), 'the first chunk (frames 1-2) stays merged');
    assert.equal(valueOf(keys[1][0]), big(Number(keys[1][0].slice(1))));
    assert.equal(valueOf(keys[2][0]), undefined, 'the bad frame\'s record is not merged');
    // What stayed merged is a valid state: the next session completes and moves only the rest.
    const { a } = CHUNKED.setup();
    const next = syncPair(a, inj.replica, { mode: 'merkle' });
    assert.ok(next.ok, String(next.error));
    assert.equal(next.initiator.recordsSent, 1, 'only the record that was not merged travels again');
    assert.equal(valueOf(keys[2][0]), big(Number(keys[2][0].slice(1))));
  });

  test('the inbox limit is checked', () => {
    const { a } = pair();
    for (const bad of [0, -1, 1.5, 64 * 1024 * 1024]) assert.throws(() => AntiEntropySession.respond(a, { inboxBytes: bad }), RangeError, String(bad));
  });

  const unknown: [string, number, () => Uint8Array][] = [
    ['unknown frame type 7', TO_RESPONDER_MID, () => bytesOf((w) => { w.u8(V).u8(7).u8(0); intruder(w); zeros(w, 5); })],
    ['unknown frame type 0', TO_INITIATOR_MID, () => bytesOf((w) => { w.u8(V).u8(0).u8(0); intruder(w); zeros(w, 5); })],
    ['unknown step flag 32', TO_RESPONDER_MID, () => stepFrame(32, (w) => { intruder(w); zeros(w, 5); })],
    ['unknown step flag 128', TO_INITIATOR_MID, () => stepFrame(128, (w) => { intruder(w); zeros(w, 5); })],
    ['MORE together with FIN', TO_INITIATOR_MID, () => stepFrame(F_MORE | F_FIN, (w) => { intruder(w); zeros(w, 5); })],
    ['MORE together with RECENT', TO_INITIATOR_MID, () => stepFrame(F_MORE | F_RECENT, (w) => { intruder(w); zeros(w, 5); })],
    ['unknown hello flags', 0, () => helloFrame({ flags: 2 })],
    ['unknown hello mode 4', 0, () => helloFrame({ mode: 4 })],
    ['hello cursor flag 2', 0, () => bytesOf((w) => { w.u8(1).u8(1).u8(0).u8(0).bytes(SALT).u8(W).bytes(fromHex(A)).varint(1).u8(2); })],
    ['unknown reply mode 4 in PEER', 1, () => stepFrame(F_PEER, (w) => { peerSection(w, null, 4); intruder(w); zeros(w, 5); })],
    ['PEER cursor flag 2', 1, () => stepFrame(F_PEER, (w) => { w.u8(2).bytes(fromHex(B)).varint(1).u8(2); intruder(w); zeros(w, 5); })],
    ['a trailing byte after a whole frame', TO_RESPONDER_MID, () => stepFrame(0, (w) => { intruder(w); zeros(w, 5); w.u8(0); })],
    ['a hello with a trailing byte', 0, () => helloFrame({ tail: (w) => { w.varint(0).u8(9); } })],
    ['ERROR frame message of 2001 bytes', TO_INITIATOR_MID, () => bytesOf((w) => w.u8(1).u8(3).u8(0).u8(2).string('m'.repeat(2001)).u8(0))],
    ['ERROR frame message with invalid UTF-8', TO_RESPONDER_MID, () => bytesOf((w) => w.u8(1).u8(3).u8(0).u8(2).varint(2).u8(0xc3).u8(0x28).u8(0))],
  ];
  for (const [name, index, bytes] of unknown) {
    test(`hand-built: ${name}`, () => {
      refuse(MERKLE, index, bytes(), 'E_FRAME_MALFORMED', 'malformed', name);
    });
  }

  test('decodeFrame throws nothing but ProtocolError for random input (fast-check, seed 42)', () => {
    const codes = new Set<ErrorCode>(['E_FRAME_MALFORMED', 'E_FRAME_TOO_LARGE', 'E_PROTOCOL_VERSION', 'E_PROTOCOL_STATE']);
    const real = SCENARIOS.flatMap((s) => good(s).sent.map((f) => ({ bytes: f.bytes, hello: f.index === 0 })));
    const check = (bytes: Uint8Array, width: number | null): void => {
      try {
        decodeFrame(bytes, width);
      } catch (e) {
        assert.ok(e instanceof ProtocolError, `threw ${String(e)}`);
        assert.ok(codes.has(e.code), e.code);
      }
    };
    const width = fc.option(fc.integer({ min: 2, max: 16 }), { nil: null });
    // Pure noise, noise behind a plausible header, and real frames with a few bytes changed.
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), width, (b, w) => check(b, w)), { seed: 42, numRuns: 2000 });
    fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.nat(31), fc.uint8Array({ maxLength: 300 }), width, (t, flags, rest, w) => {
      check(Uint8Array.from([1, t, flags, ...rest]), w);
    }), { seed: 42, numRuns: 3000 });
    fc.assert(fc.property(fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (i, edits) => {
      const f = real[i % real.length];
      const b = f.bytes.slice();
      for (const [pos, v] of edits) b[pos % b.length] = v;
      check(b, f.hello ? null : W);
    }), { seed: 42, numRuns: 3000 });
  });
});

/** What receive() must do with `bad`, judged from the bytes (PROTOCOL.md R-VER-1, R-ERR-1). */
function oracle(bad: Uint8Array, width: number | null): { code: ErrorCode; fault: FaultCode | null } | 'valid' {
  if (width === null && bad.length >= 3 && !SUPPORTED_VERSIONS.includes(bad[0]) && bad[1] !== 3) return { code: 'E_PROTOCOL_VERSION', fault: 'version' };
  try {
    const f = decodeFrame(bad, width);
    if (f.type === 'error') return { code: f.code === 'version' ? 'E_PROTOCOL_VERSION' : 'E_PEER_ERROR', fault: null };
    return 'valid';
  } catch (e) {
    assert.ok(e instanceof ProtocolError, `decodeFrame threw ${String(e)}`);
    return { code: e.code, fault: e.code === 'E_PROTOCOL_VERSION' ? 'version' : 'malformed' };
  }
}

describe('R-ERR-2 a frame out of turn fails the session with E_PROTOCOL_STATE, merging nothing', () => {
  /** Out of turn frames get one ERROR back (the peer would wait otherwise) and change nothing. */
  function outOfTurn(index: number, bad: Uint8Array, label: string, s: Scenario = MERKLE): void {
    refuse(s, index, bad, 'E_PROTOCOL_STATE', 'malformed', label);
  }
  const plain = (w: ByteWriter) => { intruder(w); zeros(w, 5); };

  test('a STEP before the HELLO', () => outOfTurn(0, stepFrame(0, plain), 'step first'));
  test('a second HELLO', () => outOfTurn(TO_RESPONDER_MID, helloFrame(), 'second hello'));
  test('a HELLO sent to the initiator', () => outOfTurn(1, helloFrame(), 'hello to initiator'));
  test('a first reply without PEER', () => outOfTurn(1, stepFrame(0, plain), 'no peer'));
  test('PEER on a later reply', () => outOfTurn(TO_INITIATOR_MID, stepFrame(F_PEER, (w) => { peerSection(w); plain(w); }), 'late peer'));
  test('PEER sent to the responder', () => outOfTurn(TO_RESPONDER_MID, stepFrame(F_PEER, (w) => { peerSection(w); plain(w); }), 'peer to responder'));
  test('RECENT when the responder named no cursor into the initiator', () => {
    outOfTurn(1, stepFrame(F_PEER | F_RECENT, (w) => { peerSection(w, null, 3); plain(w); }), 'recent without cursor');
  });
  test('RECENT sent to the responder', () => outOfTurn(TO_RESPONDER_MID, stepFrame(F_RECENT, plain), 'recent to responder'));

  const finWith: [string, number, (w: ByteWriter) => void][] = [
    ['nodes', F_FIN, (w) => { intruder(w); w.varint(1); writePath(w, [3]); for (let i = 0; i < 16; i++) w.varint(0); zeros(w, 4); }],
    ['lists', F_FIN, (w) => { intruder(w); w.varint(0).varint(1); writePath(w, [3]); w.varint(0); zeros(w, 3); }],
    ['wants', F_FIN, (w) => { intruder(w); zeros(w, 2); w.varint(1); writePath(w, [3]); w.varint(1); keyId(w, 7); zeros(w, 2); }],
    ['want-all', F_FIN, (w) => { intruder(w); zeros(w, 3); w.varint(1); writePath(w, [3]); zeros(w, 1); }],
    ['summaries', F_FIN, (w) => { intruder(w); zeros(w, 4); w.varint(1); writePath(w, [3]); keyId(w, 7).varint(0).varint(0); }],
    ['RECENT', F_FIN | F_RECENT, plain],
    ['ROOT_CHECK', F_FIN | F_ROOT_CHECK, (w) => { w.varint(0); plain(w); }],
  ];
  for (const [name, flags, body] of finWith) {
    test(`a FIN frame with ${name}`, () => {
      outOfTurn(TO_RESPONDER_MID, stepFrame(flags, body), `fin with ${name} to responder`);
      outOfTurn(TO_INITIATOR_MID, stepFrame(flags, body), `fin with ${name} to initiator`);
    });
  }

  for (const [name, flags, body] of [
    ['want-all', 0, (w: ByteWriter) => { intruder(w); zeros(w, 3); w.varint(1); writePath(w, []); zeros(w, 1); }],
    ['FIN', F_FIN, plain],
    ['PEER', F_PEER, (w: ByteWriter) => { peerSection(w); plain(w); }],
  ] as const) {
    test(`control (${name}) in a hello continuation: refused; nothing of that hello is merged`, () => {
      const { b } = pair();
      const resp = AntiEntropySession.respond(b);
      const first: KeyRecord = { key: 'first', state: INTRUDER.state };
      assert.deepEqual(resp.receive(helloFrame({ flags: F_MORE, records: [first] })), []);
      assert.equal(b.get('first'), undefined, 'records wait for the message\'s last frame');
      const before = snapshot(b);
      const out = resp.receive(stepFrame(flags, body));
      assert.equal(resp.status, 'failed');
      assert.equal(resp.error?.code, 'E_PROTOCOL_STATE');
      assert.equal(out.length, 1);
      asFault(out[0]);
      assert.deepEqual(snapshot(b), before);
      assert.equal(b.get('intruder'), undefined);
      assert.equal(b.get('first'), undefined, 'the refused message\'s first frame was dropped with it');
    });
  }
});

describe('P-LIM-1 a frame is at most 4 MiB', () => {
  test('a frame of MAX_FRAME_BYTES + 1 fails with E_FRAME_TOO_LARGE at either side, nothing merged', () => {
    const huge = new Uint8Array(MAX_FRAME_BYTES + 1);
    const head = stepFrame(0, intruder);
    huge.set(head);
    assert.throws(() => decodeFrame(huge, W), (e: unknown) => e instanceof ProtocolError && e.code === 'E_FRAME_TOO_LARGE');
    refuse(MERKLE, TO_RESPONDER_MID, huge, 'E_FRAME_TOO_LARGE', 'malformed', 'too large to responder');
    refuse(MERKLE, TO_INITIATOR_MID, huge, 'E_FRAME_TOO_LARGE', 'malformed', 'too large to initiator');
    refuse(MERKLE, 0, huge, 'E_FRAME_TOO_LARGE', 'malformed', 'too large as the hello');
  });

  test('a valid frame of exactly MAX_FRAME_BYTES decodes', () => {
    const rec = (key: string, n: number): KeyRecord => ({ key, state: { context: { [C]: 1 }, versions: [{ device: C, counter: 1, wall: NOW, tick: 0, value: 'x'.repeat(n) }] } });
    const frameOf = (last: number) => stepFrame(0, (w) => {
      w.varint(4);
      for (let i = 0; i < 3; i++) writeRecord(w, rec(`r${i}`, 1024 * 1024));
      writeRecord(w, rec('r3', last));
      zeros(w, 5);
    });
    const probe = frameOf(0).length;
    const exact = frameOf(MAX_FRAME_BYTES - probe - 2); // the value's length varint grows by 2 bytes
    assert.equal(exact.length, MAX_FRAME_BYTES);
    assert.equal(asStep(decodeFrame(exact, W)).records.length, 4);
  });

  test('encoders split large data so every frame stays under the limit, and the session completes', () => {
    const { a, b } = pair();
    a.write(range('a', 6).map((key, i) => ({ key, value: incompressible(900_000, i) })));
    b.write(range('b', 3).map((key, i) => ({ key, value: incompressible(900_000, 100 + i) })));
    const r = run(a, b, { mode: 'whole' });
    assert.ok(r.ok);
    assert.ok(r.sent.length > 2, 'several frames each way');
    for (const s of r.sent) assert.ok(s.bytes.length <= MAX_FRAME_BYTES, `frame ${s.index} is ${s.bytes.length} bytes`);
    assert.ok(r.sent.reduce((n, s) => n + s.bytes.length, 0) > MAX_FRAME_BYTES, 'more data than one frame could hold');
    assertConverged(a, b);
  });
});

describe('P-LIM-2 at most 100,000 entries per frame, counts checked before allocating', () => {
  const CAP = 100_000;
  const tiny = (w: ByteWriter, i: number) => { w.string(`k${i}`).varint(0).varint(0); }; // a record with no versions

  test('want-all: 100,000 decode, 100,001 are refused', () => {
    const frame = (n: number) => stepFrame(0, (w) => { zeros(w, 4); w.varint(n); for (let i = 0; i < n; i++) writePath(w, []); zeros(w, 1); });
    assert.equal(asStep(decodeFrame(frame(CAP), W)).wantAll.length, CAP);
    assert.throws(() => decodeFrame(frame(CAP + 1), W), (e: unknown) => e instanceof ProtocolError && e.code === 'E_FRAME_MALFORMED');
  });

  test('records: 100,000 decode, 100,001 are refused', () => {
    const frame = (n: number) => stepFrame(0, (w) => { w.varint(n); for (let i = 0; i < n; i++) tiny(w, i); zeros(w, 5); });
    assert.equal(asStep(decodeFrame(frame(CAP), W)).records.length, CAP);
    assert.throws(() => decodeFrame(frame(CAP + 1), W), (e: unknown) => e instanceof ProtocolError && e.code === 'E_FRAME_MALFORMED');
  });

  test('the limit is for all sections together: 50,000 records + 50,001 want-alls are refused', () => {
    const frame = stepFrame(0, (w) => {
      w.varint(50_000);
      for (let i = 0; i < 50_000; i++) tiny(w, i);
      zeros(w, 3);
      w.varint(50_001);
      for (let i = 0; i < 50_001; i++) writePath(w, []);
      zeros(w, 1);
    });
    assert.throws(() => decodeFrame(frame, W), (e: unknown) => e instanceof ProtocolError && e.code === 'E_FRAME_MALFORMED');
  });

  // A declared count of 10^9 would also fail by truncation a little later; the boundary tests
  // above pin the count check itself, these pin that such a frame is dropped at once at either side.
  const billion = 1_000_000_000;
  const counts: [string, (w: ByteWriter) => void][] = [
    ['records', (w) => { w.varint(billion); }],
    ['nodes', (w) => { intruder(w); w.varint(billion); }],
    ['lists', (w) => { intruder(w); zeros(w, 1); w.varint(billion); }],
    ['list entries', (w) => { intruder(w); zeros(w, 1); w.varint(1); writePath(w, []); w.varint(billion); }],
    ['wants', (w) => { intruder(w); zeros(w, 2); w.varint(billion); }],
    ['wanted ids', (w) => { intruder(w); zeros(w, 2); w.varint(1); writePath(w, []); w.varint(billion); }],
    ['want-alls', (w) => { intruder(w); zeros(w, 3); w.varint(billion); }],
    ['summaries', (w) => { intruder(w); zeros(w, 4); w.varint(billion); }],
  ];
  for (const [name, body] of counts) {
    test(`a count of 10^9 ${name} is refused at once, at either side`, () => {
      const bad = stepFrame(0, body);
      // Refused by the count's own limit check, before any entry is read (not by running out of
      // bytes after trying to read a billion of them).
      assert.throws(() => decodeFrame(bad, W), (e: unknown) => e instanceof ProtocolError && e.code === 'E_FRAME_MALFORMED' && /1000000000 entries exceed the per-frame limit|is 1000000000, more than the limit/.test(e.message), 'refused by a limit check');
      refuse(MERKLE, TO_RESPONDER_MID, bad, 'E_FRAME_MALFORMED', 'malformed', name);
      refuse(MERKLE, TO_INITIATOR_MID, bad, 'E_FRAME_MALFORMED', 'malformed', name);
    });
  }

  test('a hello declaring 10^9 records is refused', () => {
    refuse(MERKLE, 0, helloFrame({ tail: (w) => { w.varint(billion); } }), 'E_FRAME_MALFORMED', 'malformed', 'hello records');
  });

  test('the encoder splits a step of 120,000 want-alls into frames that each decode', () => {
    const frames = encodeStep({ ...emptyStep(), wantAll: Array.from({ length: 120_000 }, (_, i) => [i % 16]) }, W);
    assert.ok(frames.length >= 2);
    const steps = frames.map((f) => asStep(decodeFrame(f, W)));
    assert.deepEqual(steps.map((s) => s.more), steps.map((_, i) => i < steps.length - 1));
    assert.equal(steps.reduce((n, s) => n + s.wantAll.length, 0), 120_000);
  });

  test('duplicate want-alls of the root do not multiply the reply', () => {
    const { a, b } = pair();
    seed(b, range('k', 50));
    seed(a, ['other']);
    const resp = AntiEntropySession.respond(b);
    resp.receive(AntiEntropySession.initiate(a, { salt: SALT, mode: 'merkle', peerReplica: B }).frames[0]);
    assert.equal(resp.status, 'open');
    resp.receive(stepFrame(0, (w) => { zeros(w, 4); w.varint(1000); for (let i = 0; i < 1000; i++) writePath(w, []); zeros(w, 1); }));
    assert.ok(resp.stats.recordsSent <= 50, `${resp.stats.recordsSent} records sent by a responder holding 50 keys`);
  });

  test('listMax is capped so that one listing always fits a frame (listings are never split)', () => {
    const { a } = pair();
    assert.throws(() => AntiEntropySession.initiate(a, { salt: SALT, listMax: 150_000 }), RangeError);
    assert.throws(() => AntiEntropySession.respond(a, { listMax: -1 }), RangeError);
    const entries = Array.from({ length: 4096 }, (_, i) => ({ id: i, digest: new Uint8Array(16) }));
    const frames = encodeStep({ ...emptyStep(), lists: [{ path: [], entries }] }, 16);
    assert.equal(frames.length, 1);
    assert.equal(asStep(decodeFrame(frames[0], 16)).lists[0].entries.length, 4096);
  });
});

describe('P-LIM-3 record and path limits', () => {
  const dev = (i: number) => i.toString(16).padStart(16, '0');
  interface Raw {
    key?: string | Uint8Array;
    devices?: [string, number][];
    versions?: [device: number, counter: number, wall: number, tick: number, tag: number, value?: string | Uint8Array][];
    rawTail?: Uint8Array;
  }
  /** A record written field by field, so any one field can break a limit. */
  function rawRecord(w: ByteWriter, r: Raw): void {
    const key = r.key ?? 'bad-record';
    if (typeof key === 'string') w.string(key);
    else w.varint(key.length).bytes(key);
    const devices = r.devices ?? [[C, 1]];
    w.varint(devices.length);
    for (const [d, c] of devices) w.bytes(fromHex(d)).varint(c);
    if (r.rawTail) {
      w.bytes(r.rawTail);
      return;
    }
    const versions = r.versions ?? [[0, 1, NOW, 0, 1, 'v']];
    w.varint(versions.length);
    for (const [di, counter, wall, tick, tag, value] of versions) {
      w.varint(di).varint(counter).varint(wall).varint(tick).u8(tag);
      if (tag === 1) {
        const v = value ?? '';
        if (typeof v === 'string') w.string(v);
        else w.varint(v.length).bytes(v);
      }
    }
  }
  /** The bad record comes after a valid one, so a partial merge would show. */
  const withRecord = (r: Raw) => stepFrame(0, (w) => { w.varint(2); writeRecord(w, INTRUDER); rawRecord(w, r); zeros(w, 5); });
  const MiB = 1024 * 1024;

  const refused: [string, Raw][] = [
    ['a key of 513 bytes', { key: 'k'.repeat(513) }],
    ['an empty key', { key: '' }],
    ['a key that is not UTF-8', { key: Uint8Array.from([0xff, 0xfe]) }],
    ['a value of 1 MiB + 1 byte', { versions: [[0, 1, NOW, 0, 1, 'v'.repeat(MiB + 1)]] }],
    ['a value that is not UTF-8', { versions: [[0, 1, NOW, 0, 1, Uint8Array.from([0xed, 0xa0, 0x80])]] }],
    ['65 versions', { devices: Array.from({ length: 65 }, (_, i) => [dev(i + 1), 1] as [string, number]), versions: Array.from({ length: 65 }, (_, i) => [i, 1, NOW, 0, 1, 'v'] as [number, number, number, number, number, string]) }],
    ['1025 devices in a context', { devices: Array.from({ length: 1025 }, (_, i) => [dev(i + 1), 1] as [string, number]), versions: [] }],
    ['a context counter of 0', { devices: [[C, 0]], versions: [] }],
    ['a version counter of 0', { versions: [[0, 0, NOW, 0, 1, 'v']] }],
    ['a version dot outside its context', { devices: [[C, 2]], versions: [[0, 3, NOW, 0, 1, 'v']] }],
    ['a version device index outside the context', { devices: [[C, 1]], versions: [[1, 1, NOW, 0, 1, 'v']] }],
    ['a version with no context at all', { devices: [], versions: [[0, 1, NOW, 0, 1, 'v']] }],
    ['duplicate dots', { devices: [[C, 1]], versions: [[0, 1, NOW, 0, 1, 'v'], [0, 1, NOW, 1, 1, 'w']] }],
    ['a device twice in a context', { devices: [[C, 1], [C, 2]], versions: [] }],
    ['an unknown value tag', { versions: [[0, 1, NOW, 0, 2]] }],
    ['a clock counter above 2^32 - 1', { versions: [[0, 1, NOW, 2 ** 32, 1, 'v']] }],
    ['a varint of 9 bytes', { rawTail: Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]) }],
    ['a varint above 2^53 - 1', { rawTail: Uint8Array.from([1, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]) }],
  ];
  for (const [name, raw] of refused) {
    test(`refused: ${name}`, () => {
      const bad = withRecord(raw);
      assert.throws(() => decodeFrame(bad, W), (e: unknown) => e instanceof ProtocolError && e.code === 'E_FRAME_MALFORMED');
      refuse(MERKLE, TO_RESPONDER_MID, bad, 'E_FRAME_MALFORMED', 'malformed', name);
      refuse(MERKLE, TO_INITIATOR_MID, bad, 'E_FRAME_MALFORMED', 'malformed', name);
    });
  }

  const accepted: [string, Raw][] = [
    ['a key of 512 bytes', { key: 'k'.repeat(512) }],
    ['a value of exactly 1 MiB', { versions: [[0, 1, NOW, 0, 1, 'v'.repeat(MiB)]] }],
    ['64 versions', { devices: Array.from({ length: 64 }, (_, i) => [dev(i + 1), 1] as [string, number]), versions: Array.from({ length: 64 }, (_, i) => [i, 1, NOW, 0, 1, 'v'] as [number, number, number, number, number, string]) }],
    ['1024 devices in a context', { devices: Array.from({ length: 1024 }, (_, i) => [dev(i + 1), 1] as [string, number]), versions: [] }],
  ];
  for (const [name, raw] of accepted) {
    test(`at the limit and accepted: ${name}`, () => {
      assert.equal(asStep(decodeFrame(withRecord(raw), W)).records.length, 2);
    });
  }

  const paths: [string, (w: ByteWriter) => void][] = [
    ['a path of depth 33', (w) => { zeros(w, 3); w.varint(1).u8(33).bytes(new Uint8Array(17)); zeros(w, 1); }],
    ['a path of depth 200', (w) => { zeros(w, 3); w.varint(1).u8(200).bytes(new Uint8Array(100)); zeros(w, 1); }],
    ['an odd path whose padding nibble is not 0', (w) => { zeros(w, 3); w.varint(1).u8(1).u8(0x35); zeros(w, 1); }],
    ['an expansion at full depth (32)', (w) => { w.varint(1); writePath(w, new Array(32).fill(1)); for (let i = 0; i < 16; i++) w.varint(0); zeros(w, 4); }],
    ['a summary context of 1025 devices', (w) => { zeros(w, 4); w.varint(1); writePath(w, []); keyId(w, 1).varint(1025); }],
    ['a summary with 65 dots', (w) => { zeros(w, 4); w.varint(1); writePath(w, []); keyId(w, 1).varint(1).bytes(fromHex(C)).varint(65).varint(65); }],
    ['a summary dot naming a device outside it', (w) => { zeros(w, 4); w.varint(1); writePath(w, []); keyId(w, 1).varint(1).bytes(fromHex(C)).varint(1).varint(1).varint(1).varint(1); }],
  ];
  for (const [name, body] of paths) {
    test(`refused: ${name}`, () => {
      const bad = stepFrame(0, (w) => { intruder(w); body(w); });
      assert.throws(() => decodeFrame(bad, W), (e: unknown) => e instanceof ProtocolError && e.code === 'E_FRAME_MALFORMED');
      refuse(MERKLE, TO_RESPONDER_MID, bad, 'E_FRAME_MALFORMED', 'malformed', name);
    });
  }

  test('a path of depth 32 is fine where it may appear (want-all)', () => {
    const f = stepFrame(0, (w) => { zeros(w, 4); w.varint(1); writePath(w, new Array(32).fill(15)); zeros(w, 1); });
    assert.equal(asStep(decodeFrame(f, W)).wantAll[0].length, 32);
  });

  for (const width of [0, 1, 17, 200]) {
    test(`refused: a hello with digest width ${width}`, () => {
      refuse(MERKLE, 0, helloFrame({ width }), 'E_FRAME_MALFORMED', 'malformed', `width ${width}`);
    });
  }

  test('digest widths 2 and 16 are accepted', () => {
    for (const width of [2, 16]) assert.equal(asHello(decodeFrame(helloFrame({ width }), null)).width, width);
  });

  test('a record within every field limit but too big for the store (3 x 1 MiB versions) fails the session, merges nothing', () => {
    const devices: [string, number][] = [[dev(1), 1], [dev(2), 1], [dev(3), 1]];
    const bad = withRecord({ devices, versions: devices.map((_, i) => [i, 1, NOW - i, 0, 1, 'x'.repeat(MiB - 16)] as [number, number, number, number, number, string]) });
    assert.ok(bad.length < MAX_FRAME_BYTES);
    assert.equal(asStep(decodeFrame(bad, W)).records.length, 2, 'the frame itself is valid');
    refuse(MERKLE, TO_RESPONDER_MID, bad, 'E_FRAME_MALFORMED', 'malformed', 'unstorable record');
  });

  test('a valid record whose merge with ours would exceed 64 versions fails the session, merges nothing', () => {
    const many = (from: number): KeyState => {
      const ds = Array.from({ length: 40 }, (_, i) => dev(from + i));
      return { context: Object.fromEntries(ds.map((d) => [d, 1])), versions: ds.map((d, i) => ({ device: d, counter: 1, wall: NOW - from - i, tick: 0, value: d })) };
    };
    const a = replica(A);
    a.apply([{ key: 'crowded', state: many(1) }]);
    const { session } = AntiEntropySession.initiate(a, { salt: SALT, mode: 'merkle', peerReplica: B });
    const reply = encodeStep({ ...emptyStep(), peer: { mode: 'merkle', replica: B, seq: 1, cursor: null, count: 1, status: new Uint8Array(8) }, records: [INTRUDER, { key: 'crowded', state: many(100) }] }, W);
    const before = snapshot(a);
    let out: Uint8Array[] = [];
    assert.doesNotThrow(() => { out = session.receive(reply[0]); });
    assert.equal(session.status, 'failed');
    assert.ok(session.error instanceof ProtocolError);
    assert.equal(out.length, 1);
    assert.equal(asFault(out[0]).code, 'malformed');
    assert.deepEqual(snapshot(a), before);
  });
});
