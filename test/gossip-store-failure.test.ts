// A rumor that arrives while this device's store cannot commit (a full disk, a damaged file) is a
// fault of ours, not of the rumor or its sender: it is counted as not stored and logged, never
// counted as rejected (which would also lower the sender's gossip score), and anti-entropy brings
// the records once the store works again. Two SyncNodes in this process, real libp2p over TCP on
// 127.0.0.1 and real SQLite files; the store failure is injected into B's replica.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StoreError } from '../engine/core/errors.ts';
import { SyncNode } from '../engine/sync-node.ts';
import { waitFor } from './wait.ts';

process.env.NOTES_LOG ??= 'silent';

const dir = mkdtempSync(join(tmpdir(), 'notes-gossip-store-'));
const nodes: SyncNode[] = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function node(name: string, join?: string): Promise<SyncNode> {
  // No session on a timer: the only repair in this test is the one it asks for.
  const n = await SyncNode.start({ dataDir: `${dir}/${name}`, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, join, antiEntropyIntervalMs: 600_000, heartbeatMs: 100 });
  nodes.push(n);
  return n;
}

test('a rumor B cannot store is counted as not stored, not as rejected, and anti-entropy repairs it', { timeout: 60_000 }, async () => {
  const a = await node('a');
  const b = await node('b', a.invite().code);
  await waitFor('A and B on the vault topic', () => a.state().gossip.topicPeers >= 1 && b.state().gossip.topicPeers >= 1);

  const apply = b.replica.apply.bind(b.replica);
  let refused = 0;
  b.replica.apply = (records, origin) => {
    if (origin !== 'gossip') return apply(records, origin);
    refused++;
    throw new StoreError('E_STORE_DAMAGED', 'database disk image is malformed (injected)');
  };
  const note = a.notes.create({ title: 'while B cannot write', body: 'must arrive later' });
  const s = await waitFor('B counted the rumor it could not store', () => b.state().gossip.unstored >= 1 && b.state(), 15_000);
  assert.ok(refused >= 1);
  assert.equal(s.gossip.rejected, 0, 'the rumor itself was valid');
  assert.equal(s.rejected.gossip, 0, 'nothing malformed was received');
  assert.equal(b.notes.get(note.id), undefined, 'and nothing of it was stored');

  b.replica.apply = apply;
  await b.syncNow();
  assert.equal((await waitFor('the note on B', () => b.notes.get(note.id), 15_000)).body, 'must arrive later');
});
