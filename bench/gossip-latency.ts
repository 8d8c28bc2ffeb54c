// Gossip latency: how long a write on one peer takes to become visible on every other peer of a
// vault, by rumor-mongering alone (gossipsub), and how many duplicate copies the mesh delivers.
//
// Setup: `peers` SyncNodes, each in its own Node process (forked from this file with
// --gossip-peer), so each peer has its own event loop, as on separate laptops; only the kernel
// and the CPU cores are shared. Real libp2p over TCP on 127.0.0.1 (pnet, noise, yamux,
// gossipsub), a real SQLite file each, mDNS off, ports picked by the OS. The peers share one
// vault (the parent opens every data directory with the first one's secret) and peer i dials
// peers i+1 and i+3 (and i+5 when i is even), so each has 5 connections and gossipsub builds its
// mesh from them; the parent waits (at most 20 s) until every peer has all its connections and
// at least min(5, Dlo = 4) mesh peers, then 2 s more, then makes 10 unmeasured warm-up writes.
//
// Timing: each peer listens to its replica's change events (no polling) and reports the moment a
// benchmark note landed, read from the monotonic clock (process.hrtime), which on one machine is
// the same clock in every process. The writer reports the moment just before its write. So a
// figure is write call -> merged into the receiver's store (SQLite commit included), with no
// IPC or parent scheduling in it. Writes are spaced apart (the next one starts after the previous
// one reached everyone, or timed out, plus a random pause) and rotate over the peers.
//
// Anti-entropy is set to once an hour so it cannot deliver a write gossip missed: a write that
// has not reached a peer within `timeoutMs` is counted as lost.
//
// Caveat: ten peers share this machine's cores. Every rumor wakes all ten processes at once
// (each receives a copy from each mesh neighbour), so on a 2-core machine the figures include
// waiting for a core; cpuMsPerWrite (all processes together) shows how much work that is. On a
// LAN each laptop has its own cores.

import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseNoteKey } from '../engine/notes.ts';
import { SyncNode } from '../engine/sync-node.ts';
import { openVault, type Vault } from '../engine/net/vault.ts';
import { startStackPeer } from './gossip-stack-peer.ts';

export interface GossipConfig {
  readonly label: string;
  /** SyncNode rumorBatchMs: how long a local write waits for more typing before it is published. */
  readonly rumorBatchMs: number;
  /** Peers run the libp2p stack alone, no engine (bench/gossip-stack-peer.ts): the yardstick. */
  readonly stackOnly?: boolean;
  /** With stackOnly: each receiver also commits every rumor to a bare SQLite table (durably). */
  readonly durable?: boolean;
}

export interface GossipLatencyOptions {
  readonly peers?: number;
  readonly writes?: number;
  readonly configs?: readonly GossipConfig[];
  /** Body size of each benchmark note, in characters. */
  readonly bodyChars?: number;
  readonly timeoutMs?: number;
}

export interface GossipRow {
  config: string;
  batchMs: number;
  peers: number;
  writes: number;
  measure: 'to-all' | 'to-each';
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Target (issue 11): p99 <= 25 ms on the 2-core build machine. */
  p99Target: string;
  lost: number;
  /** Deliveries that came by anti-entropy instead of gossip (should be 0). */
  viaAE: number;
  /** Duplicate copies received in the whole network per published rumor. */
  dupPerMsg: number;
  /** Duplicate copies per first copy received (per delivery to a peer). */
  dupPerDelivery: number;
  meshMin: number;
  meshMax: number;
  /** CPU time all peer processes used per write (ms), over the measured writes and their pauses. */
  cpuMsPerWrite: number;
  /** Of cpuMsPerWrite, the part spent in the kernel (socket writes, fsync). */
  sysMsPerWrite: number;
  /** CPU time all peer processes use per second with no writes at all (timers, heartbeats). */
  idleCpuMsPerSec: number;
  /** cpuMsPerWrite minus what the idle network uses in the same wall time: the writes' own cost. */
  writeOnlyCpuMs: number;
}

// ---- the peer process ------------------------------------------------------------------------

type ToPeer =
  | { type: 'start'; dataDir: string; rumorBatchMs: number; heartbeatMs: number; stackOnly: boolean; durable: boolean }
  | { type: 'dial'; addrs: string[] }
  | { type: 'write'; id: string; title: string; body: string }
  | { type: 'state' }
  | { type: 'stop' };

