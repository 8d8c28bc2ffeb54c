// `npm start`: the desktop app, or where Electron's runtime is missing or cannot start, the same
// UI served by the headless peer (app/peer.ts) in the browser.
//
//   1. builds what is missing or older than its sources: the UI (npm run build:ui) and the
//      Electron bundles (app/electron/build.ts); --no-build only checks and says how
//   2. Electron's runtime present (node_modules/electron/dist): runs it on this repo (package.json
//      "main" is the built main bundle) and waits for its ready line
//   3. runtime missing, or Electron exits with an error before its window is up: prints ONE line
//      saying so and why, then starts the headless peer with --ui and prints the UI's URL
//
// Options: --data DIR (notes folder; default the desktop app's, so both open the same notes),
// --ui DIR (built UI for the headless peer), --headless (skip Electron), --no-build, --help.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { buildElectron, MAIN_BUNDLE, PRELOAD_BUNDLE } from './electron/build.ts';
import { desktopUserDataDir, notesDataDir } from './electron/lifecycle.ts';
import { findElectron } from './electron/runtime.ts';
import { dataDirOwner, describeOwner } from '../engine/store/dir-lock.ts';
import { EXIT_DIR_LOCKED, EXIT_STORE_DAMAGED } from './data-dir-problems.ts';

const ROOT = resolve(import.meta.dirname, '..');
const UI_DIR = join(ROOT, 'dist', 'renderer');
const PEER = join(ROOT, 'app', 'peer.ts');

const HELP = `Usage: npm start [-- options]

  --data DIR     notes folder (default: the desktop app's, ${notesDataDir(desktopUserDataDir(process.platform, process.env, homedir()))})
  --ui DIR       built UI the headless fallback serves (default dist/renderer)
  --headless     do not try Electron: run the headless peer with the UI in your browser
  --no-build     do not build; say what is missing instead
  --no-mdns      do not discover peers by mDNS
  --listen MA    libp2p listen multiaddr (repeatable; default every IPv4 interface)
  --start-fresh  headless peer: replace a damaged notes database (see npm run peer -- --help)
  --help`;

const say = (line: string): void => {
  process.stdout.write(`LAN Notes: ${line}\n`);
};

/** Newest modification time of the files under `paths` (files or directories), 0 if none. */
function newest(paths: readonly string[]): number {
  let t = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const s = statSync(p);
    if (s.isFile()) t = Math.max(t, s.mtimeMs);
    else if (s.isDirectory()) {
      for (const f of readdirSync(p, { recursive: true, withFileTypes: true })) {
        if (f.isFile()) t = Math.max(t, statSync(join(f.parentPath, f.name)).mtimeMs);
      }
    }
  }
  return t;
}

/** Missing, or older than any of its sources. */
function stale(output: string, sources: readonly string[]): boolean {
  return !existsSync(output) || statSync(output).mtimeMs < newest(sources);
}

const UI_SOURCES = ['renderer', 'vite.config.ts', 'app/api.ts', 'app/browser-bridge.ts', 'engine/core/sync-state.ts', 'engine/core/doctor.ts', 'engine/core/pairing-types.ts', 'engine/core/note-types.ts'].map((p) => join(ROOT, p));
const ELECTRON_SOURCES = ['app', 'engine'].map((p) => join(ROOT, p));

