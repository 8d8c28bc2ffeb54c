// Issue 8 end to end: two headless peers as processes, real libp2p over TCP on loopback (mDNS
// off), real SQLite files, driven through the REST API. Saves carry their base; edits made on
// another laptop meanwhile are merged or kept, never lost; history survives a restart.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Note, SyncState } from '../app/api.ts';
import { startPeer, waitFor, type PeerProcess, peerPool } from './peer-process.ts';

const { peer, stopAll } = peerPool();
after(stopAll);

async function pair(opts: Parameters<typeof startPeer>[0] = {}): Promise<[PeerProcess, PeerProcess]> {
  const a = await peer(opts);
  const { code } = await a.api.invite();
  const b = await peer({ ...opts, join: code });
  await waitFor('connected', async () => (await a.api.syncState()).peers.some((p) => p.connected));
  return [a, b];
}

async function noteOn(p: PeerProcess, id: string, body: string): Promise<Note> {
  let seen: Note | undefined;
  let sync: SyncState | undefined;
  // On a timeout, say what the peer held and how its sessions went: a wait that never ends is a bug to find.
  const what = () => `note ${id} with the expected body on ${p.info.peerId.slice(-6)} (last seen: ${JSON.stringify(seen && { body: seen.body, conflicts: seen.conflicts, merged: seen.merged })}; ` +
    `peers: ${JSON.stringify(sync?.peers.map((x) => ({ id: x.id.slice(-6), connected: x.connected, redial: x.redial, problem: x.problem })))}; ` +
    `sessions: ${JSON.stringify(sync?.sessions.slice(0, 6).map((x) => ({ peer: x.peer.slice(-6), role: x.role, mode: x.mode, ok: x.ok, error: x.error, at: x.startedAt })))}; running: ${JSON.stringify(sync?.running)})`;
  return waitFor(what, async () => {
    const n = await p.api.getNote(id).catch(() => undefined);
    seen = n;
    sync = await p.api.syncState().catch(() => sync);
    return n !== undefined && n.body === body ? n : undefined;
    // A peer that comes back meets the other by an anti-entropy session, which on a loaded
    // machine can take a retry after a busy or failed first one: a bound, not a speed target.
  }, 60_000);
}

async function put(p: PeerProcess, id: string, body: unknown): Promise<{ status: number; json: { error?: { code: string } } }> {
  const res = await fetch(`${p.info.api}/api/notes/${id}`, {
    method: 'PUT', body: JSON.stringify(body),
    headers: { Authorization: `Bearer ${p.token}`, 'Content-Type': 'application/json' },
  });
  return { status: res.status, json: await res.json() as { error?: { code: string } } };
}

const THREE = 'Groceries\nmilk\neggs';