interface PeerGossip {
  connected: number;
  topicPeers: number;
  meshPeers: number;
  messagesIn: number;
  messagesOut: number;
  duplicates: number;
  rejected: number;
  /** CPU time this process has used (user + system), in ms. */
  cpuMs: number;
  /** Of which in the kernel (socket writes, fsync), in ms. */
  sysMs: number;
}

type FromPeer =
  | { type: 'started'; peerId: string; addrs: string[] }
  | { type: 'dialed'; failed: string[] }
  | { type: 'wrote'; id: string; atUs: number }
  | { type: 'seen'; id: string; atUs: number; origin: string }
  | { type: 'state'; gossip: PeerGossip }
  | { type: 'error'; message: string };

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
const NOTE_PREFIX = 'gl-';

/** A peer of the stack-only yardstick: the same messages, answered by the bare libp2p stack. */
async function stackPeerMain(m: Extract<ToPeer, { type: 'start' }>, send: (m: FromPeer) => void): Promise<(m: ToPeer) => Promise<void>> {
  const seen = new Set<string>();
  const peer = await startStackPeer(m.dataDir, m.heartbeatMs, (id) => {
    if (seen.has(id)) return;
    seen.add(id);
    send({ type: 'seen', id, atUs: nowUs(), origin: 'gossip' });
  }, m.durable);
  send({ type: 'started', peerId: peer.peerId, addrs: peer.addresses().filter((a) => a.startsWith('/ip4/127.0.0.1/')) });
  return async (msg) => {
    if (msg.type === 'dial') {
      const results = await Promise.allSettled(msg.addrs.map((a) => peer.dial(a)));
      send({ type: 'dialed', failed: results.flatMap((r, i) => (r.status === 'rejected' ? [`${msg.addrs[i]}: ${(r.reason as Error).message}`] : [])) });
    } else if (msg.type === 'write') {
      const atUs = nowUs();
      await peer.write(msg.id, msg.title, msg.body);
      send({ type: 'wrote', id: msg.id, atUs });
    } else if (msg.type === 'state') {
      const cpu = process.cpuUsage();
      send({ type: 'state', gossip: { ...peer.stats(), cpuMs: (cpu.user + cpu.system) / 1000, sysMs: cpu.system / 1000 } });
    } else if (msg.type === 'stop') {
      await peer.stop();
      process.exit(0);
    }
  };
}

async function peerMain(): Promise<void> {
  const send = (m: FromPeer): void => void process.send!(m);
  let node: SyncNode | null = null;
  let stack: ((m: ToPeer) => Promise<void>) | null = null;
  process.on('message', (raw) => {
    const m = raw as ToPeer;
    void (async () => {
      try {
        if (stack !== null) await stack(m);
        else if (m.type === 'start' && m.stackOnly) stack = await stackPeerMain(m, send);
        else if (m.type === 'start') {
          node = await SyncNode.start({
            dataDir: m.dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false,
            rumorBatchMs: m.rumorBatchMs, heartbeatMs: m.heartbeatMs, antiEntropyIntervalMs: 3_600_000,
          });
          node.replica.onChange((e) => {
            if (e.origin === 'local') return;
            const at = nowUs();
            const ids = new Set<string>();
            for (const r of e.records) {
              const p = parseNoteKey(r.key);
              if (p && p.id.startsWith(NOTE_PREFIX)) ids.add(p.id);
            }
            for (const id of ids) send({ type: 'seen', id, atUs: at, origin: e.origin });
          });
          send({ type: 'started', peerId: node.peerId, addrs: node.addresses().filter((a) => a.startsWith('/ip4/127.0.0.1/')) });
        } else if (m.type === 'dial') {
          const results = await Promise.allSettled(m.addrs.map((a) => node!.addPeer(a)));
          send({ type: 'dialed', failed: results.flatMap((r, i) => (r.status === 'rejected' ? [`${m.addrs[i]}: ${(r.reason as Error).message}`] : [])) });
        } else if (m.type === 'write') {
          const atUs = nowUs();
          node!.notes.create({ title: m.title, body: m.body }, m.id);
          send({ type: 'wrote', id: m.id, atUs });
        } else if (m.type === 'state') {
          const s = node!.state();
          const cpu = process.cpuUsage();
          send({ type: 'state', gossip: { connected: s.peers.filter((p) => p.connected).length, ...s.gossip, cpuMs: (cpu.user + cpu.system) / 1000, sysMs: cpu.system / 1000 } });
        } else if (m.type === 'stop') {
          await node?.stop();
          process.exit(0);
        }
      } catch (e) {
        send({ type: 'error', message: (e as Error).stack ?? String(e) });
      }
    })();
  });
  process.on('disconnect', () => void (node?.stop() ?? Promise.resolve()).finally(() => process.exit(0)));
}