function ensureUi(noBuild: boolean): boolean {
  const index = join(UI_DIR, 'index.html');
  if (!stale(index, UI_SOURCES)) return true;
  if (noBuild) {
    if (existsSync(index)) return true; // older than its sources, but there; --no-build was asked for
    say('the UI is not built (dist/renderer/index.html is missing): run `npm run build:ui`');
    return false;
  }
  say(existsSync(index) ? 'the UI is older than its sources: rebuilding it (npm run build:ui)' : 'building the UI (npm run build:ui)');
  const r = spawnSync('npm', ['run', 'build:ui'], { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) {
    say('building the UI failed (see above); fix it and run `npm run build:ui`');
    return false;
  }
  return true;
}

async function ensureElectronBundles(noBuild: boolean): Promise<boolean> {
  const missing = !existsSync(MAIN_BUNDLE) || !existsSync(PRELOAD_BUNDLE);
  if (!missing && !stale(MAIN_BUNDLE, ELECTRON_SOURCES)) return true;
  if (noBuild) {
    if (!missing) return true;
    say('the desktop app is not built (dist/electron is missing): run `npm run build:electron`');
    return false;
  }
  await buildElectron();
  return true;
}

/** Forwards Ctrl-C / SIGTERM to the child and exits with its code when it ends. */
function followChild(child: ChildProcess): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/**
 * Runs Electron on this repo. Resolves 'running' once its main process printed its ready line (it
 * keeps running; its output is passed through), or the reason it failed before that.
 */
function runElectron(executable: string, dataDir: string | undefined, net: readonly string[]): Promise<{ running: true } | { running: false; reason: string } | { exited: number }> {
  const args = [ROOT, ...(dataDir === undefined ? [] : [`--data=${dataDir}`]), ...net];
  const child = spawn(executable, args, { cwd: ROOT, stdio: ['inherit', 'pipe', 'pipe'] });
  let lastError = '';
  return new Promise((done) => {
    let ready = false;
    child.stderr!.on('data', (d: Buffer) => {
      process.stderr.write(d);
      const lines = d.toString().split('\n').map((l) => l.trim()).filter((l) => l !== '');
      if (lines.length > 0) lastError = lines.at(-1)!;
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!ready && line.includes('"desktop":"ready"')) {
        ready = true;
        followChild(child);
        done({ running: true });
        return;
      }
      process.stdout.write(`${line}\n`);
    });
    child.on('error', (e) => done({ running: false, reason: `Electron's runtime could not be run (${e.message})` }));
    child.on('exit', (code, signal) => {
      if (ready) return;
      // Exit 0 before a window: another instance was running and showed its window instead.
      if (code === 0) return done({ exited: 0 });
      // The folder is another process's, or the user quit at the damaged-database prompt: the
      // desktop app said so itself, and the headless peer would only hit the same wall.
      if (code === EXIT_DIR_LOCKED || code === EXIT_STORE_DAMAGED) return done({ exited: code });
      const why = lastError === '' ? 'no message' : lastError.slice(0, 240);
      done({ running: false, reason: `Electron's runtime failed to start (${signal ?? `exit code ${code}`}: ${why})` });
    });
  });
}

/** The headless peer with the UI; prints the UI's URL from its start line. */
function runHeadless(dataDir: string, uiDir: string, net: readonly string[], startFresh: boolean): void {
  const child = spawn(process.execPath, [PEER, '--data', dataDir, '--ui', uiDir, ...net, ...(startFresh ? ['--start-fresh'] : [])], { cwd: ROOT, stdio: ['inherit', 'pipe', 'inherit'] });
  followChild(child);
  let first = true;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!first) {
      process.stdout.write(`${line}\n`);
      return;
    }
    first = false;
    let info: { ui?: string; api?: string } = {};
    try {
      info = JSON.parse(line) as typeof info;
    } catch {
      process.stdout.write(`${line}\n`);
      return;
    }
    say(`open ${info.ui ?? info.api} in your browser (notes in ${dataDir}; Ctrl-C stops)`);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' }, ui: { type: 'string' }, headless: { type: 'boolean' }, 'no-build': { type: 'boolean' }, help: { type: 'boolean' },
      'no-mdns': { type: 'boolean' }, listen: { type: 'string', multiple: true }, 'start-fresh': { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const noBuild = values['no-build'] === true;
  const dataDir = values.data === undefined ? undefined : resolve(values.data);
  // Network options go to whichever host starts (tests keep mDNS off and listen on loopback).
  const net = [...(values['no-mdns'] ? ['--no-mdns'] : []), ...(values.listen ?? []).map((l) => `--listen=${l}`)];
  const runtime = findElectron(ROOT);
  const notesDir = dataDir ?? notesDataDir(desktopUserDataDir(process.platform, process.env, homedir()));
  // Said before building or starting anything. A desktop app that owns the folder is left to
  // Electron's own single-instance handoff (it shows its window), where Electron will run.
  const held = dataDirOwner(notesDir);
  if (held !== null && !(held.owner?.program === 'desktop app' && runtime.ok && !values.headless)) {
    say(`the notes folder ${notesDir} is already in use by ${describeOwner(held.owner)}; only one LAN Notes process can use it at a time. Nothing was started.`);
    process.exit(EXIT_DIR_LOCKED);
  }

  const uiDir = values.ui === undefined ? UI_DIR : resolve(values.ui);
  if (values.ui === undefined && !ensureUi(noBuild)) process.exit(1);

  let why: string;
  if (values.headless) {
    why = 'the headless peer was asked for (--headless)';
  } else if (!runtime.ok) {
    why = runtime.reason;
  } else {
    if (!(await ensureElectronBundles(noBuild))) process.exit(1);
    const r = await runElectron(runtime.executable, dataDir, net);
    if ('exited' in r) process.exit(r.exited);
    if (r.running) {
      say('desktop app running (Ctrl-C or quitting the app stops it)');
      return;
    }
    why = r.reason;
  }
  // The one line that says why there is no desktop window.
  say(`no desktop window: ${why}. Starting the headless peer with the same UI in your browser instead.`);
  runHeadless(notesDir, uiDir, net, values['start-fresh'] === true);
}

main().catch((e) => {
  process.stderr.write(`npm start failed: ${(e as Error).message}\n`);
  process.exit(1);
});