describe('saves with base over real libp2p', { timeout: 120_000 }, () => {
  test('"Why": B edits line 2 while A holds the text; A saves line 3 with its base; both edits survive on both peers', async () => {
    const [a, b] = await pair();
    const n = await a.api.createNote({ title: 'List', body: THREE });
    const onB = await noteOn(b, n.id, THREE);
    const heldByA = await a.api.getNote(n.id); // A's editor holds this text and rev
    await b.api.saveNote(n.id, { body: 'Groceries\nmilk (oat)\neggs', base: onB.rev });
    await noteOn(a, n.id, 'Groceries\nmilk (oat)\neggs'); // B's change reached A
    await a.api.saveNote(n.id, { body: 'Groceries\nmilk\neggs x12', base: heldByA.rev });
    const merged = 'Groceries\nmilk (oat)\neggs x12';
    for (const x of [a, b]) {
      const got = await noteOn(x, n.id, merged);
      assert.deepEqual(got.conflicts, {}, 'no conflict');
    }
    const paths = (await a.api.syncState()).paths as Record<string, number>;
    assert.ok(paths.merge >= 1, `the merge is counted on A (${JSON.stringify(paths)})`);

    // Refusals: 400 with a clear code, nothing changed.
    const before = await a.api.getNote(n.id);
    const bad = await put(a, n.id, { body: 'x', base: 'not a rev' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error?.code, 'E_INVALID_BASE');
    const wrongType = await put(a, n.id, { body: 'x', base: 7 });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.json.error?.code, 'E_INVALID_BASE');
    const unknown = await put(a, n.id, { body: 'x', base: 'ffffffffffffffff.1_.99' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json.error?.code, 'E_UNKNOWN_BASE');
    const after = await a.api.getNote(n.id);
    assert.equal(after.rev, before.rev, 'nothing changed');
    assert.equal(after.body, merged);
  });

  test('overlapping edits with base: both versions kept on both peers, with a marked merge', async () => {
    const [a, b] = await pair();
    const n = await a.api.createNote({ title: 'List', body: THREE });
    const onB = await noteOn(b, n.id, THREE);
    const heldByA = await a.api.getNote(n.id);
    await b.api.saveNote(n.id, { body: 'Groceries\nmilk from B\neggs', base: onB.rev });
    await noteOn(a, n.id, 'Groceries\nmilk from B\neggs');
    await a.api.saveNote(n.id, { body: 'Groceries\nmilk from A\neggs', base: heldByA.rev });
    for (const x of [a, b]) {
      const got = await waitFor('conflict on both', async () => {
        const g = await x.api.getNote(n.id);
        return g.conflicts.body?.length === 2 ? g : undefined;
      });
      assert.deepEqual(got.conflicts.body!.map((v) => v.value).sort(), ['Groceries\nmilk from A\neggs', 'Groceries\nmilk from B\neggs']);
      assert.match(got.merged?.body ?? '', /^Groceries\n<<<<<<<\nmilk from [AB]\n=======\nmilk from [AB]\n>>>>>>>\neggs$/);
    }
  });

  test('offline disjoint edits (B stopped, each edits, B restarts and meets A) merge without a conflict', async () => {
    const [a, b] = await pair();
    const n = await a.api.createNote({ title: 'List', body: THREE });
    const seenByB = await noteOn(b, n.id, THREE);
    await b.stop();
    await a.api.saveNote(n.id, { body: 'Groceries (A)\nmilk\neggs', base: (await a.api.getNote(n.id)).rev });
    // B comes back and saves the edit made on the text it held when it went away. It redials A
    // by itself (remembered devices), so A's edit may reach it before the save or after: either
    // way the save's base is the old text, and A's edit must survive it.
    const b2 = await peer({ dataDir: b.dataDir });
    await b2.api.saveNote(n.id, { body: 'Groceries\nmilk\neggs (B)', base: seenByB.rev });
    await b2.api.addPeer(a.info.addresses[0]);
    const merged = 'Groceries (A)\nmilk\neggs (B)';
    for (const x of [a, b2]) assert.deepEqual((await noteOn(x, n.id, merged)).conflicts, {});
  });

  test('history: restoring an old version syncs to the other peer; history survives a restart', async () => {
    const [a, b] = await pair();
    const n = await a.api.createNote({ title: 'Diary', body: 'first' });
    await a.api.saveNote(n.id, { body: 'second', base: n.rev });
    await a.api.saveNote(n.id, { body: 'third', base: (await a.api.getNote(n.id)).rev });
    await noteOn(b, n.id, 'third');
    const history = await a.api.history(n.id);
    assert.deepEqual(history.filter((h) => h.field === 'body').map((h) => h.text), ['second', 'first']);
    const first = history.find((h) => h.text === 'first')!;
    await a.api.saveNote(n.id, { body: first.text, base: (await a.api.getNote(n.id)).rev });
    await noteOn(b, n.id, 'first');
    const onB = await b.api.history(n.id);
    assert.ok(onB.some((h) => h.text === 'third'), 'B keeps the version the restore superseded');
    await a.stop();
    const a2 = await peer({ dataDir: a.dataDir });
    const again = await a2.api.history(n.id);
    assert.deepEqual(again.map((h) => h.text), ['third', 'second', 'first'].filter((t) => again.some((h) => h.text === t)));
    assert.ok(['third', 'second'].every((t) => again.some((h) => h.text === t)), 'history survived the restart');
    const res = await fetch(`${a2.info.api}/api/notes/${n.id}/history`, { headers: { Authorization: `Bearer ${a2.token}` } });
    assert.equal(res.status, 200);
    const missing = await fetch(`${a2.info.api}/api/notes/ffffffffffffffff/history`, { headers: { Authorization: `Bearer ${a2.token}` } });
    assert.equal(missing.status, 404);
  });
});
