// Real libp2p nodes over TCP on 127.0.0.1, mDNS off (mDNS is tested inside network namespaces).
// Every wait is bounded and every node is stopped in after().

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { initiateOver, respondOver, type FrameLink, type SessionOutcome } from '../engine/net/ae-link.ts';
import { EngineError, ProtocolError } from '../engine/core/errors.ts';
import { createP2P, type P2PNode, type RumorHandler } from '../engine/net/p2p.ts';
import { Replica } from '../engine/replica.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { openVault, type Vault } from '../engine/net/vault.ts';
import { waitFor } from './wait.ts';

process.env.NOTES_LOG ??= 'error';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-p2p-'));
const nodes: P2PNode[] = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  fs.rmSync(root, { recursive: true, force: true });
});

let dirs = 0;
async function vault(of?: Vault): Promise<Vault> {
  return openVault(path.join(root, `d${dirs++}`), of ? { join: of } : {});
}

async function node(v: Vault): Promise<P2PNode> {
  const n = await createP2P({ vault: v, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, gossip: { heartbeatMs: 100 } });
  nodes.push(n);
  await n.start();
  return n;
}


const connected = (a: P2PNode, b: P2PNode) => a.connectedPeers().some((p) => p.peerId === b.peerId);
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const timeout = (ms = 5000) => AbortSignal.timeout(ms);

