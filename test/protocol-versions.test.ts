// Protocol versions 1 and 2 side by side (engine/PROTOCOL.md R-VER-1/2). Version 2 differs only in
// its 3-byte key ids, so this app answers both, and a device still running an app that speaks
// only version 1 is synced in version 1 after one refused hello.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { zstdCompressSync } from 'node:zlib';
import { AntiEntropySession } from '../engine/core/anti-entropy.ts';
import { ProtocolError } from '../engine/core/errors.ts';
import { decodeFrame, encodeStep, MAX_FRAME_BYTES, PROTOCOL_VERSION, SUPPORTED_VERSIONS, type Step } from '../engine/core/protocol.ts';
import { initiateOver, olderVersionOffered, type SessionOutcome } from '../engine/net/ae-link.ts';
import type { Replica } from '../engine/replica.ts';
import { syncPair } from '../engine/sync-pair.ts';
import { linkPair } from './frame-links.ts';
import { serveAsVersionOne } from './version-one-app.ts';
import { A, B, keyIdOf, replica, SALT } from './protocol-helpers.ts';

/** Two replicas that share 200 keys and differ in a few, so a merkle descent lists keys. */
function differing(): { a: Replica; b: Replica } {
  const a = replica(A);
  const b = replica(B);
  const shared = Array.from({ length: 200 }, (_, i) => ({ key: `shared/${i}`, value: `v${i}` }));
  a.write(shared);
  b.apply(a.storage.changesSince(0, 1_000).map((c) => ({ key: c.key, state: a.get(c.key)! })));
  a.write([{ key: 'shared/7', value: 'edited on a' }, { key: 'only/a', value: 'a' }]);
  b.write([{ key: 'shared/9', value: 'edited on b' }, { key: 'only/b', value: 'b' }]);
  return { a, b };
}

/** A version 1 session opened on differing replicas, and the first frame its responder sent back. */
function versionOneReply(): { init: AntiEntropySession; reply: Uint8Array } {
  const { a, b } = differing();
  const { session: init, frames } = AntiEntropySession.initiate(a, { salt: SALT, mode: 'merkle', version: 1 });
  const resp = AntiEntropySession.respond(b);
  return { init, reply: frames.flatMap((f) => resp.receive(f))[0] };
}

