// Clock skew between laptops, with the clock injected (the machine's is never changed): one peer a
// day ahead, another a day behind. No write is lost, local stamps stay monotonic, and the skew
// shows in sync state. Real libp2p on loopback, real SQLite files, in one process.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compareStamps, type Stamp } from '../engine/core/clock.ts';
import { stampOf } from '../engine/core/record.ts';
import { SyncNode } from '../engine/sync-node.ts';
import { waitFor } from './peer-process.ts';

const DAY = 24 * 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'notes-skew-'));
const nodes: SyncNode[] = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function node(name: string, offsetMs: number, join?: string): Promise<SyncNode> {
  const n = await SyncNode.start({
    dataDir: `${dir}/${name}`, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, join,
    antiEntropyIntervalMs: 500, now: () => Date.now() + offsetMs,
  });
  nodes.push(n);
  return n;
}

test('a day ahead and a day behind: nothing lost, stamps monotonic, skew reported', { timeout: 60_000 }, async () => {
  const ahead = await node('ahead', DAY);
  const behind = await node('behind', -DAY, ahead.invite().code);
  await waitFor('connected', async () => ahead.state().peers.some((p) => p.connected));

  // Each laptop keeps writing the same note and its own; after every sync round each local stamp
  // must be above the previous one on that laptop, whatever the other's clock says.
  const shared = ahead.notes.create({ title: 'shared', body: 'v0' });
  await waitFor('shared note on the laptop behind', async () => behind.notes.get(shared.id));
  const last = new Map<SyncNode, Stamp>();
  const own: { node: SyncNode; id: string; body: string }[] = [];
  for (let round = 0; round < 5; round++) {
    for (const [n, label] of [[ahead, 'ahead'], [behind, 'behind']] as const) {
      const body = `${label} ${round}`;
      n.notes.save(shared.id, { body });
      const mine = n.notes.create({ title: `${label} ${round}`, body });
      own.push({ node: n, id: mine.id, body });
      const stamp = n.replica.lastStamp()!;
      const prev = last.get(n);
      if (prev) assert.ok(compareStamps(stamp, prev) > 0, `${label}: stamp went backwards`);
      last.set(n, stamp);
    }
    await Promise.all([ahead.syncNow(), behind.syncNow()]);
  }
  await waitFor('converged', async () => ahead.state().merkle.root === behind.state().merkle.root);

  // No write lost: every note exists on both with its body; the shared note's last writes are the
  // winner or a kept conflict version on both laptops, identically.
  for (const { id, body } of own) {
    for (const n of [ahead, behind]) assert.equal(n.notes.get(id)?.body, body, `note ${id} on ${n === ahead ? 'ahead' : 'behind'}`);
  }
  // `merged` is this device's suggestion for resolving, made from its own history (which is not
  // synced), so only the replicated note is compared.
  const { merged: _ma, ...a } = ahead.notes.get(shared.id)!;
  const { merged: _mb, ...b } = behind.notes.get(shared.id)!;
  assert.deepEqual(a, b);

  // The one ahead is two days ahead of the one behind: more than the 24 h bound, so it could not
  // drag the clock of the one behind past that laptop's own now + 24 h.
  const behindStamp = stampOf(behind.replica.get(`note/${own.at(-1)!.id}/body`)!.versions[0]);
  assert.ok(behindStamp.wall <= Date.now() - DAY + DAY + 5_000, 'capped at now + 24 h');
  assert.ok(behindStamp.wall > Date.now() - DAY + 1_000, 'but it did move ahead of its own wall clock');

  // The skew shows in sync state, per peer: the one behind sees the other's stamps two days ahead;
  // the one ahead sees the other's stamps one day behind (its clock was pulled up to its bound).
  const seenByBehind = behind.state().peers.find((p) => p.connected)!.clockSkewMs!;
  const seenByAhead = ahead.state().peers.find((p) => p.connected)!.clockSkewMs!;
  assert.ok(seenByBehind > 1.9 * DAY && seenByBehind < 2.1 * DAY, `behind sees the other ${seenByBehind} ms ahead`);
  assert.ok(seenByAhead < -0.9 * DAY && seenByAhead > -1.1 * DAY, `ahead sees the other ${seenByAhead} ms behind`);
});