describe('p2p over TCP on 127.0.0.1', () => {
  test('two nodes of one vault connect by dialing; events, addresses, hang-up', async () => {
    const va = await vault();
    const [a, b] = [await node(va), await node(await vault(va))];
    const events: string[] = [];
    a.onPeerConnect((p) => events.push(`a+${p === b.peerId}`));
    b.onPeerConnect((p) => events.push(`b+${p === a.peerId}`));
    a.onPeerDisconnect((p) => events.push(`a-${p === b.peerId}`));

    const addr = a.addresses()[0];
    assert.match(addr, new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/[1-9][0-9]*/p2p/${a.peerId}$`));
    assert.equal(await b.dial(addr, timeout()), a.peerId);
    await waitFor('both sides to see the connection', () => connected(a, b) && connected(b, a));
    assert.match(b.connectedPeers()[0].addrs[0], /^\/ip4\/127\.0\.0\.1\/tcp\//);
    await waitFor('connect events', () => events.includes('a+true') && events.includes('b+true'));

    await b.hangUp(a.peerId, timeout());
    await waitFor('disconnect event', () => events.includes('a-true'));
    assert.ok(!connected(b, a));
  });

  test('gossip: A publishes, B validates and accepts; A does not receive its own rumor', async () => {
    const va = await vault();
    const [a, b] = [await node(va), await node(await vault(va))];
    const seen: string[] = [];
    a.onRumor(() => {
      seen.push('a');
      return 'accept';
    });
    b.onRumor((from, bytes) => {
      seen.push(`b:${from === a.peerId}:${str(bytes)}`);
      return 'accept';
    });
    await b.dial(a.addresses()[0], timeout());
    await waitFor('a topic peer on each side', () => a.gossipStats().topicPeers === 1 && b.gossipStats().topicPeers === 1);

    assert.equal(await a.publish(text('hello')), 1);
    await waitFor('B to see the rumor', () => seen.includes('b:true:hello'));
    assert.deepEqual(seen, ['b:true:hello']);
    assert.equal(a.gossipStats().published, 1);
    assert.equal(b.gossipStats().received.accepted, 1);
    assert.ok(b.gossipStats().bytesIn > 0);
  });

  test('a lone node can publish (no topic peers)', async () => {
    const a = await node(await vault());
    assert.equal(await a.publish(text('alone')), 0);
  });

  test('a rejected rumor is not forwarded; an accepted one is (A - B - C in a line)', async () => {
    const va = await vault();
    const [a, b, c] = [await node(va), await node(await vault(va)), await node(await vault(va))];
    const atC: string[] = [];
    b.onRumor((_from, bytes) => (str(bytes).startsWith('bad') ? 'reject' : 'accept'));
    c.onRumor((_from, bytes) => {
      atC.push(str(bytes));
      return 'accept';
    });
    await a.dial(b.addresses()[0], timeout());
    await c.dial(b.addresses()[0], timeout());
    assert.ok(!connected(a, c));
    await waitFor('B to mesh with A and C', () => b.gossipStats().meshPeers === 2 && a.gossipStats().meshPeers === 1 && c.gossipStats().meshPeers === 1);

    await a.publish(text('bad-1'));
    await a.publish(text('good-1'));
    await waitFor('C to get the accepted rumor', () => atC.includes('good-1'));
    // B gossips (IHAVE) what its cache holds at each heartbeat, for historyGossip (3) heartbeats:
    // once B has run more than that since, the rejected rumor has had every chance to travel.
    const beats = b.gossipStats().heartbeats;
    await waitFor('B to run 4 more heartbeats', () => b.gossipStats().heartbeats >= beats + 4);
    assert.deepEqual(atC, ['good-1']);
    assert.equal(b.gossipStats().received.rejected, 1);
    assert.equal(b.gossipStats().received.accepted, 1);
    assert.ok(!connected(a, c), 'A and C never talked directly');
  });

  test('a throwing rumor handler ignores the rumor instead of failing', async () => {
    const va = await vault();
    const [a, b] = [await node(va), await node(await vault(va))];
    const boom: RumorHandler = () => {
      throw new Error('bug');
    };
    b.onRumor(boom);
    await b.dial(a.addresses()[0], timeout());
    await waitFor('topic peers', () => a.gossipStats().topicPeers === 1);
    await a.publish(text('x'));
    await waitFor('the rumor to be ignored', () => b.gossipStats().received.ignored === 1);
  });

  test('a custom protocol exchanges frames both ways, then closes cleanly', async () => {
    const va = await vault();
    const [a, b] = [await node(va), await node(await vault(va))];
    const served: string[] = [];
    await a.handle('/notes-test/echo/1', async (s, peer, signal) => {
      assert.equal(peer, b.peerId);
      await s.send(text('hello from A')); // the responder may speak first
      for await (const f of s.frames(signal)) await s.send(f.slice().reverse());
      served.push('done');
    });
    await b.dial(a.addresses()[0], timeout());

    const s = await b.open(a.peerId, '/notes-test/echo/1', timeout());
    assert.equal(str((await s.next(timeout()))!), 'hello from A');
    const big = new Uint8Array(1024 * 1024).map((_, i) => i & 0xff);
    const sent = [Uint8Array.of(1, 2, 3), new Uint8Array(0), big];
    for (const f of sent) await s.send(f);
    for (const f of sent) {
      const got = await s.next(timeout());
      assert.ok(got !== null && Buffer.from(got).equals(Buffer.from(f.slice().reverse())));
    }
    await s.close();
    await waitFor('the handler to see the end of the stream', () => served.includes('done'));
    await s.close(); // idempotent
  });

  test('an anti-entropy session runs over a libp2p stream and converges two replicas', async () => {
    const va = await vault();
    const [a, b] = [await node(va), await node(await vault(va))];
    const ra = Replica.open(new MemoryStore('aaaaaaaaaaaaaaaa'));
    const rb = Replica.open(new MemoryStore('bbbbbbbbbbbbbbbb'));
    ra.write(Array.from({ length: 300 }, (_, i) => ({ key: `note/a${i}/body`, value: `from A ${i}` })));
    rb.write(Array.from({ length: 200 }, (_, i) => ({ key: `note/b${i}/body`, value: `from B ${'x'.repeat(i * 50)}` })));
    const responded: SessionOutcome[] = [];
    await a.handle('/notes-sync/anti-entropy/1.0.0', async (s, _peer, signal) => {
      responded.push(await respondOver(ra, s, signal));
    });
    await b.dial(a.addresses()[0], timeout());
    const stream = await b.open(a.peerId, '/notes-sync/anti-entropy/1.0.0', timeout());
    const link: FrameLink = stream; // the engine's link interface, satisfied as is
    const outcome = await initiateOver(rb, link, { peerReplica: ra.replicaId }, timeout(10_000));
    assert.ok(outcome.ok, outcome.error?.message);
    await waitFor('the responder to finish', () => responded.length === 1);
    assert.ok(responded[0].ok, responded[0].error?.message);
    assert.deepEqual(ra.tree.root(), rb.tree.root());
    assert.equal(rb.get('note/a299/body') !== undefined && ra.get('note/b199/body') !== undefined, true);
  });

  test('an oversized length prefix is refused with E_FRAME_TOO_LARGE and the stream is reset', async () => {
    const va = await vault();
    const [a, b] = [await node(va), await node(await vault(va))];
    const errors: unknown[] = [];
    await a.handle(
      '/notes-test/small/1',
      async (s, _peer, signal) => {
        try {
          await s.next(signal);
        } catch (err) {
          errors.push(err);
          throw err;
        }
      },
      { maxFrameBytes: 1024 },
    );
    await b.dial(a.addresses()[0], timeout());
    const s = await b.open(a.peerId, '/notes-test/small/1', timeout());
    await s.send(new Uint8Array(64 * 1024));
    await waitFor('A to refuse the frame', () => errors.length === 1);
    assert.ok(errors[0] instanceof ProtocolError && errors[0].code === 'E_FRAME_TOO_LARGE', String(errors[0]));
    // B sees the reset: its read fails or ends, within the deadline, rather than hanging.
    const outcome = await s.next(timeout()).then(
      (f) => (f === null ? 'ended' : 'frame'),
      (err: unknown) => (err instanceof EngineError ? err.code : String(err)),
    );
    assert.ok(['ended', 'E_PEER_ERROR'].includes(outcome), outcome);
  });

  test('opening a protocol the peer does not handle fails with E_DIAL_FAILED', async () => {
    const va = await vault();
    const [a, b] = [await node(va), await node(await vault(va))];
    await b.dial(a.addresses()[0], timeout());
    await assert.rejects(b.open(a.peerId, '/notes-test/nope/1', timeout()), (err: unknown) => err instanceof EngineError && err.code === 'E_DIAL_FAILED');
  });

  test('a node of another vault cannot complete a connection, and no rumor crosses', async () => {
    const va = await vault();
    const a = await node(va);
    const x = await node(await vault()); // a different secret, so a different pnet key
    const aEvents: string[] = [];
    a.onPeerConnect((p) => aEvents.push(p));
    const atA: string[] = [];
    a.onRumor((_f, bytes) => {
      atA.push(str(bytes));
      return 'accept';
    });

    // Without the key the handshake is garbage to both sides: it fails fast when the garbled
    // noise length prefix is short, otherwise it stalls until the dial's deadline. Either way it
    // never completes.
    const dialFailed = (err: unknown) => err instanceof EngineError && err.code === 'E_DIAL_FAILED';
    for (const addr of [a.addresses()[0], a.addresses()[0].replace(/\/p2p\/.*$/, '')]) {
      await assert.rejects(x.dial(addr, timeout(2000)), dialFailed);
    }
    await assert.rejects(a.dial(x.addresses()[0], timeout(2000)), dialFailed);

    // X publishes to nobody: it has no topic peer, so the rumor is sent to zero peers.
    assert.equal(await x.publish(text('from outside')), 0);
    assert.deepEqual(a.connectedPeers(), []);
    assert.deepEqual(x.connectedPeers(), []);
    assert.deepEqual(aEvents, []);
    assert.deepEqual(atA, []);
    assert.equal(a.gossipStats().topicPeers, 0);
  });

  test('an address whose /p2p/ id is not the peer answering is refused and leaves no connection', async () => {
    const va = await vault();
    const [a, b, c] = [await node(va), await node(await vault(va)), await node(await vault(va))];
    const lie = a.addresses()[0].replace(a.peerId, c.peerId); // A's port, C's id
    await assert.rejects(b.dial(lie, timeout()), (err: unknown) => err instanceof EngineError && err.code === 'E_DIAL_FAILED' && /answered by peer/.test((err as Error).message));
    await waitFor('the wrong connection to close', () => !connected(b, a) && !connected(a, b));
    assert.ok(!connected(b, c));
    // The honest address still works afterwards.
    assert.equal(await b.dial(a.addresses()[0], timeout()), a.peerId);
  });

  test('stop is idempotent; a stopped node refuses work with E_NOT_STARTED', async () => {
    const a = await node(await vault());
    await Promise.all([a.stop(), a.stop()]);
    await a.stop();
    const notStarted = (err: unknown) => err instanceof EngineError && err.code === 'E_NOT_STARTED';
    await assert.rejects(a.publish(text('late')), notStarted);
    await assert.rejects(a.dial('/ip4/127.0.0.1/tcp/1', timeout()), notStarted);
    await assert.rejects(a.start(), notStarted);
  });

  test('a node that cannot listen fails to start, and stops cleanly', async () => {
    const va = await vault();
    const a = await node(va);
    const taken = a.addresses()[0].replace(/\/p2p\/.*$/, '');
    const b = await createP2P({ vault: await vault(va), listen: [taken], mdns: false });
    nodes.push(b);
    await assert.rejects(b.start());
    await b.stop();
    await assert.rejects(b.publish(text('x')), (err: unknown) => err instanceof EngineError && err.code === 'E_NOT_STARTED');
  });

  test('gossip history options are checked', async () => {
    const v = await vault();
    await assert.rejects(createP2P({ vault: v, listen: [], gossip: { historyLength: 2, historyGossip: 3 } }), (err: unknown) => err instanceof EngineError && err.code === 'E_INVALID_VALUE');
  });
});
