// Which devices hold a note, and the progress of a large sync, end to end: headless peers as
// processes, real libp2p over TCP on 127.0.0.1 (mDNS off), real SQLite files, driven through the
// REST API (GET /api/notes/:id/sync, GET /api/notes/summaries, the event stream) and the peer's
// stderr progress lines.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { ApiEvent, DeviceHold, SyncProgress } from '../app/api.ts';
import { Notes, notesReplicaOptions } from '../engine/notes.ts';
import { openReplica } from '../engine/open-replica.ts';
import { peerPool, tempDir, waitFor, type PeerProcess } from './peer-process.ts';

process.env.NOTES_LOG ??= 'error';

const { peer, stopAll } = peerPool();
after(stopAll);

async function holdsOn(p: PeerProcess, id: string): Promise<Record<string, DeviceHold>> {
  return Object.fromEntries((await p.api.noteSync(id)).devices.map((d) => [d.device, d]));
}

describe('which devices hold a note', { timeout: 240_000 }, () => {
  test('held by B and C once synced; C stopped is shown offline and not holding the edit; C back holds it', async () => {
    const a = await peer();
    const code = (await a.api.invite()).code;
    const [b, c] = await Promise.all([peer({ join: code }), peer({ join: code })]);
    const [B, C] = [b.info.peerId, c.info.peerId];
    let note = await a.api.createNote({ title: 'held', body: 'version 1' });

    const first = await waitFor('A proves B and C hold the note', async () => {
      const h = await holdsOn(a, note.id);
      return h[B]?.holds && h[C]?.holds && h;
    }, 60_000);
    assert.ok(first[B].verifiedAt !== null && first[C].verifiedAt !== null, 'a proven hold says when it was verified');
    assert.equal(first[B].reason, null);
    // A claim of holding is checked against the devices themselves.
    for (const p of [b, c]) assert.equal((await p.api.getNote(note.id)).body, 'version 1');
    const [row] = await a.api.summaries([note.id]);
    assert.deepEqual(row.devices, { holding: 2, paired: 2 }, 'the list row counts the same devices');

    await c.stop();
    await waitFor('A sees C gone', async () => (await a.api.syncState()).peers.some((p) => p.id === C && !p.connected), 30_000);
    note = await a.api.saveNote(note.id, { body: 'version 2', base: note.rev });
    const later = await waitFor('B proven to hold the edit, C not', async () => {
      const h = await holdsOn(a, note.id);
      return h[B]?.holds && h[C] && !h[C].holds && h;
    }, 60_000);
    assert.match(later[C].reason ?? '', /^offline since \d{4}-\d\d-\d\dT.*; behind by \d+ changes?$/, `C's reason: ${later[C].reason}`);
    assert.equal((await b.api.getNote(note.id)).body, 'version 2');
    assert.deepEqual((await a.api.summaries([note.id]))[0].devices, { holding: 1, paired: 2 });

    // C comes back with the same data folder (same device, same database) and dials A again.
    const c2 = await peer({ dataDir: c.dataDir });
    assert.equal(c2.info.peerId, C);
    await waitFor('A proves C holds the edit again', async () => (await holdsOn(a, note.id))[C]?.holds === true, 60_000);
    assert.equal((await c2.api.getNote(note.id)).body, 'version 2');
  });

  test('a note id that does not exist is E_NOT_FOUND; a malformed one E_INVALID_KEY', async () => {
    const a = await peer();
    await assert.rejects(a.api.noteSync('ffffffffffffffff'), (e: { code?: string; status?: number }) => e.code === 'E_NOT_FOUND' && e.status === 404);
    await assert.rejects(a.api.noteSync('Not An Id'), (e: { code?: string; status?: number }) => e.code === 'E_INVALID_KEY' && e.status === 400);
  });
});

describe('progress of a large sync', { timeout: 240_000 }, () => {
  test('a device joining a vault of 5,000 notes reports progress that only grows and ends at the total', async () => {
    // A's vault is seeded straight into its database (one transaction) before it starts.
    const dir = tempDir('big');
    const opened = await openReplica(dir, notesReplicaOptions());
    try {
      const notes = new Notes(opened.replica);
      notes.importBatch(Array.from({ length: 5_000 }, (_, i) => ({
        id: `n${String(i).padStart(5, '0')}`, title: `note ${i}`, body: `body of note ${i}\n`.repeat(8), folder: '', created: 1_000 + i, updated: 2_000 + i, trashed: false,
      })));
    } finally {
      opened.store.close();
    }
    const a = await peer({ dataDir: dir });
    const b = await peer();
    const events: SyncProgress[] = [];
    const off = b.api.subscribe((e: ApiEvent) => {
      if (e.type === 'sync-state' && e.state.progress !== null) events.push(e.state.progress);
    });
    try {
      await b.api.join((await a.api.invite()).code);
      await waitFor('all 5,000 notes on B', async () => (await b.api.notesPage({ limit: 1 })).notes.length === 1 && (await b.api.syncState()).merkle.keys === (await a.api.syncState()).merkle.keys, 120_000);
    } finally {
      off();
    }
    const lines = b.stderr().split('\n').map((l) => /^sync progress from (\S+): (\d+)\/(\d+) records, ([\d.]+)\/([\d.]+) MB/.exec(l)).filter((m) => m !== null);
    assert.ok(lines.length >= 2, `a first and a last progress line on stderr: ${b.stderr().slice(-2000)}`);
    const seen = lines.map((m) => ({ peer: m[1], done: Number(m[2]), total: Number(m[3]) }));
    assert.ok(seen.every((s) => s.peer === a.info.peerId && s.total === seen[0].total), 'one transfer, from A, one total');
    assert.ok(seen[0].total >= 15_000, `title, body, created and updated of 5,000 notes: ${seen[0].total}`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].done >= seen[i - 1].done, `progress only grows: ${JSON.stringify(seen)}`);
    assert.equal(seen.at(-1)!.done, seen[0].total, 'the last line is the whole transfer');
    // Whatever sync-state events carried is consistent with the lines: never past the total.
    for (let i = 0; i < events.length; i++) {
      assert.ok(events[i].recordsDone <= events[i].recordsTotal && events[i].bytesDone <= events[i].bytesTotal);
      if (i > 0) assert.ok(events[i].recordsDone >= events[i - 1].recordsDone);
    }
    assert.equal((await b.api.syncState()).progress, null, 'no progress once the transfer is over');
  });
});