describe('R-VER-1/2 versions 1 and 2', () => {
  test('sessions open in version 2 with 3-byte key ids; a version 1 hello is answered in version 1 with 4-byte ids', () => {
    assert.equal(PROTOCOL_VERSION, 2);
    assert.deepEqual(SUPPORTED_VERSIONS, [2, 1]);
    for (const version of [2, 1]) {
      const { a, b } = differing();
      const frames: { from: string; bytes: Uint8Array }[] = [];
      const r = syncPair(a, b, { salt: SALT, mode: 'merkle', version, wire: (f, from) => (frames.push({ from, bytes: f }), f) });
      assert.ok(r.ok, `version ${version}: ${r.error?.message}`);
      assert.deepEqual(a.tree.root(), b.tree.root(), `version ${version}: converged`);
      assert.ok(frames.every((f) => f.bytes[0] === version), `version ${version}: every frame carries it`);
      const listed = frames.slice(1).flatMap((f) => (decodeFrame(f.bytes, 3, version) as Step).lists.flatMap((l) => l.entries.map((e) => e.id)));
      assert.ok(listed.length > 0, 'the descent listed keys');
      const ids = new Set([...a.tree.keysUnder([])].map((e) => keyIdOf(SALT, e.key, version)));
      assert.ok(listed.every((id) => ids.has(id)), `version ${version}: ids of ${version === 1 ? 4 : 3} bytes`);
      if (version === 2) assert.ok(listed.every((id) => id < 2 ** 24));
    }
  });

  test('version 2 spends fewer bytes than version 1 on the same differences', () => {
    const bytes = [2, 1].map((version) => {
      const { a, b } = differing();
      const r = syncPair(a, b, { salt: SALT, mode: 'merkle', version });
      assert.ok(r.ok);
      return r.initiator.bytesSent + r.initiator.bytesReceived;
    });
    assert.ok(bytes[0] < bytes[1], `version 2: ${bytes[0]} B, version 1: ${bytes[1]} B`);
  });

  test('a frame of the other version inside a session is refused', () => {
    const { init, reply } = versionOneReply();
    const other = reply.slice();
    other[0] = 2;
    init.receive(other);
    assert.equal(init.status, 'failed');
    assert.ok(init.error instanceof ProtocolError && init.error.code === 'E_PROTOCOL_VERSION', init.error?.message);
  });

  test('an app that speaks only version 1 refuses the version 2 hello; the next session in version 1 syncs', async () => {
    const { a, b } = differing();
    const signal = AbortSignal.timeout(5_000);
    const [la, lb] = linkPair();
    const [first, old] = await Promise.all([initiateOver(a, la, { peerReplica: B }, signal), serveAsVersionOne(b, lb, signal)]);
    assert.equal(old, 'refused');
    assert.equal(first.ok, false);
    assert.equal(first.error?.code, 'E_PROTOCOL_VERSION');
    assert.notDeepEqual(a.tree.root(), b.tree.root(), 'nothing moved in the refused session');
    const version = olderVersionOffered(first);
    assert.equal(version, 1);

    const [lc, ld] = linkPair();
    const [second, served] = await Promise.all([initiateOver(a, lc, { peerReplica: B, version: version! }, signal), serveAsVersionOne(b, ld, signal)]);
    assert.ok(second.ok, second.error?.message);
    assert.ok(served !== 'refused' && served.ok);
    assert.deepEqual(a.tree.root(), b.tree.root());
  });

  test('olderVersionOffered: only a version refusal that lists an older version this app speaks', () => {
    const outcome = (details: Record<string, unknown> | null, code = 'E_PROTOCOL_VERSION'): SessionOutcome => ({
      ok: false,
      stats: AntiEntropySession.respond(replica(A)).stats,
      error: details === null ? null : new ProtocolError(code as 'E_PROTOCOL_VERSION', 'x', details),
      startedAt: 0,
      durationMs: 0,
      peerHolds: null,
    });
    assert.equal(olderVersionOffered(outcome({ fault: 'version', supported: [1] })), 1);
    assert.equal(olderVersionOffered(outcome({ fault: 'version', supported: [0, 1] })), 1, 'the newest this app speaks');
    assert.equal(olderVersionOffered(outcome({ fault: 'version', supported: [1] }), 1), null, 'already tried in 1');
    assert.equal(olderVersionOffered(outcome({ fault: 'version', supported: [3, 4] })), null, 'only newer ones');
    assert.equal(olderVersionOffered(outcome({ fault: 'version', supported: [] })), null);
    assert.equal(olderVersionOffered(outcome({ version: 1 })), null, 'a version 1 hello we refused ourselves');
    assert.equal(olderVersionOffered(outcome({ fault: 'busy', supported: [1] }, 'E_PEER_ERROR')), null);
    assert.equal(olderVersionOffered(outcome(null)), null);
  });

  test('version 2 compresses frames of records; the body decompresses to the same step, and version 1 never compresses', () => {
    const records = Array.from({ length: 40 }, (_, i) => ({ key: `note/${i}/body`, state: replica(A).write([{ key: `note/${i}/body`, value: `note ${i}: `.padEnd(2_000, 'some words that repeat ') }])[0].state }));
    const step = { fin: true, peer: null, recent: false, rootCheck: null, records, nodes: [], lists: [], wants: [], wantAll: [], summaries: [] };
    const [v2] = encodeStep(step, 3, null, 2);
    const [v1] = encodeStep(step, 3, null, 1);
    assert.equal(v2[2] & 64, 64, 'COMPRESSED set');
    assert.equal(v1[2] & 64, 0);
    assert.ok(v2.length < v1.length / 4, `${v2.length} B compressed, ${v1.length} B plain`);
    const a = decodeFrame(v2, 3, 2) as Step;
    const b = decodeFrame(v1, 3, 1) as Step;
    assert.deepEqual(a.records, b.records);
    assert.equal(a.fin, true);
  });

  test('a compressed frame that decompresses past the frame limit, or does not decompress, fails the session and merges nothing', () => {
    for (const [what, body, code] of [
      ['past the limit', zstdCompressSync(new Uint8Array(MAX_FRAME_BYTES + 1)), 'E_FRAME_TOO_LARGE'],
      ['not Zstandard', Uint8Array.from([1, 2, 3, 4, 5, 6, 7]), 'E_FRAME_MALFORMED'],
    ] as const) {
      const { a, b } = differing();
      const { session: init, frames } = AntiEntropySession.initiate(a, { salt: SALT, mode: 'merkle' });
      const resp = AntiEntropySession.respond(b);
      for (const f of frames) resp.receive(f);
      const before = a.tree.root();
      const bad = new Uint8Array(3 + body.length);
      bad.set([2, 2, 4 | 64]);
      bad.set(body, 3);
      const out = init.receive(bad);
      assert.equal(init.status, 'failed', what);
      assert.equal(init.error?.code, code, `${what}: ${init.error?.message}`);
      assert.equal(out.length, 1, `${what}: one ERROR back`);
      assert.deepEqual(a.tree.root(), before, `${what}: nothing merged`);
    }
  });

  test('COMPRESSED is not a version 1 flag', () => {
    const { init, reply } = versionOneReply();
    const flagged = reply.slice();
    flagged[2] |= 64;
    init.receive(flagged);
    assert.equal(init.status, 'failed');
    assert.equal(init.error?.code, 'E_FRAME_MALFORMED');
  });
});