if (import.meta.main && process.argv.includes('--gossip-peer')) void peerMain();

// ---- the parent ------------------------------------------------------------------------------

interface Peer {
  readonly index: number;
  readonly child: ChildProcess;
  peerId: string;
  addrs: string[];
  request<T extends FromPeer['type']>(m: ToPeer, reply: T, ms?: number): Promise<Extract<FromPeer, { type: T }>>;
  stop(): Promise<void>;
}

function spawnPeer(index: number, onEvent: (index: number, m: FromPeer) => void): Peer {
  const child = fork(fileURLToPath(import.meta.url), ['--gossip-peer'], {
    execPath: process.execPath,
    env: { ...process.env, NOTES_LOG: process.env.NOTES_LOG ?? 'error' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<string, ((m: FromPeer) => void)[]>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let failure: Error | null = null;
  child.on('message', (raw) => {
    const m = raw as FromPeer;
    if (m.type === 'error') {
      failure = new Error(`peer ${index}: ${m.message}`);
      for (const list of waiting.values()) for (const w of list.splice(0)) w(m);
      return;
    }
    const list = waiting.get(m.type);
    if (list && list.length > 0) list.shift()!(m);
    else onEvent(index, m);
  });
  void exited.then(() => {
    failure ??= new Error(`peer ${index} exited`);
    for (const list of waiting.values()) for (const w of list.splice(0)) w({ type: 'error', message: failure.message });
  });
  const peer: Peer = {
    index, child, peerId: '', addrs: [],
    request(m, reply, ms = 20_000) {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`peer ${index}: no ${reply} reply within ${ms} ms`)), ms);
        const list = waiting.get(reply) ?? [];
        waiting.set(reply, list);
        list.push((r) => {
          clearTimeout(timer);
          if (r.type === 'error') reject(new Error(r.message));
          else resolve(r as Extract<FromPeer, { type: typeof reply }>);
        });
        child.send(m);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.send({ type: 'stop' } satisfies ToPeer);
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(kill);
    },
  };
  return peer;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;
const sumCpu = (xs: readonly PeerGossip[]): number => xs.reduce((a, g) => a + g.cpuMs, 0);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Offsets each peer dials: 2 or 3 others, so every peer ends with 5 connections (for 10 peers). */
function dialTargets(i: number, n: number): number[] {
  const offsets = i % 2 === 0 ? [1, 3, 5] : [1, 3];
  return [...new Set(offsets.map((o) => (i + o) % n))].filter((j) => j !== i);
}

async function runConfig(cfg: GossipConfig, o: Required<Omit<GossipLatencyOptions, 'configs'>>, log: (s: string) => void): Promise<GossipRow[]> {
  const root = mkdtempSync(join(tmpdir(), 'notes-bench-gossip-'));
  const peers: Peer[] = [];
  // The write id -> its writer's timestamp and each receiver's.
  const wrote = new Map<string, number>();
  const seen = new Map<string, Map<number, number>>();
  const waiters = new Map<string, () => void>();
  let viaAE = 0;
  const onEvent = (index: number, m: FromPeer): void => {
    if (m.type !== 'seen') return;
    if (m.origin !== 'gossip' && !m.id.includes('warm')) viaAE++;
    let per = seen.get(m.id);
    if (!per) seen.set(m.id, (per = new Map()));
    if (!per.has(index)) per.set(index, m.atUs);
    if (per.size === o.peers - 1) waiters.get(m.id)?.();
  };
  try {
    // One vault: the first data directory creates it, the others are opened with its secret.
    const dirs = Array.from({ length: o.peers }, (_, i) => join(root, `p${i}`));
    const first: Vault = await openVault(dirs[0]);
    for (const d of dirs.slice(1)) await openVault(d, { join: first });
    for (let i = 0; i < o.peers; i++) peers.push(spawnPeer(i, onEvent));
    await Promise.all(peers.map(async (p, i) => {
      const s = await p.request({ type: 'start', dataDir: dirs[i], rumorBatchMs: cfg.rumorBatchMs, heartbeatMs: 1000, stackOnly: cfg.stackOnly === true, durable: cfg.durable === true }, 'started');
      p.peerId = s.peerId;
      p.addrs = s.addrs;
    }));
    const degree = new Array<number>(o.peers).fill(0);
    await Promise.all(peers.map(async (p, i) => {
      const targets = dialTargets(i, o.peers);
      for (const j of targets) {
        degree[i]++;
        degree[j]++;
      }
      const r = await p.request({ type: 'dial', addrs: targets.map((j) => peers[j].addrs[0]) }, 'dialed');
      if (r.failed.length > 0) throw new Error(`peer ${i} could not dial: ${r.failed.join('; ')}`);
    }));
    // The mesh forms at gossipsub heartbeats (1 s); wait until every connection is in it.
    const states = async (): Promise<PeerGossip[]> => Promise.all(peers.map(async (p) => (await p.request({ type: 'state' }, 'state')).gossip));
    let mesh: PeerGossip[] = [];
    const meshDeadline = Date.now() + 20_000;
    for (;;) {
      mesh = await states();
      // gossipsub grafts up to D (6) peers but only tops a mesh up when it falls below Dlo (4).
      if (mesh.every((g, i) => g.connected === degree[i] && g.topicPeers === degree[i] && g.meshPeers >= Math.min(degree[i], 4))) break;
      if (Date.now() > meshDeadline) {
        log(`  gossip: mesh incomplete after 20 s (mesh sizes ${mesh.map((g) => g.meshPeers).join(',')}); measuring anyway\n`);
        break;
      }
      await sleep(200);
    }
    await sleep(2000); // two more heartbeats: let GRAFTs in flight settle
    // A few unmeasured writes warm up every path (JIT, first streams).
    const body = (k: number): string => `${k} `.padEnd(o.bodyChars, 'lorem ipsum ');
    for (let k = 0; k < Math.min(10, o.peers); k++) {
      const id = `${NOTE_PREFIX}warm-${k}`;
      const done = new Promise<void>((resolve) => waiters.set(id, resolve));
      await peers[k % o.peers].request({ type: 'write', id, title: `warm ${k}`, body: body(k) }, 'wrote');
      await Promise.race([done, sleep(o.timeoutMs)]);
    }
    await sleep(200);
    // The idle network's own CPU (gossipsub heartbeats, timers), to tell it from the writes' cost.
    // First let the warm-up's gossip acknowledgements run (one session per peer that sent
    // rumors, at most 5 s after the first: engine/net/ack-timer.ts); they are part of a write's cost.
    await sleep(6000);
    const idleFrom = await states();
    const idleT0 = performance.now();
    await sleep(3000);
    const idleTo = await states();
    const idleRate = (sumCpu(idleTo) - sumCpu(idleFrom)) / (performance.now() - idleT0);
    const before = await states();
    const measureT0 = performance.now();
    const profileFromUs = process.hrtime.bigint() / 1000n;

    const toAll: number[] = [];
    const toEach: number[] = [];
    let lost = 0;
    for (let k = 0; k < o.writes; k++) {
      const writer = k % o.peers;
      const id = `${NOTE_PREFIX}${k}`;
      let timer: NodeJS.Timeout | undefined;
      const done = new Promise<boolean>((resolve) => {
        waiters.set(id, () => resolve(true));
        timer = setTimeout(() => resolve(false), o.timeoutMs);
      });
      const w = await peers[writer].request({ type: 'write', id, title: `note ${k}`, body: body(k) }, 'wrote');
      wrote.set(id, w.atUs);
      // A receiver may have reported before the writer's reply arrived: check now too.
      if ((seen.get(id)?.size ?? 0) === o.peers - 1) waiters.get(id)?.();
      const all = await done;
      clearTimeout(timer);
      waiters.delete(id);
      const per = seen.get(id) ?? new Map<number, number>();
      for (const at of per.values()) toEach.push((at - w.atUs) / 1000);
      if (all) toAll.push((Math.max(...per.values()) - w.atUs) / 1000);
      else lost += o.peers - 1 - per.size;
      if (k % 50 === 49) log(`  gossip ${cfg.label}: ${k + 1}/${o.writes} writes\n`);
      await sleep(20 + Math.random() * 30);
    }
    await sleep(300);
    const after = await states();
    const measuredMs = performance.now() - measureT0;
    // Under --cpu-prof (inherited by the forked peers), say which part of the profiles to read
    // (bench/profile-layers.ts); V8 stamps samples with the same monotonic clock as hrtime.
    if (process.execArgv.some((a) => a.startsWith('--cpu-prof'))) {
      log(`  gossip ${cfg.label}: profile window --from=${profileFromUs} --to=${process.hrtime.bigint() / 1000n} --skip-pid=${process.pid} --writes=${o.writes}\n`);
    }
    const sum = (xs: PeerGossip[], f: (g: PeerGossip) => number): number => xs.reduce((a, g) => a + f(g), 0);
    const published = sum(after, (g) => g.messagesOut) - sum(before, (g) => g.messagesOut);
    const delivered = sum(after, (g) => g.messagesIn) - sum(before, (g) => g.messagesIn);
    const dups = sum(after, (g) => g.duplicates) - sum(before, (g) => g.duplicates);
    const meshSizes = after.map((g) => g.meshPeers);
    const cpuMsPerWrite = round((sumCpu(after) - sumCpu(before)) / o.writes);
    const sysMsPerWrite = round((sum(after, (g) => g.sysMs) - sum(before, (g) => g.sysMs)) / o.writes);
    const writeOnlyCpuMs = round((sumCpu(after) - sumCpu(before) - idleRate * measuredMs) / o.writes);
    const row = (measure: GossipRow['measure'], xs: number[]): GossipRow => {
      const s = [...xs].sort((a, b) => a - b);
      const p99 = percentile(s, 99);
      return {
        config: cfg.label, batchMs: cfg.rumorBatchMs, peers: o.peers, writes: o.writes, measure, samples: s.length,
        p50: round(percentile(s, 50)), p90: round(percentile(s, 90)), p99: round(p99), max: round(s[s.length - 1] ?? NaN),
        p99Target: p99 <= 25 ? 'met (<=25)' : 'MISSED (>25)', lost, viaAE,
        dupPerMsg: round(published > 0 ? dups / published : NaN, 2), dupPerDelivery: round(delivered > 0 ? dups / delivered : NaN, 2),
        meshMin: Math.min(...meshSizes), meshMax: Math.max(...meshSizes), cpuMsPerWrite, sysMsPerWrite,
        idleCpuMsPerSec: round(idleRate * 1000), writeOnlyCpuMs,
      };
    };
    return [row('to-all', toAll), row('to-each', toEach)];
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
    rmSync(root, { recursive: true, force: true });
  }
}

export const DEFAULT_GOSSIP_CONFIGS: readonly GossipConfig[] = [
  { label: 'default batch window', rumorBatchMs: 25 },
  { label: 'no batch window', rumorBatchMs: 0 },
  { label: 'libp2p stack alone', rumorBatchMs: 0, stackOnly: true },
  { label: 'stack + raw durable commit', rumorBatchMs: 0, stackOnly: true, durable: true },
];

export async function gossipLatencyRows(opts: GossipLatencyOptions = {}, log: (s: string) => void = () => undefined): Promise<GossipRow[]> {
  process.env.NOTES_LOG ??= 'warn';
  const o = { peers: opts.peers ?? 10, writes: opts.writes ?? 300, bodyChars: opts.bodyChars ?? 200, timeoutMs: opts.timeoutMs ?? 2000 };
  if (o.peers < 2) throw new RangeError('gossip latency needs at least 2 peers');
  const rows: GossipRow[] = [];
  for (const cfg of opts.configs ?? DEFAULT_GOSSIP_CONFIGS) rows.push(...(await runConfig(cfg, o, log)));
  return rows;
}
