// The headless peer: the same sync engine as the desktop app, under plain Node, with the HTTP
// JSON API (and the UI, once built) on a local port. `npm run peer -- --help` for the options.
// On start it prints one JSON line (API URL, token path, peer id, addresses) for scripts.

import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { removeApiAddress, writeApiAddress } from './api-address.ts';
import { Host } from './host.ts';
import { progressPrinter } from './progress-line.ts';
import { startApiServer } from './http-server.ts';
import { loadOrCreateToken, tokenPath } from './token.ts';
import { logger } from '../engine/log.ts';
import { SyncNode } from '../engine/sync-node.ts';
import { DirLockedError } from '../engine/store/dir-lock.ts';
import { StoreDamagedError } from '../engine/open-replica.ts';
import { damagedStoreMessage, exitCodeFor, freshStartMessage } from './data-dir-problems.ts';

const log = logger('peer');

const HELP = `Usage: npm run peer -- --data DIR [options]

  --data DIR            data directory (vault, notes database, API token); created if missing
  --listen MULTIADDR    libp2p listen address, repeatable; overrides --port and --bind, and no
                        port is remembered
  --port PORT           TCP port tried first when none is remembered (default 27182; 0 = any
                        free one). A taken port falls back to a free one; the port that worked
                        is remembered in DIR/device.json and tried first next time
  --bind IPV4           address to listen on with that port (default 0.0.0.0, every interface)
  --http HOST:PORT      where the HTTP API listens (default 127.0.0.1:0, a free port)
  --peer MULTIADDR      a peer to dial at start, repeatable (when mDNS cannot find it)
  --join CODE           join the vault of an invite code shown on a paired device
  --no-mdns             do not discover peers by mDNS
  --ae-interval MS      anti-entropy period (default 10000)
  --no-gossip           test only: neither publish nor accept rumors (anti-entropy alone)
  --start-fresh         if DIR's notes database is damaged: keep it aside as notes.db.damaged-<time>,
                        write what is still readable to recovered-<time>.json, start with an empty
                        database and get the notes back from paired devices
  --pairing-window MS   how long a "pair nearby" window stays open (default 120000)
  --ui DIR              serve the built UI from DIR (default: dist/renderer of this repo, if built;
                        build it with npm run build:ui); the start line then has its "ui" URL
  --help`;

export interface PeerArgs {
  readonly data: string;
  /** Exact listen addresses, or undefined for the remembered/fixed port on `bind`. */
  readonly listen: string[] | undefined;
  readonly port: number | undefined;
  readonly pairingWindowMs: number | undefined;
  readonly bind: string | undefined;
  readonly http: { host: string; port: number };
  readonly peers: string[];
  readonly join?: string;
  readonly mdns: boolean;
  readonly gossip: boolean;
  readonly aeIntervalMs: number;
  /** Replace a damaged notes database with a fresh one (the damaged file is kept aside). */
  readonly startFresh: boolean;
  /** Directory of the built UI to serve, or null to serve the API alone. */
  readonly ui: string | null;
}

/** Where `npm run build:ui` puts the UI: dist/renderer at the repo root. */
const DEFAULT_UI_DIR = resolve(import.meta.dirname, '..', 'dist', 'renderer');

function uiDir(option: string | undefined): string | null {
  if (option === undefined) return existsSync(join(DEFAULT_UI_DIR, 'index.html')) ? DEFAULT_UI_DIR : null;
  const dir = resolve(option);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`--ui ${option}: no such directory`);
  if (!existsSync(join(dir, 'index.html'))) throw new Error(`--ui ${option}: no index.html there (build the UI with npm run build:ui)`);
  return dir;
}

