// A paired but misbehaving peer: it holds the vault secret (so pnet lets it in), but sends
// malformed rumors and malformed anti-entropy frames. A real headless peer (separate process,
// SQLite file, 127.0.0.1, mDNS off) must refuse each one with a clear error, count it in its sync
// state, change nothing, and still accept a well-formed rumor from the same peer afterwards.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { NoteSummary, SyncState } from '../app/api.ts';
import { AntiEntropySession } from '../engine/core/anti-entropy.ts';
import { noteKey } from '../engine/notes.ts';
import type { FrameStream, P2PNode } from '../engine/net/p2p.ts';
import { decodeFrame, MAX_FRAME_BYTES, PROTOCOL_VERSION, SALT_BYTES, SUPPORTED_VERSIONS, type Fault } from '../engine/core/protocol.ts';
import { Replica } from '../engine/replica.ts';
import { encodeRumor, RUMOR_VERSION, rumorsFor } from '../engine/core/rumor.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { ANTI_ENTROPY_PROTOCOL } from '../engine/sync-node.ts';
import { deriveVaultKeys } from '../engine/net/vault.ts';
import { startHostile } from './hostile-node.ts';
import { removeTempDirs, startPeer, waitFor, type PeerProcess } from './peer-process.ts';

process.env.NOTES_LOG ??= 'error';

let a: PeerProcess;
let hostile: P2PNode;
let vaultId: string;
// The hostile device's own replica: real records, so its bad rumors are bad in one way at a time.
const mine = Replica.open(new MemoryStore());

after(async () => {
  await hostile?.stop();
  await a?.stop();
  removeTempDirs();
});

/** What must not change on A when it refuses something. */
async function snapshot(p: PeerProcess): Promise<{ notes: NoteSummary[]; root: string; keys: number; paths: SyncState['paths'] }> {
  const s = await p.api.syncState();
  return { notes: await p.api.listNotes(), root: s.merkle.root, keys: s.merkle.keys, paths: s.paths };
}

/** Opens an anti-entropy stream to A, sends `frames`, and reads A's answer until A closes or resets. */
async function exchange(frames: readonly Uint8Array[]): Promise<{ replies: Uint8Array[]; ended: 'closed' | string }> {
  const signal = AbortSignal.timeout(15_000);
  const stream: FrameStream = await hostile.open(a.info.peerId, ANTI_ENTROPY_PROTOCOL, signal);
  const replies: Uint8Array[] = [];
  try {
    for (const f of frames) await stream.send(f, signal);
  } catch {
    // A may reset the stream while we are still sending (an oversized frame): read what it said.
  }
  let ended: 'closed' | string;
  try {
    for (let f = await stream.next(signal); f !== null; f = await stream.next(signal)) replies.push(f);
    ended = 'closed';
  } catch (e) {
    if (signal.aborted) throw new Error('A neither answered nor closed the stream within 15 s');
    ended = (e as Error).message;
  }
  if (ended === 'closed') await stream.close().catch(() => undefined);
  else stream.abort();
  return { replies, ended };
}

