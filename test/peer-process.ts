// Runs headless peers as separate processes for the multi-peer tests: real libp2p over TCP on
// loopback, a real SQLite file each, driven through the HTTP API like any client would.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { HttpNotesApi } from '../app/http-client.ts';

const PEER = new URL('../app/peer.ts', import.meta.url).pathname;

export interface PeerInfo {
  readonly api: string;
  readonly tokenPath: string;
  readonly peerId: string;
  readonly vault: string;
  readonly addresses: string[];
  /** The UI's address with its token (`<api>/#token=…`), when the peer serves the built UI. */
  readonly ui?: string;
}

export interface PeerProcess {
  readonly info: PeerInfo;
  readonly api: HttpNotesApi;
  readonly dataDir: string;
  readonly token: string;
  readonly child: ChildProcess;
  /** SIGTERM, then wait for a clean exit; resolves the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash: nothing is flushed or closed), then wait for the process to be gone. */
  kill(): Promise<void>;
  stderr(): string;
}

export interface PeerOptions {
  readonly dataDir?: string;
  readonly join?: string;
  readonly peers?: readonly string[];
  readonly gossip?: boolean;
  readonly aeIntervalMs?: number;
  readonly extra?: readonly string[];
  /**
   * Listen on 127.0.0.1 the way the app does (the remembered port, else this one, with the
   * free-port fallback: `--bind 127.0.0.1 --port N`) instead of a fresh free port every start.
   */
  readonly port?: number;
}

const dirs: string[] = [];

export function tempDir(label: string): string {
  const d = mkdtempSync(join(tmpdir(), `notes-${label}-`));
  dirs.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function peerArgs(dataDir: string, o: PeerOptions): string[] {
  return [
    PEER, '--data', dataDir, '--no-mdns',
    ...(o.port === undefined ? ['--listen', '/ip4/127.0.0.1/tcp/0'] : ['--bind', '127.0.0.1', '--port', String(o.port)]),
    '--http', '127.0.0.1:0',
    '--ae-interval', String(o.aeIntervalMs ?? 500),
    ...(o.gossip === false ? ['--no-gossip'] : []),
    ...(o.join ? ['--join', o.join] : []),
    ...(o.peers ?? []).flatMap((p) => ['--peer', p]),
    ...(o.extra ?? []),
  ];
}

export async function startPeer(o: PeerOptions = {}): Promise<PeerProcess> {
  const dataDir = o.dataDir ?? tempDir('peer');
  const child = spawn(process.execPath, peerArgs(dataDir, o), { env: { ...process.env, NOTES_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => {
    err = (err + d).slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`peer did not start within 20 s: ${err}`)), 20_000);
    createInterface({ input: child.stdout! }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    void exited.then((code) => reject(new Error(`peer exited with ${code}: ${err}`)));
  });
  const info = JSON.parse(line) as PeerInfo;
  const token = readFileSync(info.tokenPath, 'utf8').trim();
  const api = new HttpNotesApi({ baseUrl: info.api, token });
  return {
    info, api, dataDir, token, child,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export { waitFor } from './wait.ts';

/**
 * A test file's peers: `peer()` starts one (over `defaults`) and remembers it in `running`;
 * `stopAll()`, for the file's `after` hook, stops every one still remembered and removes the
 * temporary folders.
 */
export function peerPool(defaults: PeerOptions = {}) {
  const running = new Set<PeerProcess>();
  return {
    running,
    async peer(o: PeerOptions = {}): Promise<PeerProcess> {
      const p = await startPeer({ ...defaults, ...o });
      running.add(p);
      return p;
    },
    async stopAll(): Promise<void> {
      await Promise.all([...running].map((p) => p.stop()));
      removeTempDirs();
    },
  };
}
