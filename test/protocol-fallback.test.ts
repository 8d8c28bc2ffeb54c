// R-VER-2 between real processes: a peer process of this app (A) and a paired device still on an
// app that speaks only anti-entropy protocol version 1 (a libp2p node in A's vault, over TCP on
// loopback, answering with test/version-one-app.ts). A's first session is refused, its next one
// in version 1 syncs, and it stays on version 1 with that device while they are connected.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { noteKey } from '../engine/notes.ts';
import type { P2PNode } from '../engine/net/p2p.ts';
import { Replica } from '../engine/replica.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { ANTI_ENTROPY_PROTOCOL } from '../engine/sync-node.ts';
import { startHostile } from './hostile-node.ts';
import { removeTempDirs, startPeer, waitFor, type PeerProcess } from './peer-process.ts';
import { serveAsVersionOne } from './version-one-app.ts';

process.env.NOTES_LOG ??= 'error';

describe('a paired device on an app that speaks only protocol version 1', { timeout: 60_000 }, () => {
  let a: PeerProcess;
  let old: P2PNode;
  const oldReplica = Replica.open(new MemoryStore());
  /** The version byte of every hello the old device received, in order. */
  const hellos: number[] = [];
  const served: string[] = [];

  before(async () => {
    // No session on a timer: every session in this test is one "sync now" asked for.
    a = await startPeer({ aeIntervalMs: 600_000 });
    old = (await startHostile(a)).node;
    await old.handle(ANTI_ENTROPY_PROTOCOL, async (stream, _peer, signal) => {
      try {
        const o = await serveAsVersionOne(oldReplica, stream, signal, hellos);
        served.push(o === 'refused' ? 'refused' : o.ok ? 'ok' : `failed: ${o.error?.message}`);
      } catch (e) {
        served.push(`threw: ${String(e)}`);
      }
    });
  });

  after(async () => {
    await old?.stop();
    await a?.stop();
    removeTempDirs();
  });

  test('A is refused once, syncs in version 1 at once, and stays on version 1 while connected', async () => {
    const note = await a.api.createNote({ title: 'written on the updated app', body: 'must reach the old one' });
    const sessions = await a.api.syncNow();
    const withOld = sessions.filter((s) => s.peer === old.peerId);
    assert.equal(withOld.length, 1, `one session reported with the old device: ${JSON.stringify(sessions)}`);
    assert.equal(withOld[0].ok, true, `it ended well: ${withOld[0].error}`);
    assert.deepEqual(hellos.slice(0, 2), [2, 1], 'a version 2 hello refused, then a version 1 hello');
    await waitFor('the old device to record its sessions', () => served.length >= 2 && served, 10_000);
    assert.deepEqual(served.slice(0, 2), ['refused', 'ok']);
    assert.equal(oldReplica.get(noteKey(note.id, 'title'))?.versions[0].value, 'written on the updated app');

    const before = hellos.length;
    const again = await a.api.syncNow();
    assert.ok(again.some((s) => s.peer === old.peerId && s.ok), JSON.stringify(again));
    assert.ok(hellos.length > before, 'another session was opened');
    assert.deepEqual(hellos.filter((v) => v === 2), [2], 'only the first hello was refused');
  });
});
