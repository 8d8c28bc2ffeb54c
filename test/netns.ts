// Network namespaces for the tests that need real multicast (mDNS): two namespaces joined by a
// veth pair created directly inside them, so no test interface ever appears in (and no mDNS
// packet ever leaves on) the machine's real interfaces. Needs root. Also runs headless peers and
// an API client inside a namespace (a peer's HTTP API there listens on the namespace's own
// loopback, which the test process cannot reach).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { PeerInfo } from './peer-process.ts';
import type { BridgedMethod, BridgeReply } from './netns-client.ts';

const PEER = new URL('../app/peer.ts', import.meta.url).pathname;
const CLIENT = new URL('./netns-client.ts', import.meta.url).pathname;

function ip(...args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${err.stderr?.toString().trim() || err.message}`);
  }
}

export interface NamespaceEnd {
  readonly ns: string;
  readonly veth: string;
  /** This end's IPv4 address on the private /24. */
  readonly addr: string;
}

export interface LinkedNamespaces {
  readonly a: NamespaceEnd;
  readonly b: NamespaceEnd;
  /** Deletes both namespaces (the veth pair goes with them). Idempotent; never throws. Stop processes inside them first. */
  remove(): string[];
}

/**
 * Creates two namespaces joined by a veth pair, each end addressed on 10.213.<pid % 200>.0/24,
 * `lo` and the veth up, and a multicast route on the veth. Throws if any step fails, after
 * removing whatever it had created.
 */
export function createLinkedNamespaces(tag: string): LinkedNamespaces {
  const pid = process.pid;
  const subnet = `10.213.${pid % 200}`;
  // Interface names are at most 15 characters: "nv" + a/b + pid (<= 7 digits) fits.
  const a: NamespaceEnd = { ns: `notes-${tag}-a-${pid}`, veth: `nva${pid}`, addr: `${subnet}.1` };
  const b: NamespaceEnd = { ns: `notes-${tag}-b-${pid}`, veth: `nvb${pid}`, addr: `${subnet}.2` };
  const created: string[] = [];
  const remove = (): string[] => {
    const problems: string[] = [];
    for (const ns of created.splice(0).reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
    return problems;
  };
  try {
    for (const end of [a, b]) {
      ip('netns', 'add', end.ns);
      created.push(end.ns);
    }
    // Both ends are born inside their namespaces: the pair never exists in the root namespace.
    ip('link', 'add', a.veth, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.veth, 'netns', b.ns);
    for (const end of [a, b]) {
      ip('-n', end.ns, 'addr', 'add', `${end.addr}/24`, 'dev', end.veth);
      ip('-n', end.ns, 'link', 'set', 'lo', 'up');
      ip('-n', end.ns, 'link', 'set', end.veth, 'up');
      ip('-n', end.ns, 'route', 'add', '224.0.0.0/4', 'dev', end.veth);
    }
  } catch (e) {
    remove();
    throw e;
  }
  return { a, b, remove };
}

/** Whether a namespace of that name exists (for checking cleanup). */
export function namespaceExists(ns: string): boolean {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').some((l) => l.split(' ')[0] === ns);
}

export interface NetnsProcess {
  readonly child: ChildProcess;
  stderr(): string;
  /** SIGTERM, SIGKILL after 10 s; resolves the exit code. */
  stop(): Promise<number | null>;
}

function track(child: ChildProcess): { stderr: () => string; exited: Promise<number | null>; stop: () => Promise<number | null> } {
  let err = '';
  child.stderr?.on('data', (d) => {
    err = (err + d).slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  return {
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export interface NetnsPeer extends NetnsProcess {
  readonly info: PeerInfo;
  readonly token: string;
}

/** Starts `app/peer.ts` inside `ns` (`ip netns exec` execs node itself, so the child is the peer). */
export async function startPeerIn(ns: string, args: readonly string[], startMs = 20_000): Promise<NetnsPeer> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, PEER, ...args], {
    env: { ...process.env, NOTES_LOG: process.env.NOTES_LOG_PEERS ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const t = track(child);
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`peer in ${ns} did not start within ${startMs} ms: ${t.stderr()}`)), startMs);
      createInterface({ input: child.stdout! }).once('line', (l) => {
        clearTimeout(timer);
        resolve(l);
      });
      void t.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`peer in ${ns} exited with ${code}: ${t.stderr()}`));
      });
    });
    const info = JSON.parse(line) as PeerInfo;
    return { child, info, token: readFileSync(info.tokenPath, 'utf8').trim(), stderr: t.stderr, stop: t.stop };
  } catch (e) {
    await t.stop();
    throw e;
  }
}

export interface NetnsApi extends NetnsProcess {
  /** Calls a NotesApi method inside the namespace; rejects with the API's error code and message. */
  call<T = unknown>(method: BridgedMethod, ...args: unknown[]): Promise<T>;
}

/** Starts test/netns-client.ts as a bridge inside `ns`, talking to the peer's HTTP API there. */
export function apiIn(ns: string, peer: NetnsPeer): NetnsApi {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CLIENT, peer.info.api, peer.info.tokenPath], {
    env: { ...process.env, NOTES_LOG: 'error' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const t = track(child);
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let reply: BridgeReply & { id: number };
    try {
      reply = JSON.parse(line);
    } catch {
      return;
    }
    const w = waiting.get(reply.id);
    if (!w) return;
    waiting.delete(reply.id);
    if (reply.ok) w.resolve(reply.value);
    else w.reject(Object.assign(new Error(`${reply.error.code}: ${reply.error.message}`), { code: reply.error.code }));
  });
  void t.exited.then((code) => {
    for (const w of waiting.values()) w.reject(new Error(`netns client in ${ns} exited with ${code}: ${t.stderr()}`));
    waiting.clear();
  });
  return {
    child,
    stderr: t.stderr,
    async stop() {
      child.stdin?.end();
      return t.stop();
    },
    call<T>(method: BridgedMethod, ...args: unknown[]): Promise<T> {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`netns client in ${ns} has exited: ${t.stderr()}`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        // The client gives up on a request after 10 s itself; this bounds a stuck bridge too.
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`netns client in ${ns}: ${method} got no answer within 15 s`));
        }, 15_000);
        const done = <A>(f: (a: A) => void) => (a: A): void => {
          clearTimeout(timer);
          f(a);
        };
        waiting.set(id, { resolve: done(resolve as (v: unknown) => void), reject: done(reject) });
        child.stdin!.write(`${JSON.stringify({ id, method, args })}\n`);
      });
    },
  };
}

/**
 * A test's pair of linked namespaces and the processes it runs in them. `close()` stops the
 * processes first (a namespace with a process in it outlives `ip netns del`), then deletes the
 * namespaces; should the test process exit without reaching `close()`, the same happens on exit.
 */
export class NamespaceLab {
  readonly procs: NetnsProcess[] = [];
  private nets: LinkedNamespaces | null = null;
  private readonly onExit = (): void => {
    for (const p of this.procs) p.child.kill('SIGKILL');
    for (const ns of this.nets ? [this.nets.a.ns, this.nets.b.ns] : []) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  };

  constructor() {
    process.once('exit', this.onExit);
  }

  link(tag: string): LinkedNamespaces {
    this.nets = createLinkedNamespaces(tag);
    return this.nets;
  }

  /** The namespaces' names, once linked. */
  names(): string[] {
    return this.nets ? [this.nets.a.ns, this.nets.b.ns] : [];
  }

  /** Returns what could not be removed (empty when all is gone). */
  async close(): Promise<string[]> {
    await Promise.all(this.procs.map((p) => p.stop()));
    const problems = this.nets?.remove() ?? [];
    process.removeListener('exit', this.onExit);
    return problems;
  }
}
