// What "which devices hold a note" costs (issue 10): two SyncNodes in this process over libp2p
// (TCP on 127.0.0.1, mDNS off), each with the same n notes seeded into its store (dataset.ts
// writeSeedNotes), paired by invite. Printed per n:
// - ackBytes: the gossip acknowledgement (R-HOLD-4) that follows one edit on A: the anti-entropy
//   session B runs with A once the rumor stopped, its own message bytes both ways and its mode
//   (equal: one round trip); proofs by cursor (R-HOLD-2) ride on existing fields and add nothing;
// - proofMs: from A's edit until A has proven B holds it (gossip + the 1 s quiet time + session);
// - hostP50Ms/hostP99Ms: Host.noteSync for random notes, in process (the engine's share);
// - httpP50Ms/httpP99Ms: GET /api/notes/:id/sync through the REST server on 127.0.0.1 (what a
//   client sees, keep-alive connection), target < 1 ms at 100k notes.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Host } from '../app/host.ts';
import { startApiServer } from '../app/http-server.ts';
import { SyncNode } from '../engine/sync-node.ts';
import { seedNoteId, writeSeedNotes } from './dataset.ts';

export interface HoldsRow {
  n: number;
  ackMode: string;
  ackBytes: number;
  proofMs: number;
  hostP50Ms: number;
  hostP99Ms: number;
  httpP50Ms: number;
  httpP99Ms: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: readonly number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] * 1000) / 1000;
}

async function until<T>(what: string, f: () => T | undefined | false, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`bench: ${what} did not happen within ${ms} ms`);
    await sleep(5);
  }
}

async function rowFor(root: string, n: number, samples: number, log: (s: string) => void): Promise<HoldsRow> {
  const dirs = [join(root, `a-${n}`), join(root, `b-${n}`)];
  log(`  holds n=${n}: seeding two stores...`);
  for (const d of dirs) {
    mkdirSync(d);
    writeSeedNotes(join(d, 'notes.db'), n);
  }
  const common = { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, antiEntropyIntervalMs: 3_600_000 } as const;
  const a = await SyncNode.start({ dataDir: dirs[0], ...common });
  let b: SyncNode | undefined;
  try {
    b = await SyncNode.start({ dataDir: dirs[1], ...common, join: a.invite().code });
    const peerB = b.peerId;
    await until('A and B meshed and proven equal', () => b!.state().gossip.meshPeers >= 1 && a.state().peers.some((p) => p.id === peerB && p.watermark?.seq === a.replica.seq()), 60_000);
    log(' meshed;');

    // One edit on A; B's acknowledgement session proves it back to A.
    const sessionsBefore = b.state().sessions.length;
    const t0 = performance.now();
    const note = a.notes.create({ title: 'acknowledged', body: 'x' });
    await until('A proves B holds the edit', () => a.noteSync(note.id).find((d) => d.device === peerB)?.holds, 30_000);
    const proofMs = Math.round(performance.now() - t0);
    const ack = await until('B logged its acknowledgement session', () => b!.state().sessions.length > sessionsBefore && b!.state().sessions[0], 5_000);

    const host = new Host(a.notes, a);
    const ids = Array.from({ length: samples }, (_, i) => seedNoteId((i * 7919) % n));
    const hostMs: number[] = [];
    for (const id of ids) {
      const s = performance.now();
      await host.noteSync(id);
      hostMs.push(performance.now() - s);
    }
    const token = 'bench-token-bench-token-bench-token';
    const server = await startApiServer(host, { token });
    const httpMs: number[] = [];
    try {
      for (const id of ids) {
        const s = performance.now();
        const res = await fetch(`${server.url}/api/notes/${id}/sync`, { headers: { Authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { devices: { holds: boolean }[] };
        httpMs.push(performance.now() - s);
        if (res.status !== 200 || body.devices.length !== 1) throw new Error(`bench: GET /api/notes/${id}/sync answered ${res.status}`);
      }
    } finally {
      await server.close();
      host.close();
    }
    hostMs.sort((x, y) => x - y);
    httpMs.sort((x, y) => x - y);
    log(` done\n`);
    return {
      n, ackMode: ack.mode, ackBytes: ack.bytesSent + ack.bytesReceived, proofMs,
      hostP50Ms: percentile(hostMs, 0.5), hostP99Ms: percentile(hostMs, 0.99), httpP50Ms: percentile(httpMs, 0.5), httpP99Ms: percentile(httpMs, 0.99),
    };
  } finally {
    await b?.stop();
    await a.stop();
  }
}

export async function holdsRows(sizes: readonly number[], samples: number, log: (s: string) => void = () => undefined): Promise<HoldsRow[]> {
  process.env.NOTES_LOG ??= 'warn';
  const root = mkdtempSync(join(tmpdir(), 'notes-bench-holds-'));
  try {
    const rows: HoldsRow[] = [];
    for (const n of sizes) rows.push(await rowFor(root, n, samples, log));
    return rows;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
