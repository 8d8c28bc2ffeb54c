// Devices stay paired (issue 9): the paired devices table, redial with backoff, the stable port
// with its fallback, device names. Headless peers as separate processes, real libp2p over TCP on
// loopback with mDNS off, real SQLite files, driven through the HTTP API.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { PeerState, SyncState } from '../app/api.ts';
import { removeTempDirs, startPeer, waitFor, type PeerOptions, type PeerProcess } from './peer-process.ts';

const running = new Set<PeerProcess>();
async function peer(o: PeerOptions = {}): Promise<PeerProcess> {
  // Port 0 as the "fixed" port: the test never depends on the app's default port being free, and
  // the port the OS picks on the first start is remembered and reused like the default would be.
  const p = await startPeer({ port: 0, ...o });
  running.add(p);
  return p;
}
async function stop(p: PeerProcess): Promise<void> {
  await p.stop();
  running.delete(p);
}
after(async () => {
  await Promise.all([...running].map((p) => p.stop()));
  removeTempDirs();
});

function entry(s: SyncState, id: string): PeerState | undefined {
  return s.peers.find((p) => p.id === id);
}
const connectedTo = async (p: PeerProcess, id: string): Promise<boolean> => entry(await p.api.syncState(), id)?.connected === true;
const portOf = (s: SyncState): number | null => s.network.port;

async function pairedPair(o: PeerOptions = {}): Promise<[PeerProcess, PeerProcess]> {
  const a = await peer(o);
  const b = await peer({ ...o, join: (await a.api.invite()).code });
  await waitFor('A and B connected', () => connectedTo(a, b.info.peerId));
  // Both tables hold the other with the addresses it listens on (identify).
  await waitFor('A remembers B', async () => (entry(await a.api.syncState(), b.info.peerId)?.knownAddresses.length ?? 0) > 0);
  await waitFor('B remembers A', async () => (entry(await b.api.syncState(), a.info.peerId)?.knownAddresses.length ?? 0) > 0);
  return [a, b];
}

async function noteCrosses(from: PeerProcess, to: PeerProcess, title: string): Promise<void> {
  const n = await from.api.createNote({ title, body: `${title} body` });
  const got = await waitFor(`"${title}" on the other peer`, async () => (await to.api.getNote(n.id).catch(() => undefined))?.body, 30_000);
  assert.equal(got, `${title} body`);
}

