// The LAN doctor (issue 9): for a paired device that is not connected (or cannot sync), the peer
// entry of GET /api/sync says why, from an event actually observed. Each reason is provoked here
// for real: headless peers as processes on loopback with mDNS off, real libp2p and SQLite; "no
// route" inside network namespaces this test creates (root only). "Dial refused" and "timed out"
// are provoked in test/paired-devices.test.ts (kill -9; a port held by a silent program).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import type { PeerState, SyncState } from '../app/api.ts';
import { ANTI_ENTROPY_PROTOCOL } from '../engine/sync-node.ts';
import { encodeFault } from '../engine/core/protocol.ts';
import { decodeInvite, encodeInvite } from '../engine/net/invite.ts';
import { startHostile } from './hostile-node.ts';
import { apiIn, startPeerIn, NamespaceLab } from './netns.ts';
import { tempDir, waitFor, peerPool } from './peer-process.ts';

const { peer, running, stopAll } = peerPool({ port: 0 });
after(stopAll);

function entry(s: SyncState, id: string): PeerState | undefined {
  return s.peers.find((p) => p.id === id);
}

async function problemOf(p: { syncState(): Promise<SyncState> }, id: string, code: string, ms = 60_000): Promise<PeerState> {
  return waitFor(`the doctor to say ${code} for ${id.slice(-6)}`, async () => {
    const e = entry(await p.syncState(), id);
    return e?.problem?.code === code ? e : undefined;
  }, ms);
}

describe('LAN doctor', { timeout: 120_000 }, () => {
  test('own network: addresses, interfaces, mDNS off', async () => {
    const a = await peer();
    const s = await a.api.syncState();
    assert.equal(s.network.mdns, false);
    assert.ok(s.addresses.length > 0 && s.addresses.every((x) => x.startsWith('/ip4/127.0.0.1/tcp/')));
    assert.ok(s.network.interfaces.some((i) => i.address === '127.0.0.1' && i.internal), JSON.stringify(s.network.interfaces));
    assert.equal(s.network.port, Number(/\/tcp\/(\d+)/.exec(s.addresses[0])![1]));
  });

  test('not seen: a device known by name only (an invite without addresses) with mDNS off', async () => {
    const a = await peer();
    const invite = decodeInvite((await a.api.invite()).code);
    // What an inviter with no network would hand out: the vault and its peer id, no address.
    const bare = encodeInvite({ secret: invite.secret, peerId: invite.peerId, addrs: [] });
    const b = await peer({ join: bare });
    const e = await problemOf(b.api, a.info.peerId, 'not-seen');
    assert.equal(e.connected, false);
    assert.match(e.problem!.message, /not seen on this network.*mDNS is off/i);
    assert.ok(e.redial.attempts >= 1);
  });

  test('rejected by the private network: a paired device that moved to another vault', async () => {
    const a = await peer();
    const b = await peer({ join: (await a.api.invite()).code });
    await waitFor('connected', async () => entry(await a.api.syncState(), b.info.peerId)?.connected === true);
    await waitFor('A remembers B', async () => (entry(await a.api.syncState(), b.info.peerId)?.knownAddresses.length ?? 0) > 0);
    const other = await peer();
    // B leaves for another vault; it keeps its port, so A's redials reach it and fail the handshake.
    await b.api.join((await other.api.invite()).code);
    const e = await problemOf(a.api, b.info.peerId, 'rejected-by-vault');
    assert.equal(e.connected, false);
    assert.match(e.problem!.message, /rejected by the private network/i);
  });

  test('protocol version mismatch: a paired device that answers anti-entropy in another version', async () => {
    const a = await peer();
    const hostile = await startHostile(a);
    let answered = 0;
    await hostile.node.handle(ANTI_ENTROPY_PROTOCOL, async (stream, _peer, signal) => {
      await stream.next(signal);
      answered++;
      await stream.send(encodeFault('version', 'this device speaks anti-entropy version 2'), signal);
    });
    try {
      const e = await problemOf(a.api, hostile.node.peerId, 'version-mismatch', 30_000);
      assert.ok(answered >= 1);
      assert.equal(e.connected, true, 'connected, yet it cannot sync');
      assert.match(e.problem!.message, /version/i);
    } finally {
      await hostile.node.stop();
    }
  });
});

const isRoot = process.getuid?.() === 0;

describe('LAN doctor inside network namespaces', { timeout: 120_000 }, () => {
  test('no route: the partner\'s network is gone; and mDNS shows as running', { skip: isRoot ? false : 'creating network namespaces needs root' }, async () => {
    const lab = new NamespaceLab();
    const procs = lab.procs;
    try {
      const nets = lab.link('doctor');
      const { a, b } = nets;
      const args = (dir: string, addr: string, more: string[] = []) => ['--data', dir, '--bind', addr, '--port', '0', '--http', '127.0.0.1:0', '--ae-interval', '500', ...more];
      const peerA = await startPeerIn(a.ns, args(tempDir('doctor-a'), a.addr));
      procs.push(peerA);
      const apiA = apiIn(a.ns, peerA);
      procs.push(apiA);
      const code = (await apiA.call<{ code: string }>('invite')).code;
      const peerB = await startPeerIn(b.ns, args(tempDir('doctor-b'), b.addr, ['--join', code]));
      procs.push(peerB);
      await waitFor('A connected to B and remembers it', async () => {
        const e = entry(await apiA.call<SyncState>('syncState'), peerB.info.peerId);
        return e?.connected === true && e.knownAddresses.some((x) => x.startsWith(`/ip4/${b.addr}/`));
      }, 30_000);
      const s = await apiA.call<SyncState>('syncState');
      assert.equal(s.network.mdns, true, 'mDNS runs inside the namespace');
      assert.ok(s.network.interfaces.some((i) => i.name === a.veth && i.address === a.addr), JSON.stringify(s.network.interfaces));

      await peerB.stop();
      // A's side of the link goes down: its route to B's subnet goes with it.
      execFileSync('ip', ['-n', a.ns, 'link', 'set', a.veth, 'down']);
      const e = await problemOf({ syncState: () => apiA.call<SyncState>('syncState') }, peerB.info.peerId, 'no-route');
      assert.equal(e.connected, false);
      assert.match(e.problem!.message, /no route/i);
    } finally {
      await lab.close();
    }
  });
});
