// Where a multi-process bench's time goes, by layer of the stack: reads the V8 CPU profiles that
// `node --cpu-prof` wrote for the bench and its peer processes (a forked peer inherits the flag)
// and sums each sample into one layer. Used for the gossip bench:
//
//   npx node --cpu-prof --cpu-prof-dir=/tmp/gp bench/run.ts --only=gossip
//   npx node bench/profile-layers.ts --dir=/tmp/gp --from=<us> --to=<us> --skip-pid=<pid> --writes=<n>
//
// `--pid=P` reads one process's profile only; `--functions=N` also lists the N functions with the
// most time of their own.
// The gossip bench prints the window of its measured writes and its own pid when profiled.
// V8 samples the thread's wall time (time not waiting in the event loop), not CPU time: a
// blocking fsync or a process preempted in a syscall counts. So the table gives each layer's
// share of the time the processes were busy; the bench's own columns give the CPU.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; samples: number[]; timeDeltas: number[] }

// First match wins; tested against the package (or node: module, or repository path) of a frame.
const LAYERS: readonly (readonly [string, RegExp])[] = [
  ['engine: SQLite commits (incl. fsync)', /^engine\/store\/sqlite\.ts$/],
  ['engine: other JavaScript', /^(engine|bench)\//],
  ['Ed25519 signatures (@libp2p/crypto)', /^@libp2p\/crypto$/],
  ['noise (ChaCha20-Poly1305)', /^@chainsafe\/(libp2p-noise|as-chacha20poly1305)$/],
  ['pnet (XSalsa20)', /^(@libp2p\/pnet|xsalsa20)$/],
  ['yamux', /^@chainsafe\/libp2p-yamux$/],
  ['gossipsub, protobuf, peer ids', /^(@chainsafe\/libp2p-gossipsub|protons-runtime|multiformats|uint8arrays|@libp2p\/(peer-id|peer-store|pubsub)|@multiformats\/)/],
  ['socket writes (kernel loopback)', /^socket$/],
  ['streams, promises, timers', /^(it-|uint8arraylist|p-|race-|@libp2p\/utils|libp2p$|promises$|node:(internal\/(streams|stream_base_commons|process|event_target|abort_controller|timers|net)|net|stream|buffer|events))/],
  ['garbage collection', /^\(garbage collector\)$/],
];

// Native frames that write to a socket; every other native or wasm frame counts for its caller.
const SOCKET_WRITES = new Set(['writeBuffer', 'writeUtf8String', 'writev', 'writeLatin1String']);

// Crypto is counted for whoever asked for it: noise's cipher, the engine's hashes, a signature.
const TRANSPARENT = /^(node:internal\/crypto|@noble\/)/;

function owner(url: string): string | undefined {
  if (url === '' || url.startsWith('wasm://')) return undefined;
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return url;
  const repo = url.match(/\/((?:engine|bench|app|renderer)\/.*)$/);
  return repo ? repo[1] : url;
}

function layerOf(nodeId: number, byId: Map<number, ProfileNode>, parent: Map<number, number>): string {
  const leaf = byId.get(nodeId)!.callFrame;
  if (leaf.functionName === '(idle)') return '(idle)';
  if (leaf.functionName === '(garbage collector)') return 'garbage collection';
  if (leaf.url === '' && SOCKET_WRITES.has(leaf.functionName)) return 'socket writes (kernel loopback)';
  if (leaf.url === '' && leaf.functionName === 'runMicrotasks') return 'streams, promises, timers';
  for (let id: number | undefined = nodeId; id !== undefined; id = parent.get(id)) {
    const name = owner(byId.get(id)!.callFrame.url);
    if (name === undefined || TRANSPARENT.test(name)) continue;
    return LAYERS.find(([, re]) => re.test(name))?.[0] ?? 'other';
  }
  return 'other';
}

const USAGE = 'usage: npx node bench/profile-layers.ts --dir=D [--from=US --to=US] [--pid=P | --skip-pid=P] [--writes=N] [--functions=N]';

/** A whole number >= 0 from an option, or `fallback` when the option is absent. */
function count(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new Error(`--${name} must be a whole number >= 0, got ${JSON.stringify(value)}`);
  return n;
}

function main(): void {
  const { values } = parseArgs({ options: { dir: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, 'skip-pid': { type: 'string' }, pid: { type: 'string' }, writes: { type: 'string' }, functions: { type: 'string' } } });
  if (values.dir === undefined) throw new Error('--dir is required');
  const from = count('from', values.from, 0);
  const to = count('to', values.to, Number.MAX_SAFE_INTEGER);
  const writes = count('writes', values.writes, 0);
  const top = count('functions', values.functions, 0);
  const files = readdirSync(values.dir).filter((f) => f.endsWith('.cpuprofile')
    && (values['skip-pid'] === undefined || !f.includes(`.${values['skip-pid']}.`))
    && (values.pid === undefined || f.includes(`.${values.pid}.`)));
  if (files.length === 0) throw new Error(`no .cpuprofile files in ${values.dir} for these options`);
  const ms = new Map<string, number>();
  const fnMs = new Map<string, number>();
  for (const f of files) {
    const p = JSON.parse(readFileSync(join(values.dir, f), 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const layerByNode = new Map<number, string>();
    let t = p.startTime;
    p.samples.forEach((node, i) => {
      t += p.timeDeltas[i] ?? 0;
      if (t < from || t > to) return;
      let layer = layerByNode.get(node);
      if (layer === undefined) layerByNode.set(node, (layer = layerOf(node, byId, parent)));
      if (layer === '(idle)') return;
      const d = (p.timeDeltas[i] ?? 0) / 1000;
      ms.set(layer, (ms.get(layer) ?? 0) + d);
      const cf = byId.get(node)!.callFrame;
      const fn = `${cf.functionName || '(anonymous)'} ${owner(cf.url) ?? ''}:${cf.lineNumber + 1}`;
      fnMs.set(fn, (fnMs.get(fn) ?? 0) + d);
    });
  }
  const busy = [...ms.values()].reduce((a, b) => a + b, 0);
  console.log(`${files.length} profiles, busy ${busy.toFixed(0)} ms in the window`);
  const rows = [...ms].sort((a, b) => b[1] - a[1]).map(([layer, v]) => ({
    layer, busyMs: Math.round(v), share: `${((100 * v) / busy).toFixed(1)} %`,
    ...(writes > 0 ? { busyMsPerWrite: Number((v / writes).toFixed(2)) } : {}),
  }));
  console.table(rows);
  if (top > 0) console.table([...fnMs].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, v]) => ({ function: fn, selfMs: Math.round(v) })));
}

try {
  main();
} catch (e) {
  console.error(`profile-layers: ${(e as Error).message}\n${USAGE}`);
  process.exitCode = 2;
}
