// Anti-entropy framing overhead: for a few (n keys, d differences) cases, a real session between
// two SyncNodes over libp2p (TCP on 127.0.0.1, pnet, noise, yamux, multistream-select; mDNS and
// gossip off, anti-entropy only when asked), and the bytes it put on the wire next to the
// session's own message bytes (SessionStats bytesSent + bytesReceived, what the in-memory
// benchmark in bench/anti-entropy.ts counts). The ratio is what framing, muxing and encryption
// add: our varint frame prefix, multistream-select negotiation of the stream, yamux headers and
// window updates, noise's length prefix and 16-byte tag per message (pnet's XSalsa20 adds none).
//
// Bytes on the wire are TCP payload (IP and TCP headers not included), counted with
// node:diagnostics_channel: 'net.client.socket' hands us the socket B dialed to A, whose
// bytesRead + bytesWritten are everything both ways. A session's share is the counter's change
// from just before syncNow() to when the connection has been quiet for 150 ms after it. Both
// nodes run in this process: bytes do not depend on the event loop. Each n starts from two
// stores holding the same n seed records (bench/dataset.ts), which then meet once; each case
// adds d fresh differences (half on each side) on top of the previous case's converged state.
// After each session the bench waits until A has proven that B holds A's whole log (R-HOLD) and
// counts the bytes that took: the watermark's whole cost on the wire.

import dc from 'node:diagnostics_channel';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Replica } from '../engine/replica.ts';
import { SyncNode } from '../engine/sync-node.ts';
import { openVault } from '../engine/net/vault.ts';
import { keyFor, valueFor, writeSeedStore } from './dataset.ts';

export interface FramingRow {
  n: number;
  d: number;
  used: string;
  roundTrips: number;
  /** SessionStats bytesSent + bytesReceived of the initiator: the protocol's own frames. */
  sessionBytes: number;
  /** TCP payload both ways while the session ran (and closed its stream). */
  wireBytes: number;
  overheadBytes: number;
  /** wireBytes / sessionBytes. */
  ratio: number;
  converged: boolean;
  /**
   * The acknowledgement that follows a session that moved records (R-HOLD-4): TCP payload of the
   * one extra session after which A has proven that B holds all of A's log. 0 when the session
   * itself proved it (equal roots).
   */
  ackWireBytes: number;
  /** TCP payload per second on the idle connection before the cases (background chatter). */
  idleBytesPerSec: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let fresh = 0;
/** d differences: a quarter each edited on A, edited on B, created on A, created on B. */
function makeDifferences(a: Replica, b: Replica, n: number, d: number): void {
  const keys = new Set<string>();
  for (let i = 0; i < d; i++) {
    fresh++;
    const key = i % 4 < 2 ? keyFor((fresh * 7919) % n) : `note/new-${fresh}/title`;
    if (keys.has(key)) continue;
    keys.add(key);
    (i % 2 === 0 ? a : b).write([{ key, value: valueFor(fresh, 1) }]);
  }
}

/** Resolves once `count()` has not changed for `quietMs` (or after `maxMs`). */
async function quiet(count: () => number, quietMs: number, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = count();
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(25);
    const now = count();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
}

const sameRoot = (a: SyncNode, b: SyncNode): boolean => Buffer.compare(a.replica.tree.root().digest, b.replica.tree.root().digest) === 0;

async function casesFor(root: string, n: number, diffs: readonly number[], log: (s: string) => void): Promise<FramingRow[]> {
  const dirA = join(root, `a-${n}`);
  const dirB = join(root, `b-${n}`);
  mkdirSync(dirA);
  mkdirSync(dirB);
  writeSeedStore(join(dirA, 'notes.db'), n);
  writeSeedStore(join(dirB, 'notes.db'), n);
  await openVault(dirB, { join: await openVault(dirA) });

  const sockets: Socket[] = [];
  const onSocket = (m: unknown): void => void sockets.push((m as { socket: Socket }).socket);
  dc.subscribe('net.client.socket', onSocket);
  const nodes: SyncNode[] = [];
  try {
    const common = { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, gossip: false, antiEntropyIntervalMs: 3_600_000 } as const;
    const a = await SyncNode.start({ dataDir: dirA, ...common });
    nodes.push(a);
    const b = await SyncNode.start({ dataDir: dirB, ...common });
    nodes.push(b);
    const addr = a.addresses()[0];
    const port = Number(/\/tcp\/(\d+)/.exec(addr)?.[1]);
    await b.addPeer(addr);
    const wire = (): number => sockets.filter((s) => s.remotePort === port).reduce((t, s) => t + s.bytesRead + s.bytesWritten, 0);
    // The first meeting (a session on connect, roots equal), identify and gossipsub's hello.
    const deadline = Date.now() + 30_000;
    while ((a.state().sessions.length === 0 || b.state().sessions.length === 0) && Date.now() < deadline) await sleep(20);
    await quiet(wire, 500, 5_000);
    const idleFrom = wire();
    await sleep(1000);
    const idleBytesPerSec = wire() - idleFrom;

    const rows: FramingRow[] = [];
    for (const d of diffs) {
      makeDifferences(a.replica, b.replica, n, d);
      const before = wire();
      const t0 = Date.now();
      const [s] = await a.syncNow();
      if (!s || s.startedAt < t0 - 1000) throw new Error(`no session ran for n=${n} d=${d}`);
      await quiet(wire, 150, 3_000);
      const wireBytes = wire() - before;
      const sessionBytes = s.bytesSent + s.bytesReceived;
      const ackFrom = wire();
      const seqA = a.replica.seq();
      const proven = (): boolean => a.state().peers.some((p) => p.id === b.peerId && (p.watermark?.seq ?? -1) >= seqA);
      const ackDeadline = Date.now() + 15_000;
      while (!proven() && Date.now() < ackDeadline) await sleep(20);
      if (!proven()) throw new Error(`no acknowledgement proved n=${n} d=${d}`);
      await quiet(wire, 150, 3_000);
      const ackWireBytes = wire() - ackFrom;
      rows.push({
        n, d, used: s.mode, roundTrips: s.roundTrips, sessionBytes, wireBytes, overheadBytes: wireBytes - sessionBytes,
        ratio: Math.round((wireBytes / sessionBytes) * 100) / 100, converged: s.ok && sameRoot(a, b), ackWireBytes, idleBytesPerSec,
      });
      log(`  framing n=${n} d=${d}: session ${sessionBytes} B, wire ${wireBytes} B\n`);
    }
    return rows;
  } finally {
    dc.unsubscribe('net.client.socket', onSocket);
    for (const node of nodes.reverse()) await node.stop();
  }
}

export async function framingRows(sizes: readonly number[], diffs: readonly number[], log: (s: string) => void = () => undefined): Promise<FramingRow[]> {
  process.env.NOTES_LOG ??= 'warn';
  const root = mkdtempSync(join(tmpdir(), 'notes-bench-framing-'));
  try {
    const rows: FramingRow[] = [];
    for (const n of sizes) rows.push(...(await casesFor(root, n, diffs, log)));
    return rows;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
