// Forgetting a device rotates the vault key (issue 9): headless peers as processes on loopback,
// mDNS off, real libp2p and SQLite. A forgets X while B is connected and O is offline: B moves
// to the new key and keeps syncing with A; X, and a device joining with an old invite code, are
// refused by the private network; O is told it must be invited again, keeps its notes, and they
// sync once it is.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { PeerState, SyncState } from '../app/api.ts';
import { waitFor, type PeerProcess, peerPool } from './peer-process.ts';

const { peer, running, stopAll } = peerPool({ port: 0 });
after(stopAll);

const entry = (s: SyncState, id: string): PeerState | undefined => s.peers.find((p) => p.id === id);
const connected = async (p: PeerProcess, id: string): Promise<boolean> => entry(await p.api.syncState(), id)?.connected === true;
async function problemOf(p: PeerProcess, id: string, code: string, ms = 60_000): Promise<PeerState> {
  return waitFor(`the doctor to say ${code}`, async () => {
    const e = entry(await p.api.syncState(), id);
    return e?.problem?.code === code ? e : undefined;
  }, ms);
}
async function bodyOn(p: PeerProcess, id: string): Promise<string | undefined> {
  return (await p.api.getNote(id).catch(() => undefined))?.body;
}

describe('forget a device and rotate the vault key', { timeout: 150_000 }, () => {
  test('the forgotten device and old invites are refused, connected devices move and keep syncing, an offline one is told to re-invite', async () => {
    const a = await peer();
    const oldCode = (await a.api.invite()).code;
    const [b, x, o] = await Promise.all([peer({ join: oldCode }), peer({ join: oldCode }), peer({ join: oldCode })]);
    for (const d of [b, x, o]) await waitFor('joined A', () => connected(a, d.info.peerId));
    const oldVault = a.info.vault;
    const onO = await o.api.createNote({ title: 'written on O', body: 'kept through the rotation' });
    await waitFor('O\'s note on A', async () => (await bodyOn(a, onO.id)) !== undefined);
    await o.stop();
    running.delete(o);
    await waitFor('A sees O gone', async () => !(await connected(a, o.info.peerId)));

    const res = await a.api.forgetDevice(x.info.peerId);
    assert.notEqual(res.vaultId, oldVault, 'a new key means a new vault id');
    const seen = async () => JSON.stringify({ res, peers: (await a.api.syncState()).peers.map((p) => ({ id: p.id.slice(-6), connected: p.connected, problem: p.problem?.code })), b: b.info.peerId.slice(-6), o: o.info.peerId.slice(-6) });
    assert.deepEqual(res.moved, [b.info.peerId], await seen());
    assert.deepEqual(res.reinviteNeeded, [o.info.peerId], await seen());

    // B moved with A and they sync on the new key.
    await waitFor('B on the new key', async () => (await b.api.syncState()).vaultId === res.vaultId);
    await waitFor('A and B reconnected', () => connected(a, b.info.peerId), 30_000);
    const fromB = await b.api.createNote({ title: 'after rotation', body: 'from B' });
    assert.equal(await waitFor('B\'s note on A', () => bodyOn(a, fromB.id), 30_000), 'from B');

    // X kept the old key: it is refused, and says why; A does not list it any more.
    assert.equal((await x.api.syncState()).vaultId, oldVault);
    const xSide = await problemOf(x, a.info.peerId, 'rejected-by-vault');
    assert.match(xSide.problem!.message, /invite/i);
    assert.equal(entry(await a.api.syncState(), x.info.peerId), undefined, 'A forgot X');
    const fromX = await x.api.createNote({ title: 'from the forgotten one', body: 'must not arrive' });

    // An old invite code opens nothing any more.
    const late = await peer({ join: oldCode });
    assert.equal(late.info.vault, oldVault);
    await problemOf(late, a.info.peerId, 'rejected-by-vault');

    // O was offline: A marks it, O finds out when it comes back, and keeps its notes.
    assert.equal(entry(await a.api.syncState(), o.info.peerId)?.problem?.code, 're-invite-needed');
    assert.match(entry(await a.api.syncState(), o.info.peerId)!.problem!.message, /re-invite needed/i);
    const o2 = await peer({ dataDir: o.dataDir });
    const oSide = await problemOf(o2, a.info.peerId, 'rejected-by-vault');
    assert.match(oSide.problem!.message, /invite it again/i);
    assert.equal(await bodyOn(o2, onO.id), 'kept through the rotation');
    const offline = await o2.api.createNote({ title: 'written while locked out', body: 'synced after the re-invite' });
    await o2.api.join((await a.api.invite()).code);
    assert.equal(await waitFor('O\'s note on A after the re-invite', () => bodyOn(a, offline.id), 30_000), 'synced after the re-invite');
    assert.equal(await waitFor('B\'s note on O', () => bodyOn(o2, fromB.id), 30_000), 'from B');
    await waitFor('A no longer asks to re-invite O', async () => entry(await a.api.syncState(), o.info.peerId)?.problem === null);

    // Nothing of X's ever arrived (checked last, after everything else had time to sync).
    assert.equal(await bodyOn(a, fromX.id), undefined);
    assert.equal(await bodyOn(b, fromX.id), undefined);
  });

  test('forgetting an unknown device is refused and rotates nothing', async () => {
    const a = await peer();
    await assert.rejects(a.api.forgetDevice('12D3KooWNotAPairedDeviceAtAllxxxxxxxxxxxxxxxxxxxx'), (e: { code: string; status: number }) => e.code === 'E_NOT_FOUND' && e.status === 404);
    await assert.rejects(a.api.forgetDevice(a.info.peerId), (e: { code: string }) => e.code === 'E_NOT_FOUND');
    assert.equal((await a.api.syncState()).vaultId, a.info.vault);
  });
});
