// mDNS discovery for real, but only inside two network namespaces this test creates (joined by a
// veth pair that never exists in the root namespace), so no multicast touches the machine's real
// interfaces. Two headless peers of one vault, one per namespace, started with no peer address
// and no invite: they can only find each other by mDNS. Needs root; skipped (with the reason)
// otherwise. When root, a failure to create the namespaces fails the test.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Note, SyncState } from '../app/api.ts';
import { openVault } from '../engine/net/vault.ts';
import { apiIn, namespaceExists, startPeerIn, NamespaceLab } from './netns.ts';
import { removeTempDirs, tempDir, waitFor } from './peer-process.ts';

process.env.NOTES_LOG ??= 'error';

const isRoot = process.getuid?.() === 0;
const BOUND_MS = 20_000;

function connectedTo(s: SyncState, peerId: string): boolean {
  return s.peers.some((p) => p.id === peerId && p.connected);
}

describe('mDNS inside network namespaces', { timeout: 120_000 }, () => {
  test(
    'two peers of one vault in separate namespaces find each other by mDNS alone, connect, and sync a note',
    { skip: isRoot ? false : 'creating network namespaces needs root' },
    async (t) => {
      // Both data directories get the same vault before the peers start (the engine's own
      // openVault writes the files), so no invite, and with it no address, is ever handed over.
      const dirA = tempDir('mdns-a');
      const dirB = tempDir('mdns-b');
      const vault = await openVault(dirA);
      await openVault(dirB, { join: vault });

      const lab = new NamespaceLab();
      const procs = lab.procs;
      let cleanupProblems: string[] = [];
      try {
        const nets = lab.link('mdns');
        const { a, b } = nets;
        const args = (dir: string, addr: string) => ['--data', dir, '--listen', `/ip4/${addr}/tcp/0`, '--http', '127.0.0.1:0', '--ae-interval', '500'];
        const t0 = Date.now();
        const peerA = await startPeerIn(a.ns, args(dirA, a.addr));
        procs.push(peerA);
        const peerB = await startPeerIn(b.ns, args(dirB, b.addr));
        procs.push(peerB);
        assert.equal(peerA.info.vault, vault.id);
        assert.equal(peerB.info.vault, vault.id);
        // Each listens on its veth address only, so that is what mDNS announces.
        for (const [p, end] of [[peerA, a], [peerB, b]] as const) {
          assert.ok(p.info.addresses.length > 0 && p.info.addresses.every((x) => x.startsWith(`/ip4/${end.addr}/tcp/`)), `${end.ns} peer addresses: ${p.info.addresses}`);
        }
        const apiA = apiIn(a.ns, peerA);
        procs.push(apiA);
        const apiB = apiIn(b.ns, peerB);
        procs.push(apiB);
        const started = Date.now();

        const [sa, sb] = await waitFor('A and B connected to each other', async () => {
          const s = await Promise.all([apiA.call<SyncState>('syncState'), apiB.call<SyncState>('syncState')]);
          return connectedTo(s[0], peerB.info.peerId) && connectedTo(s[1], peerA.info.peerId) && s;
        }, BOUND_MS);
        const connectedMs = Date.now() - started;
        // The connection runs over the veth: the remote address is the other namespace's.
        const remoteOfB = sa.peers.find((p) => p.id === peerB.info.peerId)!.addresses;
        const remoteOfA = sb.peers.find((p) => p.id === peerA.info.peerId)!.addresses;
        assert.ok(remoteOfB.some((x) => x.startsWith(`/ip4/${b.addr}/tcp/`)), `A sees B at ${remoteOfB}`);
        assert.ok(remoteOfA.some((x) => x.startsWith(`/ip4/${a.addr}/tcp/`)), `B sees A at ${remoteOfA}`);

        const note = await apiA.call<Note>('createNote', { title: 'found by mDNS', body: 'written on A' });
        const written = Date.now();
        const body = await waitFor('A\'s note on B', async () => (await apiB.call<Note>('getNote', note.id).catch(() => undefined))?.body, BOUND_MS);
        assert.equal(body, 'written on A');
        const syncedMs = Date.now() - written;
        const back = await apiB.call<Note>('createNote', { title: 'reply', body: 'written on B' });
        assert.equal(await waitFor('B\'s note on A', async () => (await apiA.call<Note>('getNote', back.id).catch(() => undefined))?.body, BOUND_MS), 'written on B');
        const roots = await Promise.all([apiA, apiB].map(async (x) => (await x.call<SyncState>('syncState')).merkle));
        await waitFor('equal Merkle roots', async () => {
          const r = await Promise.all([apiA, apiB].map(async (x) => (await x.call<SyncState>('syncState')).merkle.root));
          return r[0] === r[1];
        }, BOUND_MS);
        assert.equal(roots[0].keys, roots[1].keys);
        t.diagnostic(`peers started in ${started - t0} ms; discovered and connected ${connectedMs} ms later; a note crossed in ${syncedMs} ms`);
      } finally {
        cleanupProblems = await lab.close();
        removeTempDirs();
      }
      assert.deepEqual(cleanupProblems, [], 'namespaces deleted');
      const [nsA, nsB] = lab.names();
      assert.ok(!namespaceExists(nsA) && !namespaceExists(nsB), 'no namespace left behind');
    },
  );
});
