// LAN sync end to end: headless peers as separate processes, real libp2p over TCP on loopback
// (mDNS off, peers dial each other by address), real SQLite files, driven through the HTTP API.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startPeer, waitFor, type PeerProcess, peerPool } from './peer-process.ts';

const { peer, stopAll } = peerPool();
after(stopAll);

async function bodyOn(p: PeerProcess, id: string): Promise<string | undefined> {
  return (await p.api.getNote(id).catch(() => undefined))?.body;
}

describe('three peers and a late fourth', { timeout: 90_000 }, () => {
  test('a write on A reaches B and C by gossip; a peer that starts later gets everything by anti-entropy', async () => {
    const a = await peer();
    const { code } = await a.api.invite();
    const [b, c] = await Promise.all([peer({ join: code }), peer({ join: code })]);
    await waitFor('B and C connected to A', async () => (await a.api.syncState()).peers.filter((p) => p.connected).length >= 2);
    // A rumor goes to the peers A knows to be subscribed; wait until both subscriptions arrived.
    await waitFor('B and C subscribed to the vault topic', async () => (await a.api.syncState()).gossip.topicPeers >= 2);
    const note = await a.api.createNote({ title: 'Shopping', body: 'eggs' });
    for (const x of [b, c]) assert.equal(await waitFor('note on peer', () => bodyOn(x, note.id)), 'eggs');
    const sb = await b.api.syncState();
    assert.ok(sb.paths.gossip >= 3, `B got the note's fields by gossip (${JSON.stringify(sb.paths)})`);
    assert.equal(sb.vaultId, (await a.api.syncState()).vaultId);

    for (let i = 0; i < 20; i++) await a.api.createNote({ title: `n${i}`, body: `body ${i}` });
    const d = await peer({ join: code });
    await waitFor('D has all 21 notes', async () => (await d.api.listNotes()).length === 21);
    const sd = await d.api.syncState();
    assert.ok(sd.paths['anti-entropy'] >= 21 * 3, `D got the backlog by anti-entropy (${JSON.stringify(sd.paths)})`);
    const states = await waitFor('all Merkle roots agree', async () => {
      const s = await Promise.all([a, b, c, d].map((x) => x.api.syncState()));
      return s.every((x) => x.merkle.root === s[0].merkle.root) && s;
    });
    // Agreeing on the same 21 notes (title, body, created each), not on an empty tree.
    for (const s of states) assert.equal(s.merkle.keys, 21 * 3, `${s.peerId} holds every key`);
  });
});

describe('anti-entropy alone', { timeout: 60_000 }, () => {
  test('with gossip switched off, peers still converge', async () => {
    const a = await peer({ gossip: false });
    const { code } = await a.api.invite();
    const b = await peer({ join: code, gossip: false });
    await waitFor('connected', async () => (await b.api.syncState()).peers.some((p) => p.connected));
    const n = await a.api.createNote({ title: 'quiet', body: 'no rumor for this' });
    await b.api.saveNote((await b.api.createNote({ title: 'from B' })).id, { body: 'b side' });
    assert.equal(await waitFor('A\'s note on B', () => bodyOn(b, n.id)), 'no rumor for this');
    await waitFor('B\'s note on A', async () => (await a.api.listNotes()).length === 2);
    const sb = await b.api.syncState();
    assert.equal(sb.paths.gossip, 0, 'nothing came by gossip');
    assert.equal(sb.gossip.messagesOut, 0);
  });
});

describe('concurrent edits', { timeout: 60_000 }, () => {
  test('two peers editing one note offline end with the same conflict versions everywhere, then resolve', async () => {
    // Gossip off and a long anti-entropy period: the peers only exchange when told to.
    const a = await peer({ gossip: false, aeIntervalMs: 600_000 });
    const { code } = await a.api.invite();
    const b = await peer({ join: code, gossip: false, aeIntervalMs: 600_000 });
    const c = await peer({ join: code, gossip: false, aeIntervalMs: 600_000 });
    await waitFor('connected', async () => (await a.api.syncState()).peers.filter((p) => p.connected).length === 2);
    const n = await a.api.createNote({ title: 'Plan', body: 'v0' });
    await a.api.syncNow();
    assert.equal(await waitFor('note on B', () => bodyOn(b, n.id)), 'v0');
    // The acknowledgements that follow (R-HOLD-4) are over once A has proven both hold v0: from
    // then on only the sessions this test asks for run, so the two edits below stay concurrent.
    await waitFor('A proves B and C hold v0', async () => { const { devices } = await a.api.noteSync(n.id); return devices.length === 2 && devices.every((d) => d.holds); });
    await a.api.saveNote(n.id, { body: 'edited on A' });
    await b.api.saveNote(n.id, { body: 'edited on B' });
    // B and C know only A (they joined with its invite): B meets A, then A meets both.
    await b.api.syncNow();
    await a.api.syncNow();
    const versions = await Promise.all([a, b, c].map(async (x) => (await x.api.getNote(n.id)).conflicts.body?.map((v) => v.value)));
    assert.deepEqual(versions[0]?.slice().sort(), ['edited on A', 'edited on B']);
    assert.deepEqual(versions[1], versions[0], 'B shows the same versions in the same order');
    assert.deepEqual(versions[2], versions[0], 'C too');
    await b.api.resolve(n.id, 'body', 'merged');
    await b.api.syncNow();
    await a.api.syncNow();
    for (const x of [a, c]) {
      const got = await x.api.getNote(n.id);
      assert.equal(got.body, 'merged');
      assert.deepEqual(got.conflicts, {});
    }
  });
});

describe('strangers and invites', { timeout: 60_000 }, () => {
  test('a peer of another vault cannot connect and receives no note', async () => {
    const a = await peer();
    await a.api.createNote({ title: 'secret', body: 'for my laptops only' });
    // The stranger dials only through the API, so once that dial has failed no other is in flight
    // (mDNS is off): with no connection, nothing can arrive later.
    const stranger = await peer();
    await assert.rejects(stranger.api.addPeer(a.info.addresses[0]), (e: { code?: string; status?: number }) => e.code === 'E_DIAL_FAILED' && e.status === 502);
    assert.deepEqual(await stranger.api.listNotes(), []);
    const ss = await stranger.api.syncState();
    assert.deepEqual(ss.sessions, [], 'no anti-entropy session ever ran');
    assert.equal(ss.paths.gossip + ss.paths['anti-entropy'], 0, 'no record arrived by any path');
    assert.equal((await stranger.api.syncState()).peers.filter((p) => p.connected).length, 0);
    assert.equal((await a.api.syncState()).peers.filter((p) => p.connected).length, 0);
  });

  test('an invalid invite code and a foreign one are clear errors that change nothing', async () => {
    const a = await peer();
    const before = await a.api.syncState();
    const { code } = await a.api.invite();
    const typo = code.replace(/^(.)/, (c) => (c === 'A' ? 'B' : 'A'));
    for (const bad of [typo, 'hello-world', `${code}-ZZZZZ`]) {
      await assert.rejects(a.api.join(bad), (e: { code?: string }) => e.code === 'E_INVALID_INVITE');
    }
    const after = await a.api.syncState();
    assert.equal(after.vaultId, before.vaultId);
    // At start, a bad code stops the peer with a clear message before it creates anything.
    await assert.rejects(startPeer({ join: 'not-a-code' }), /E_INVALID_INVITE|invite/i);
  });
});
