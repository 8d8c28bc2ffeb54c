// "Pair nearby" (issue 9) for real, inside two network namespaces this test creates (mDNS never
// touches the machine's real interfaces): A in one, N (the new device) and T (a third device in
// pairing range) in the other. Each has its own vault at first. Headless peers as processes, real
// libp2p (the pairing node: noise, no vault key, mDNS under the pairing service name) and real
// SQLite, driven through the HTTP API. Needs root; skipped otherwise.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Note, PairingState, SyncState } from '../app/api.ts';
import { pairingCode } from '../engine/core/pairing.ts';
import { apiIn, startPeerIn, type NetnsApi, type NetnsPeer, NamespaceLab } from './netns.ts';
import { removeTempDirs, tempDir, waitFor } from './peer-process.ts';

process.env.NOTES_LOG ??= 'error';
const isRoot = process.getuid?.() === 0;

test('the pairing code is the same on both sides, and differs with another device', () => {
  const a = '12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
  const b = '12D3KooWBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
  const m = '12D3KooWMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM';
  assert.match(pairingCode(a, b), /^\d{6}$/);
  assert.equal(pairingCode(a, b), pairingCode(b, a));
  assert.notEqual(pairingCode(a, m), pairingCode(a, b));
});

describe('pair nearby inside network namespaces', { timeout: 150_000 }, () => {
  test('codes match, a refusal and a timeout send nothing, a third device gets nothing, the confirmed one joins and syncs', { skip: isRoot ? false : 'creating network namespaces needs root' }, async () => {
    const lab = new NamespaceLab();
    const procs = lab.procs;
    try {
      const nets = lab.link('pair');
      const { a, b } = nets;
      const start = async (ns: string, addr: string, label: string, more: string[] = []): Promise<[NetnsPeer, NetnsApi]> => {
        const p = await startPeerIn(ns, ['--data', tempDir(label), '--bind', addr, '--port', '0', '--http', '127.0.0.1:0', '--ae-interval', '500', ...more]);
        procs.push(p);
        const api = apiIn(ns, p);
        procs.push(api);
        return [p, api];
      };
      const [[pa, A], [pn, N], [pt, T]] = await Promise.all([
        start(a.ns, a.addr, 'pair-a', ['--pairing-window', '60000']), start(b.ns, b.addr, 'pair-n'), start(b.ns, b.addr, 'pair-t', ['--pairing-window', '60000']),
      ]);
      await A.call('renameDevice', 'Desk');
      const secretNote = await A.call<Note>('createNote', { title: 'in A\'s vault', body: 'only for paired devices' });
      const vaultOf = async (x: NetnsApi): Promise<string> => (await x.call<SyncState>('syncState')).vaultId;
      const [vaultA, vaultN, vaultT] = await Promise.all([vaultOf(A), vaultOf(N), vaultOf(T)]);
      assert.ok(vaultA !== vaultN && vaultA !== vaultT);

      await A.call('startPairing', 'invite');
      await Promise.all([N.call('startPairing', 'join'), T.call('startPairing', 'join')]);
      const sees = (x: NetnsApi) => waitFor('A listed by name as a device nearby', async () => {
        const s = await x.call<PairingState>('pairingState');
        return s.nearby.find((d) => d.peerId === pa.info.peerId && d.name === 'Desk');
      }, 30_000);
      await Promise.all([sees(N), sees(T)]);

      // T asks; A says no: T gets a refusal and nothing else.
      const tReq = (await T.call<PairingState>('requestPairing', pa.info.peerId)).outgoing!;
      assert.equal(tReq.code, pairingCode(pt.info.peerId, pa.info.peerId));
      const onA = await waitFor('T\'s request on A', async () => (await A.call<PairingState>('pairingState')).requests.find((r) => r.peerId === pt.info.peerId));
      assert.equal(onA.code, tReq.code, 'both screens show the same code');
      await A.call('answerPairing', pt.info.peerId, false);
      const refused = await waitFor('T refused', async () => {
        const o = (await T.call<PairingState>('pairingState')).outgoing;
        return o?.status === 'refused' ? o : undefined;
      });
      assert.match(refused.message ?? '', /no/);

      // N asks; the codes match (and differ from T's); A confirms; N joins and syncs.
      const nReq = (await N.call<PairingState>('requestPairing', pa.info.peerId)).outgoing!;
      const onA2 = await waitFor('N\'s request on A', async () => (await A.call<PairingState>('pairingState')).requests.find((r) => r.peerId === pn.info.peerId));
      assert.equal(onA2.code, nReq.code);
      assert.notEqual(nReq.code, tReq.code);
      assert.equal(onA2.name, (await N.call<SyncState>('syncState')).device.name);
      await A.call('answerPairing', pn.info.peerId, true);
      await waitFor('N joined', async () => (await N.call<PairingState>('pairingState')).outgoing?.status === 'joined', 30_000);
      assert.equal(await vaultOf(N), vaultA);
      assert.equal(await waitFor('A\'s note on N', async () => (await N.call<Note>('getNote', secretNote.id).catch(() => undefined))?.body, 30_000), 'only for paired devices');
      assert.equal((await A.call<PairingState>('pairingState')).mode, 'off', 'the window closed after one device');

      // T, in range the whole time and never confirmed, got nothing.
      assert.equal(await vaultOf(T), vaultT);
      await assert.rejects(T.call('getNote', secretNote.id), /E_NOT_FOUND/);

      // A timeout sends nothing either: T asks a device whose short window runs out unanswered.
      const [p2, A2] = await start(a.ns, a.addr, 'pair-a2', ['--pairing-window', '10000']);
      await A2.call('renameDevice', 'Shelf');
      await T.call('stopPairing');
      await T.call('startPairing', 'join');
      const opened = await A2.call<PairingState>('startPairing', 'invite');
      await waitFor('A2 nearby on T', async () => (await T.call<PairingState>('pairingState')).nearby.some((d) => d.peerId === p2.info.peerId), 30_000);
      await T.call('requestPairing', p2.info.peerId);
      await waitFor('T\'s request on A2', async () => (await A2.call<PairingState>('pairingState')).requests.length === 1);
      const failed = await waitFor('T\'s request ends unanswered', async () => {
        const o = (await T.call<PairingState>('pairingState')).outgoing;
        return o && o.status !== 'waiting' ? o : undefined;
      }, 30_000);
      assert.ok(Date.now() >= opened.expiresAt! - 1000, 'it ended when A2\'s window ran out');
      assert.notEqual(failed.status, 'joined');
      assert.match(failed.message ?? '', /window closed/);
      assert.equal((await A2.call<PairingState>('pairingState')).mode, 'off');
      assert.equal(await vaultOf(T), vaultT);
    } finally {
      await lab.close();
      removeTempDirs();
    }
  });
});