describe('a paired peer that misbehaves', { timeout: 90_000 }, () => {
  before(async () => {
    // A long anti-entropy period: A never starts a session on its own during the test, so every
    // session A records is one the hostile peer opened.
    a = await startPeer({ aeIntervalMs: 600_000 });
    await a.api.createNote({ title: 'already here', body: 'must survive' });
    // A node in A's vault with a peer id below A's (engine/sync-node.ts: only the lower id opens
    // the first session), so A never opens a session with it nor answers one of its own "busy".
    const h = await startHostile(a);
    hostile = h.node;
    vaultId = h.vaultId;
    assert.equal(vaultId, a.info.vault);
  });

  test('(a) malformed rumors on the vault topic are rejected, counted, and change nothing', async () => {
    const before = await snapshot(a);
    const s0 = await a.api.syncState();
    // A real rumor of a note A does not have: every bad variant below is one change away from it.
    const rumor = rumorsFor(vaultId, mine.replicaId, mine.write([
      { key: noteKey('hostile-bad', 'title'), value: 'must never arrive' },
      { key: noteKey('hostile-bad', 'body'), value: 'x'.repeat(200) },
    ]))[0];
    const real = encodeRumor(rumor);
    const unknownVersion = real.slice();
    unknownVersion[0] = RUMOR_VERSION + 1;
    const bad: Record<string, Uint8Array> = {
      garbage: new Uint8Array(randomBytes(97)),
      truncated: real.slice(0, Math.floor(real.length / 2)),
      'another vault': encodeRumor({ ...rumor, vault: deriveVaultKeys(new Uint8Array(randomBytes(32))).id }),
      'unknown version': unknownVersion,
    };
    for (const [what, bytes] of Object.entries(bad)) {
      const sentTo = await hostile.publish(bytes, AbortSignal.timeout(5_000));
      assert.ok(sentTo >= 1, `${what}: the rumor was sent to A`);
    }
    const n = Object.keys(bad).length;
    const s1 = await waitFor(`A to reject the ${n} rumors`, async () => {
      const s = await a.api.syncState();
      return s.rejected.gossip - s0.rejected.gossip >= n && s.gossip.rejected - s0.gossip.rejected >= n && s;
    }, 15_000);
    assert.equal(s1.rejected.gossip - s0.rejected.gossip, n, 'each bad rumor counted once in rejected.gossip');
    assert.equal(s1.gossip.rejected - s0.gossip.rejected, n, 'and once in gossip.rejected');
    assert.equal(s1.gossip.messagesIn - s0.gossip.messagesIn, n);
    assert.deepEqual(await snapshot(a), before, 'notes, Merkle root, key count and path counters unchanged');
    assert.ok(s1.peers.some((p) => p.id === hostile.peerId && p.connected), 'A still holds the connection');
  });

  test('(b) malformed anti-entropy frames are refused with an error, counted, and change nothing', async (t) => {
    const before = await snapshot(a);
    // Real hellos from the hostile replica (which holds records A lacks, so a hello that got
    // through would change A): 'whole' carries every record, so its truncation cuts a record.
    const hello = (mode: 'auto' | 'whole') => AntiEntropySession.initiate(mine, { mode, salt: new Uint8Array(randomBytes(SALT_BYTES)) }).frames;
    const wrongVersion = hello('auto')[0].slice();
    wrongVersion[0] = PROTOCOL_VERSION + 1;
    const whole = hello('whole');
    assert.equal(whole.length, 1);
    const cases: { what: string; frames: Uint8Array[]; fault: Fault['code'] | null; error: RegExp }[] = [
      // Version byte right, so the frame reaches the decoder: an unknown frame type, then junk.
      { what: 'garbage', frames: [Uint8Array.from([PROTOCOL_VERSION, 0xee, 0x00, ...randomBytes(40)])], fault: 'malformed', error: /^E_FRAME_MALFORMED: / },
      { what: 'a hello with a wrong version byte', frames: [wrongVersion], fault: 'version', error: /^E_PROTOCOL_VERSION: / },
      { what: 'a truncated hello', frames: [whole[0].slice(0, Math.floor(whole[0].length / 2))], fault: 'malformed', error: /^E_FRAME_MALFORMED: / },
      // A length prefix over the 4 MiB limit: A must refuse on the prefix and reset the stream
      // (no fault frame: the framing itself is broken). Today A records this session ~5 s late:
      // FrameStream.close() on a reset stream waits out its close timeout (engine/net/p2p.ts).
      { what: 'a length prefix above 4 MiB', frames: [new Uint8Array(MAX_FRAME_BYTES + 1)], fault: null, error: /^E_FRAME_TOO_LARGE: / },
    ];
    for (const c of cases) {
      const s0 = await a.api.syncState();
      const t0 = Date.now();
      const { replies, ended } = await exchange(c.frames);
      const answeredMs = Date.now() - t0;
      if (c.fault === null) {
        assert.equal(replies.length, 0, `${c.what}: no reply`);
        assert.notEqual(ended, 'closed', `${c.what}: A reset the stream`);
      } else {
        assert.equal(replies.length, 1, `${c.what}: one reply (ended: ${ended})`);
        const fault = decodeFrame(replies[0], null);
        assert.equal(fault.type, 'error', `${c.what}: A answered an ERROR frame`);
        assert.equal((fault as Fault).code, c.fault, `${c.what}: fault code (${(fault as Fault).message})`);
        if (c.fault === 'version') assert.deepEqual((fault as Fault).supported, [...SUPPORTED_VERSIONS]);
        assert.equal(ended, 'closed', `${c.what}: then A closed the stream`);
      }
      const s1 = await waitFor(`${c.what}: A to record the failed session`, async () => {
        const s = await a.api.syncState();
        return s.sessions.length > s0.sessions.length && s;
      }, 10_000);
      t.diagnostic(`${c.what}: answered in ${answeredMs} ms, session recorded after ${Date.now() - t0} ms`);
      const session = s1.sessions[0];
      assert.equal(session.peer, hostile.peerId);
      assert.equal(session.role, 'responder');
      assert.equal(session.ok, false);
      assert.match(session.error ?? '', c.error, `${c.what}: session error`);
      assert.equal(session.recordsReceived, 0, `${c.what}: nothing merged`);
      assert.equal(s1.rejected['anti-entropy'] - s0.rejected['anti-entropy'], 1, `${c.what}: counted in rejected['anti-entropy']`);
      assert.deepEqual(await snapshot(a), before, `${c.what}: notes, Merkle root, key count and path counters unchanged`);
      assert.ok(hostile.connectedPeers().some((p) => p.peerId === a.info.peerId), `${c.what}: the connection survives a bad stream`);
    }
  });

  test('(c) a well-formed rumor from the same peer is then accepted', async () => {
    const s0 = await a.api.syncState();
    const records = mine.write([
      { key: noteKey('hostile-ok', 'title'), value: 'a good rumor' },
      { key: noteKey('hostile-ok', 'body'), value: 'after all that, this one is fine' },
    ]);
    const rumors = rumorsFor(vaultId, mine.replicaId, records);
    assert.equal(rumors.length, 1);
    assert.ok((await hostile.publish(encodeRumor(rumors[0]), AbortSignal.timeout(5_000))) >= 1);
    const note = await waitFor('the note on A', () => a.api.getNote('hostile-ok').catch(() => undefined), 15_000);
    assert.equal(note.title, 'a good rumor');
    assert.equal(note.body, 'after all that, this one is fine');
    const s1 = await a.api.syncState();
    assert.equal(s1.paths.gossip - s0.paths.gossip, 2, 'both fields arrived by gossip');
    assert.equal(s1.merkle.keys - s0.merkle.keys, 2);
    assert.deepEqual(s1.rejected, s0.rejected, 'nothing more rejected');
    assert.equal(s1.gossip.rejected, s0.gossip.rejected);
    // The rejected "hostile-bad" note never arrived by any path.
    await assert.rejects(a.api.getNote('hostile-bad'), (e: { code?: string }) => e.code === 'E_NOT_FOUND');
  });
});
