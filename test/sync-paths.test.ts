// Paths through the sync layer that only show up end to end: a value too large to gossip travels
// as a notice and is pulled by anti-entropy; a device that already holds notes joins another
// vault at run time; the event stream pushes sync-state changes. Headless peers as processes,
// real libp2p over TCP on 127.0.0.1 (mDNS off), real SQLite files, driven through the HTTP API.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import type { ApiEvent, SyncState } from '../app/api.ts';
import { MAX_GOSSIPED_RECORD_BYTES } from '../engine/core/rumor.ts';
import { waitFor, type PeerProcess, peerPool } from './peer-process.ts';

process.env.NOTES_LOG ??= 'error';

const { peer, stopAll } = peerPool();
after(stopAll);

/** A and B paired, connected, subscribed to each other's topic, with their first session done. */
async function pairedQuiet(): Promise<[PeerProcess, PeerProcess]> {
  // No periodic anti-entropy: any session after the first one was asked for by something.
  const a = await peer({ aeIntervalMs: 600_000 });
  const b = await peer({ join: (await a.api.invite()).code, aeIntervalMs: 600_000 });
  await waitFor('A and B meshed, first session done', async () => {
    const [sa, sb] = await Promise.all([a.api.syncState(), b.api.syncState()]);
    const done = [...sa.sessions, ...sb.sessions].some((s) => s.ok);
    return sa.gossip.topicPeers >= 1 && sb.gossip.topicPeers >= 1 && done && sa.running.length === 0 && sb.running.length === 0;
  }, 30_000);
  return [a, b];
}

describe('a value too large to gossip', { timeout: 120_000 }, () => {
  test('travels as a notice, and the receiver pulls it by anti-entropy at once', async () => {
    const [a, b] = await pairedQuiet();
    const before = await b.api.syncState();
    const body = Array.from({ length: 4_000 }, (_, i) => `line ${i} of a long note`).join('\n');
    assert.ok(body.length > MAX_GOSSIPED_RECORD_BYTES, `the body (${body.length} B) is over the gossip limit (${MAX_GOSSIPED_RECORD_BYTES} B)`);
    const note = await a.api.createNote({ title: 'long', body });
    // The body is merged before the session that pulled it ends and is logged: wait for both.
    const got = await waitFor('the long body on B, and the session that pulled it ended', async () => {
      if ((await b.api.getNote(note.id).catch(() => undefined))?.body !== body) return false;
      const s = await b.api.syncState();
      return s.running.length === 0 && s.sessions.length > before.sessions.length && s;
    }, 30_000);
    const sessions = got.sessions.slice(0, got.sessions.length - before.sessions.length);
    // Title and created came whole by gossip; the body only as a notice, then by a session B
    // started with A because of it (no periodic session runs in this test).
    assert.equal(got.paths.gossip - before.paths.gossip, 2, 'title and created by gossip');
    assert.equal(got.paths['anti-entropy'] - before.paths['anti-entropy'], 1, 'the body by anti-entropy');
    assert.ok(sessions.some((s) => s.peer === a.info.peerId && s.role === 'initiator' && s.ok && s.recordsReceived >= 1),
      `B started a session with A that pulled the body: ${JSON.stringify(sessions)}`);
    assert.equal((await a.api.syncState()).merkle.root, got.merkle.root, 'A and B agree');
  });
});

describe('joining another vault at run time', { timeout: 120_000 }, () => {
  test('a device with notes of its own joins: its notes are kept and reach the vault, and the vault\'s reach it', async () => {
    const x = await peer();
    const mine = await Promise.all(['x one', 'x two'].map((title) => x.api.createNote({ title, body: `${title} body` })));
    const oldVault = x.info.vault;
    const a = await peer();
    const theirs = await a.api.createNote({ title: 'a one', body: 'from the vault' });
    assert.notEqual(a.info.vault, oldVault);

    const joined = await x.api.join((await a.api.invite()).code);
    assert.equal(joined.vaultId, (await a.api.syncState()).vaultId, 'X is in A\'s vault now');
    const ids = [...mine.map((n) => n.id), theirs.id].sort();
    for (const p of [a, x]) {
      await waitFor(`all three notes on ${p === a ? 'A' : 'X'}`, async () => {
        const have = (await p.api.listNotes()).map((n) => n.id).sort();
        return JSON.stringify(have) === JSON.stringify(ids);
      }, 30_000);
    }
    for (const n of mine) assert.equal((await a.api.getNote(n.id)).body, n.body, 'X\'s note arrived whole');
    assert.equal((await x.api.getNote(theirs.id)).body, 'from the vault');
    // The old vault's secret is kept beside the new one, never deleted.
    assert.ok(readdirSync(x.dataDir).some((f) => f.startsWith(`vault-${oldVault}.replaced-`)), `backup of vault ${oldVault} in ${readdirSync(x.dataDir).join(', ')}`);
  });
});

describe('the event stream', { timeout: 120_000 }, () => {
  test('pushes sync-state when the sync state changes, carrying the new state', async () => {
    const [a, b] = await pairedQuiet();
    const events: ApiEvent[] = [];
    const off = b.api.subscribe((e) => events.push(e));
    try {
      const gossipBefore = (await b.api.syncState()).paths.gossip;
      await a.api.createNote({ title: 'evented', body: 'x' });
      const pushed = await waitFor('a sync-state event showing the gossip that arrived', () => {
        const e = events.find((x): x is { type: 'sync-state'; state: SyncState } => x.type === 'sync-state' && x.state.paths.gossip >= gossipBefore + 3);
        return e?.state;
      }, 30_000);
      assert.equal(pushed.peerId, b.info.peerId);
      assert.ok(events.some((e) => e.type === 'notes-changed' && e.origin === 'gossip'), 'and notes-changed for the note');
    } finally {
      off();
    }
  });
});
