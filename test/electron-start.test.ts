// `npm start` (app/start.ts) as a user runs it, in a child process with a timeout: where Electron's
// runtime is missing or fails to start it prints one clear line saying so and why, then serves
// the same UI from the headless peer and prints its URL; where the runtime works it runs it and
// does not fall back. Electron's runtime is never needed: ELECTRON_OVERRIDE_DIST_PATH (the
// electron package's own override) points at an empty folder or at a stand-in script.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { defaultExecutable, findElectron } from '../app/electron/runtime.ts';
import { EXIT_DIR_LOCKED, EXIT_STORE_DAMAGED } from '../app/data-dir-problems.ts';

const ROOT = resolve(import.meta.dirname, '..');
const START = join(ROOT, 'app', 'start.ts');
const T = { timeout: 60_000 };
const dir = mkdtempSync(join(tmpdir(), 'electron-start-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A stand-in for the built UI, so the test does not depend on the renderer build.
const ui = join(dir, 'ui');
mkdirSync(ui);
writeFileSync(join(ui, 'index.html'), '<!doctype html><title>LAN Notes test UI</title>');

interface Started {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves the first stdout line matching `re` (fails after `ms`). */
  waitFor(re: RegExp, ms?: number): Promise<string>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  stderr(): string;
}

/** mDNS off and loopback only: no test may send multicast on the machine's real interfaces. */
const NET = ['--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'];

function start(args: string[], electronDist: string | null): Started {
  const env: NodeJS.ProcessEnv = { ...process.env, NOTES_LOG: 'warn' };
  if (electronDist === null) delete env.ELECTRON_OVERRIDE_DIST_PATH;
  else env.ELECTRON_OVERRIDE_DIST_PATH = electronDist;
  const child = spawn(process.execPath, [START, ...args, ...NET], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let err = '';
  child.stderr!.on('data', (d) => {
    err = (err + d).slice(-20_000);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters.splice(0)) {
      if (w.re.test(line)) w.resolve(line);
      else waiters.push(w);
    }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child, lines,
    stderr: () => err,
    waitFor(re, ms = 30_000) {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${ms} ms; stdout:\n${lines.join('\n')}\nstderr:\n${err}`)), ms);
        waiters.push({ re, resolve: (l) => { clearTimeout(timer); resolve(l); } });
        void exited.then((code) => { clearTimeout(timer); reject(new Error(`npm start exited (${code}) before ${re}; stdout:\n${lines.join('\n')}\nstderr:\n${err}`)); });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** The fallback's promises: one clear line with the reason, then a working URL for the UI. */
async function expectFallback(s: Started, reason: RegExp): Promise<void> {
  const why = await s.waitFor(/no desktop window/);
  assert.match(why, /^LAN Notes: no desktop window: /);
  assert.match(why, reason);
  assert.match(why, /Starting the headless peer with the same UI in your browser instead\.$/);
  const open = await s.waitFor(/^LAN Notes: open /);
  const url = /open (http:\/\/127\.0\.0\.1:\d+\/#token=[\w%-]+) in your browser/.exec(open)?.[1];
  assert.ok(url, open);
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  assert.match(await res.text(), /LAN Notes test UI/);
  assert.equal(s.lines.filter((l) => l.includes('no desktop window')).length, 1, 'the reason is said once');
  assert.equal(await s.stop(), 0, `unclean exit: ${s.stderr()}`);
}

describe('npm start falls back to the headless peer', () => {
  test('when Electron\'s runtime is not installed', T, async () => {
    const empty = join(dir, 'no-electron');
    mkdirSync(empty);
    const data = join(dir, 'data-missing');
    await expectFallback(start(['--data', data, '--ui', ui, '--no-build'], empty), /Electron's runtime is not installed \(ELECTRON_OVERRIDE_DIST_PATH=.* has no electron/);
    assert.ok(existsSync(join(data, 'notes.db')), 'the peer used --data');
  });

  test('when Electron\'s runtime fails to start (a missing system library, say)', { ...T, skip: process.platform === 'win32' && 'the stand-in runtime is a shell script' }, async () => {
    const broken = join(dir, 'broken-electron');
    mkdirSync(broken);
    writeFileSync(join(broken, 'electron'), '#!/bin/sh\necho "starting" >&2\necho "electron: error while loading shared libraries: libgtk-3.so.0: cannot open shared object file" >&2\nexit 127\n');
    chmodSync(join(broken, 'electron'), 0o755);
    await expectFallback(
      start(['--data', join(dir, 'data-broken'), '--ui', ui], broken),
      /Electron's runtime failed to start \(exit code 127: electron: error while loading shared libraries: libgtk-3\.so\.0/,
    );
  });

  test('when asked to (--headless)', T, async () => {
    await expectFallback(start(['--data', join(dir, 'data-headless'), '--ui', ui, '--headless', '--no-build'], null), /--headless/);
  });
});

describe('npm start runs Electron when its runtime works', () => {
  test('no fallback: the app path and --data reach Electron, and npm start stays with it until stopped', { ...T, skip: process.platform === 'win32' && 'the stand-in runtime is a shell script' }, async () => {
    const good = join(dir, 'good-electron');
    mkdirSync(good);
    const argsFile = join(dir, 'electron-args.txt');
    // Prints the main process's ready line, as dist/electron/main.js does, then runs until killed.
    writeFileSync(join(good, 'electron'), `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\necho '{"desktop":"ready","url":"app://notes/index.html"}'\nexec sleep 60\n`);
    chmodSync(join(good, 'electron'), 0o755);
    const data = join(dir, 'data-electron');
    const s = start(['--data', data, '--ui', ui], good);
    // npm start decides once, on Electron's ready line: it says the desktop app runs, and from
    // then on it never falls back.
    await s.waitFor(/^LAN Notes: desktop app running/);
    assert.deepEqual(readFileSync(argsFile, 'utf8').trim().split('\n'), [ROOT, `--data=${data}`, '--no-mdns', '--listen=/ip4/127.0.0.1/tcp/0']);
    assert.ok(!s.lines.some((l) => l.includes('no desktop window')), s.lines.join('\n'));
    assert.equal(s.child.exitCode, null, 'npm start stays with the running app');
    assert.ok(existsSync(join(ROOT, 'dist', 'electron', 'main.js')), 'the Electron bundles were built before running it');
    await s.stop();
  });
});

describe('npm start does not fall back when the desktop app refused the notes folder itself', () => {
  for (const [code, what] of [[EXIT_DIR_LOCKED, 'the folder is in use by another process'], [EXIT_STORE_DAMAGED, 'the user quit at the damaged-database prompt']] as const) {
    test(`exit ${code}: ${what}`, { ...T, skip: process.platform === 'win32' && 'the stand-in runtime is a shell script' }, async () => {
      const refusing = join(dir, `refusing-electron-${code}`);
      mkdirSync(refusing);
      writeFileSync(join(refusing, 'electron'), `#!/bin/sh\necho "the desktop app said why, in a dialog" >&2\nexit ${code}\n`);
      chmodSync(join(refusing, 'electron'), 0o755);
      const s = start(['--data', join(dir, `data-refused-${code}`), '--ui', ui], refusing);
      const exit = await new Promise<number | null>((r) => s.child.once('exit', (c) => r(c)));
      assert.equal(exit, code, s.stderr());
      assert.ok(!s.lines.some((l) => l.includes('no desktop window')), s.lines.join('\n'));
    });
  }
});

describe('finding Electron\'s runtime without loading the electron package (it would download)', () => {
  test('no package, no dist, dist with the executable path.txt names, the override', () => {
    const root = join(dir, 'fake-root');
    mkdirSync(root);
    assert.match((findElectron(root, {}, 'linux') as { reason: string }).reason, /electron package is not installed/);
    const pkg = join(root, 'node_modules', 'electron');
    mkdirSync(pkg, { recursive: true });
    const missing = findElectron(root, {}, 'linux');
    assert.equal(missing.ok, false);
    assert.match((missing as { reason: string }).reason, /node_modules\/electron\/dist is absent.*npx install-electron/);
    writeFileSync(join(pkg, 'path.txt'), 'Electron.app/Contents/MacOS/Electron');
    mkdirSync(join(pkg, 'dist', 'Electron.app', 'Contents', 'MacOS'), { recursive: true });
    writeFileSync(join(pkg, 'dist', 'Electron.app', 'Contents', 'MacOS', 'Electron'), '');
    assert.deepEqual(findElectron(root, {}, 'darwin'), { ok: true, executable: join(pkg, 'dist', 'Electron.app', 'Contents', 'MacOS', 'Electron') });
    assert.equal(findElectron(root, { ELECTRON_OVERRIDE_DIST_PATH: join(dir, 'nowhere') }, 'darwin').ok, false);
    assert.equal(defaultExecutable('win32'), 'electron.exe');
  });
});
