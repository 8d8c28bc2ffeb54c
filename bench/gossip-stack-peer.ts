// The gossip bench's yardstick: a peer that runs only the app's libp2p stack (engine/net/p2p.ts:
// TCP, pnet, noise, yamux, gossipsub with the app's options and signed messages) and no engine.
// It publishes the very bytes the app would gossip for the same note (a rumor of its title, body
// and created fields) and accepts every message at once, with no decoding, merge, commit, index
// or acknowledgement. What ten of these use per write is the stack's own cost: the part of the
// app's figure that no change to the engine can remove.
//
// With `durable`, each peer also writes every rumor it accepts to a bare SQLite key-value table
// (bench/write-throughput.ts rawKv: WAL, synchronous=FULL) in a commit of its own before it
// reports it: the stack plus the one durable commit a receiver cannot skip, the machine's floor
// for a write that is on disk on every peer.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { writeDelta } from '../engine/core/record.ts';
import { encodeRumor, rumorsFor } from '../engine/core/rumor.ts';
import { noteKey } from '../engine/notes.ts';
import { createP2P, type P2PNode } from '../engine/net/p2p.ts';
import { openVault } from '../engine/net/vault.ts';
import { rawKv } from './write-throughput.ts';

export interface StackPeer {
  readonly peerId: string;
  addresses(): string[];
  dial(addr: string): Promise<string>;
  /** Publishes the rumor the app would send for this note. */
  write(id: string, title: string, body: string): Promise<void>;
  stats(): { connected: number; topicPeers: number; meshPeers: number; messagesIn: number; messagesOut: number; duplicates: number; rejected: number };
  stop(): Promise<void>;
}

// The note id travels in front of the rumor, so a receiver can report it without decoding.
const ID_BYTES = 32;

export async function startStackPeer(dataDir: string, heartbeatMs: number, onSeen: (id: string) => void, durable = false): Promise<StackPeer> {
  const vault = await openVault(dataDir);
  const kv = durable ? rawKv(join(dataDir, 'raw.db')) : undefined;
  const store = (id: string, rumor: Uint8Array): void => {
    if (kv === undefined) return;
    kv.db.exec('BEGIN IMMEDIATE');
    kv.insert.run(id, rumor);
    kv.db.exec('COMMIT');
  };
  const p2p: P2PNode = await createP2P({
    vault, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false,
    gossip: { historyGossip: 3, historyLength: 5, heartbeatMs },
  });
  // gossipsub validates the first copy of each message only: one call per delivery.
  p2p.onRumor((_from, bytes) => {
    const id = Buffer.from(bytes.subarray(0, ID_BYTES)).toString('latin1').trimEnd();
    store(id, bytes.subarray(ID_BYTES));
    onSeen(id);
    return 'accept';
  });
  await p2p.start();
  const device = randomBytes(8).toString('hex');
  let counter = 0;
  return {
    peerId: p2p.peerId,
    addresses: () => p2p.addresses(),
    dial: (addr) => p2p.dial(addr, AbortSignal.timeout(10_000)),
    async write(id, title, body) {
      const wall = Date.now();
      const records = [['title', title], ['body', body], ['created', String(wall)]].map(([field, value]) => ({
        key: noteKey(id, field as 'title'),
        state: writeDelta(undefined, { wall, counter: counter++, device }, value),
      }));
      const rumor = encodeRumor(rumorsFor(vault.id, device, records)[0]);
      const bytes = new Uint8Array(ID_BYTES + rumor.length);
      bytes.set(Buffer.from(id.padEnd(ID_BYTES, ' '), 'latin1'));
      bytes.set(rumor, ID_BYTES);
      store(id, rumor); // the writer's own commit, as the app's write commits before it publishes
      await p2p.publish(bytes, AbortSignal.timeout(5_000));
    },
    stats() {
      const g = p2p.gossipStats();
      return {
        connected: p2p.connectedPeers().length, topicPeers: g.topicPeers, meshPeers: g.meshPeers,
        messagesIn: g.received.accepted + g.received.rejected + g.received.ignored, messagesOut: g.published,
        duplicates: g.duplicates, rejected: g.received.rejected,
      };
    },
    async stop() {
      await p2p.stop();
      kv?.db.close();
    },
  };
}