/** A TCP server that accepts connections and never says a word; close() also drops them. */
function silentServer(): { server: Server; close(): Promise<void> } {
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  return {
    server,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

describe('remembered devices', { timeout: 120_000 }, () => {
  test('stop both, start both on the same data (mDNS off): they reconnect by themselves and a note crosses', async () => {
    const [a, b] = await pairedPair();
    const portA = portOf(await a.api.syncState());
    const table = JSON.parse(readFileSync(join(a.dataDir, 'devices.json'), 'utf8')) as { devices: { peerId: string; addresses: string[] }[] };
    assert.deepEqual(table.devices.map((d) => d.peerId), [b.info.peerId], 'A\'s devices.json holds B');
    await Promise.all([stop(a), stop(b)]);

    // No --peer, no --join: only what each remembered.
    const [a2, b2] = await Promise.all([peer({ dataDir: a.dataDir }), peer({ dataDir: b.dataDir })]);
    assert.equal(portOf(await a2.api.syncState()), portA, 'A listens on the port it remembered');
    await waitFor('A and B reconnected', () => connectedTo(a2, b2.info.peerId), 30_000);
    await noteCrosses(b2, a2, 'after restart');
  });

  test('after kill -9 of one peer, the other sees why it is gone, keeps redialing, and reconnects when it is back', async () => {
    const [a, b] = await pairedPair();
    await b.kill();
    running.delete(b);
    // The port B listened on is closed now: A's redials are refused, and A says so.
    const gone = await waitFor('A reports B as refused', async () => {
      const e = entry(await a.api.syncState(), b.info.peerId);
      return e && !e.connected && e.problem?.code === 'dial-refused' ? e : undefined;
    }, 30_000);
    assert.match(gone.problem!.message, /refused/i);
    assert.ok(gone.redial.attempts >= 1 && gone.redial.nextAt !== null, `A keeps trying (${JSON.stringify(gone.redial)})`);

    const b2 = await peer({ dataDir: b.dataDir });
    assert.equal(b2.info.peerId, b.info.peerId);
    await waitFor('A and B reconnected', () => connectedTo(a, b.info.peerId), 60_000);
    await noteCrosses(a, b2, 'after kill -9');
    const back = entry(await a.api.syncState(), b.info.peerId)!;
    assert.equal(back.problem, null, 'the problem is cleared once connected');
  });
});

describe('stable port', { timeout: 120_000 }, () => {
  test('the remembered port is taken: the peer starts on another, remembers it, and its partner still finds it', async () => {
    const [a, b] = await pairedPair();
    const portA = portOf(await a.api.syncState())!;
    assert.ok(portA > 0);
    await stop(a);

    // Another program takes A's port while A is down; it accepts connections and never answers.
    const held = silentServer();
    await new Promise<void>((resolve, reject) => held.server.once('error', reject).listen(portA, '127.0.0.1', () => resolve()));
    try {
      // B's redials of A's remembered address reach the silent program and time out; B says so.
      const lost = await waitFor('B reports A as timed out', async () => {
        const e = entry(await b.api.syncState(), a.info.peerId);
        return e && !e.connected && e.problem?.code === 'timed-out' ? e : undefined;
      }, 60_000);
      assert.match(lost.problem!.message, /timed out/i);
      const a2 = await peer({ dataDir: a.dataDir });
      const s = await a2.api.syncState();
      assert.notEqual(portOf(s), portA, 'A fell back to another port');
      assert.equal(s.network.portFellBack, true);
      // B still dials A's old address (held by the silent program): those dials time out, and B
      // says so. A dials B at its remembered address, and they are connected again.
      await waitFor('A and B reconnected', () => connectedTo(b, a.info.peerId), 30_000);
      await noteCrosses(b, a2, 'after the port moved');
      const fallbackPort = portOf(s)!;
      const remembered = JSON.parse(readFileSync(join(a.dataDir, 'device.json'), 'utf8')) as { port: number };
      assert.equal(remembered.port, fallbackPort, 'the port that worked is remembered');
      // B learned A's new address from A itself (identify), so it can dial A there next time.
      assert.ok(entry(await b.api.syncState(), a.info.peerId)!.knownAddresses.some((x) => x.endsWith(`/tcp/${fallbackPort}`)));
      await stop(a2);
    } finally {
      await held.close();
    }
    // The old port is free again, but the remembered one is used.
    const a3 = await peer({ dataDir: a.dataDir });
    const s3 = await a3.api.syncState();
    assert.equal(s3.network.portFellBack, false);
    assert.equal(existsSync(join(a.dataDir, 'device.json')), true);
    assert.equal(portOf(s3), (JSON.parse(readFileSync(join(a.dataDir, 'device.json'), 'utf8')) as { port: number }).port);
    assert.notEqual(portOf(s3), portA);
  });

  test('--listen overrides the port and nothing is remembered', async () => {
    const p = await startPeer();
    running.add(p);
    assert.equal((await p.api.syncState()).network.portFellBack, false);
    assert.equal(existsSync(join(p.dataDir, 'device.json')), false);
  });
});

describe('device names', { timeout: 90_000 }, () => {
  test('a device is named after its host by default; renamed on A (PUT /api/device), the name shows on B', async () => {
    const [a, b] = await pairedPair();
    assert.equal((await a.api.syncState()).device.name, hostname());
    await waitFor('B knows A by its default name', async () => entry(await b.api.syncState(), a.info.peerId)?.name === hostname());

    const res = await fetch(`${a.info.api}/api/device`, { method: 'PUT', headers: { Authorization: `Bearer ${a.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: '  Kitchen laptop ' }) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { name: 'Kitchen laptop' });
    await waitFor('B shows the new name', async () => entry(await b.api.syncState(), a.info.peerId)?.name === 'Kitchen laptop');

    for (const bad of ['', '   ', 'x'.repeat(65), 'tab\there']) {
      await assert.rejects(a.api.renameDevice(bad), (e: { code: string; status: number }) => e.code === 'E_INVALID_VALUE' && e.status === 400, JSON.stringify(bad));
    }
    const wrongType = await fetch(`${a.info.api}/api/device`, { method: 'PUT', headers: { Authorization: `Bearer ${a.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 7 }) });
    assert.equal(wrongType.status, 400);
    assert.equal((await a.api.syncState()).device.name, 'Kitchen laptop', 'refused names changed nothing');

    // The name survives a restart of either side.
    await stop(a);
    const a2 = await peer({ dataDir: a.dataDir });
    assert.equal((await a2.api.syncState()).device.name, 'Kitchen laptop');
    await stop(b);
    const b2 = await peer({ dataDir: b.dataDir });
    assert.equal(entry(await b2.api.syncState(), a.info.peerId)?.name, 'Kitchen laptop', 'B remembers the name');
  });
});
