// A paired but hostile libp2p node for the adversarial tests: it holds the vault secret (so pnet
// lets it in) and speaks the engine's protocols through engine/net/p2p.ts, but is driven by the test
// rather than by a SyncNode, so it can send whatever the test wants.

import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { decodeInvite } from '../engine/net/invite.ts';
import { createP2P, type P2PNode } from '../engine/net/p2p.ts';
import { deriveVaultKeys } from '../engine/net/vault.ts';
import { waitFor, type PeerProcess } from './peer-process.ts';

export interface HostileNode {
  readonly node: P2PNode;
  readonly vaultId: string;
}

/**
 * Starts a node in `a`'s vault on 127.0.0.1, with a peer id below A's (on connect only the lower
 * peer id opens the first anti-entropy session, engine/sync-node.ts, so A never opens one with
 * it), dials A, and waits until both see each other on the vault topic.
 */
export async function startHostile(a: PeerProcess, heartbeatMs = 100): Promise<HostileNode> {
  const keys = deriveVaultKeys(decodeInvite((await a.api.invite()).code).secret);
  let identityKey: Uint8Array;
  for (;;) {
    const key = await generateKeyPair('Ed25519');
    if (key.publicKey.toString() < a.info.peerId) {
      identityKey = privateKeyToProtobuf(key);
      break;
    }
  }
  const node = await createP2P({ vault: { ...keys, identityKey }, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, gossip: { heartbeatMs } });
  await node.start();
  try {
    const id = await node.dial(a.info.addresses.find((x) => x.startsWith('/ip4/127.')) ?? a.info.addresses[0], AbortSignal.timeout(10_000));
    if (id !== a.info.peerId) throw new Error(`dialed ${id}, expected ${a.info.peerId}`);
    await waitFor('A and the hostile node subscribed to each other on the vault topic', async () => {
      const s = await a.api.syncState();
      return s.peers.some((p) => p.id === node.peerId && p.connected) && node.gossipStats().topicPeers >= 1;
    }, 15_000);
  } catch (e) {
    await node.stop();
    throw e;
  }
  return { node, vaultId: keys.id };
}