export function parsePeerArgs(argv: readonly string[]): PeerArgs | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      data: { type: 'string' }, listen: { type: 'string', multiple: true }, http: { type: 'string' },
      port: { type: 'string' }, bind: { type: 'string' }, 'pairing-window': { type: 'string' },
      peer: { type: 'string', multiple: true }, join: { type: 'string' }, 'no-mdns': { type: 'boolean' },
      'no-gossip': { type: 'boolean' }, 'ae-interval': { type: 'string' }, ui: { type: 'string' }, help: { type: 'boolean' },
      'start-fresh': { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  if (!values.data) throw new Error('--data DIR is required');
  const http = values.http ?? '127.0.0.1:0';
  const colon = http.lastIndexOf(':');
  const port = Number(http.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--http must be HOST:PORT, got ${http}`);
  const aeIntervalMs = Number(values['ae-interval'] ?? 10_000);
  if (!Number.isFinite(aeIntervalMs) || aeIntervalMs < 100) throw new Error('--ae-interval must be at least 100 ms');
  const listenPort = values.port === undefined ? undefined : Number(values.port);
  if (listenPort !== undefined && (!/^\d+$/.test(values.port!) || listenPort > 65535)) throw new Error(`--port must be 0-65535, got ${values.port}`);
  const pairingWindowMs = values['pairing-window'] === undefined ? undefined : Number(values['pairing-window']);
  if (pairingWindowMs !== undefined && (!Number.isFinite(pairingWindowMs) || pairingWindowMs < 1000)) throw new Error('--pairing-window must be at least 1000 ms');
  if (values.bind !== undefined && !/^\d{1,3}(\.\d{1,3}){3}$/.test(values.bind)) throw new Error(`--bind must be an IPv4 address, got ${values.bind}`);
  return {
    data: resolve(values.data), listen: values.listen, port: listenPort, bind: values.bind, pairingWindowMs, http: { host: http.slice(0, colon).replace(/^\[|\]$/g, ''), port },
    peers: values.peer ?? [], join: values.join, mdns: !values['no-mdns'], gossip: !values['no-gossip'], aeIntervalMs,
    startFresh: values['start-fresh'] === true,
    ui: uiDir(values.ui),
  };
}

async function main(): Promise<void> {
  let args: PeerArgs | 'help';
  try {
    args = parsePeerArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${HELP}\n`);
    process.exit(2);
  }
  if (args === 'help') {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  let node: SyncNode;
  try {
    node = await SyncNode.start({
      dataDir: args.data, listen: args.listen, port: args.port, listenHost: args.bind, pairingWindowMs: args.pairingWindowMs, mdns: args.mdns, peers: args.peers, join: args.join,
      gossip: args.gossip, antiEntropyIntervalMs: args.aeIntervalMs, program: 'headless peer',
      onDamagedStore: () => (args.startFresh ? 'start-fresh' : 'stop'),
    });
  } catch (e) {
    // The two ways a folder cannot be used as it is get their own words and exit codes.
    if (e instanceof DirLockedError || e instanceof StoreDamagedError) {
      log.error(e.message, { code: e.code });
      process.stderr.write(`${e instanceof StoreDamagedError ? damagedStoreMessage(e.damage) : e.message}\n`);
      process.exit(exitCodeFor(e));
    }
    throw e;
  }
  if (node.freshStart !== null) process.stderr.write(`${freshStartMessage(node.freshStart)}
`);
  const host = new Host(node.notes, node);
  node.onProgress(progressPrinter((line) => process.stderr.write(`${line}\n`)));
  const token = await loadOrCreateToken(args.data);
  const server = await startApiServer(host, { host: args.http.host, port: args.http.port, token, staticDir: args.ui ?? undefined });
  // The token rides in the fragment: the browser never sends it to the server (app/browser-bridge.ts).
  const ui = args.ui === null ? {} : { ui: `${server.url}/#token=${encodeURIComponent(token)}` };
  // So `npm run notes -- ... --data DIR` finds this peer and goes through its API.
  await writeApiAddress(args.data, server.url);
  const fresh = node.freshStart === null ? {} : { startedFresh: { damaged: node.freshStart.damagedPath, recovered: node.freshStart.recoveredPath, notes: node.freshStart.notes } };
  process.stdout.write(`${JSON.stringify({ api: server.url, tokenPath: tokenPath(args.data), peerId: node.peerId, vault: node.vaultId, addresses: node.addresses(), ...ui, ...fresh })}\n`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    // API first (no new writes), then the engine: its last rumor flush, then the store closes.
    await removeApiAddress(args.data).catch((e) => log.warn('could not remove the api-address file', { error: e }));
    await server.close().catch((e) => log.warn('api close failed', { error: e }));
    host.close();
    await node.stop().catch((e) => log.error('engine stop failed', { error: e }));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

if (import.meta.main) {
  main().catch((e) => {
    log.error('peer failed to start', { error: e });
    process.stderr.write(`peer failed to start: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
