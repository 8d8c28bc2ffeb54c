// The desktop app on a notes folder it cannot use as it is, through the built main-process bundle
// (each case in its own process, test/electron-main-runner.ts, with the stand-in `electron`):
// beside a headless peer that owns the folder it shows who does and exits, changing nothing; on a
// damaged database it asks, quits untouched on "Quit", and starts fresh on its button.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildElectron } from '../app/electron/build.ts';
import { EXIT_DIR_LOCKED, EXIT_STORE_DAMAGED } from '../app/data-dir-problems.ts';
import { Notes, notesIndexer } from '../engine/notes.ts';
import { Replica } from '../engine/replica.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { damageTable, runToExit, snapshot } from './dir-files.ts';
import { removeTempDirs, startPeer, tempDir, type PeerProcess } from './peer-process.ts';

process.env.NOTES_LOG ??= 'silent';
const RUNNER = new URL('./electron-main-runner.ts', import.meta.url).pathname;
const T = { timeout: 90_000 };
const root = tempDir('electron-data-dir');
const bundleDir = join(root, 'app', 'dist', 'electron');
const running: PeerProcess[] = [];

before(async () => {
  await buildElectron(bundleDir);
  mkdirSync(join(root, 'app', 'dist', 'renderer'), { recursive: true });
  writeFileSync(join(root, 'app', 'dist', 'renderer', 'index.html'), '<!doctype html><title>LAN Notes</title>');
});
after(async () => {
  await Promise.all(running.map((p) => p.stop()));
  removeTempDirs();
});

interface Report {
  exitCode: number | null;
  windows: number;
  errors: { title: string; content: string }[];
  boxes: { type: string; title: string; message: string; detail: string; buttons: string[] }[];
}

async function desktop(dataDir: string, answers: number[] = []): Promise<Report> {
  const userData = tempDir('userdata');
  const r = await runToExit([RUNNER, bundleDir, userData, answers.join(','), `--data=${dataDir}`, '--no-mdns', '--listen=/ip4/127.0.0.1/tcp/0']);
  assert.equal(r.code, 0, `runner failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Report;
}

/** A notes folder whose notes.db has its note versions overwritten with garbage. */
function damagedFolder(): string {
  const dir = tempDir('desktop-damaged');
  const store = SqliteStore.open(join(dir, 'notes.db'));
  new Notes(Replica.open(store, { indexer: notesIndexer })).create({ title: 'Desk note', body: 'on the desktop only' });
  store.close();
  damageTable(join(dir, 'notes.db'), 'records');
  return dir;
}

describe('the desktop app on a folder it cannot use as it is', () => {
  test('beside a headless peer that owns the folder: an error box naming the owner, exit 75, nothing changed', T, async () => {
    const owner = await startPeer();
    running.push(owner);
    const before = snapshot(owner.dataDir);
    const r = await desktop(owner.dataDir);
    assert.equal(r.exitCode, EXIT_DIR_LOCKED);
    assert.equal(r.windows, 0);
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0].content, new RegExp(`already in use by the headless peer \\(pid ${owner.child.pid} `));
    assert.deepEqual(snapshot(owner.dataDir), before);
  });

  test('a damaged database: the prompt; "Quit" exits 65 and changes nothing', T, async () => {
    const dir = damagedFolder();
    const before = snapshot(dir);
    const r = await desktop(dir, [1]);
    assert.equal(r.exitCode, EXIT_STORE_DAMAGED);
    assert.equal(r.windows, 0);
    assert.equal(r.boxes.length, 1);
    assert.deepEqual(r.boxes[0].buttons, ['Start fresh from my other devices', 'Quit']);
    assert.match(r.boxes[0].detail, /malformed/);
    assert.match(r.boxes[0].detail, /1 note can still be read from it .*"Desk note"/);
    assert.deepEqual(r.errors, [], 'the user chose to quit: no second box');
    // The folder had never been opened by a host, so the (empty) lock database is new; the lock
    // file stays, because deleting it could let two processes lock two different files.
    const { 'owner.lock': lockFile, ...rest } = snapshot(dir);
    assert.ok(lockFile !== undefined);
    assert.deepEqual(rest, before);
  });

  test('a damaged database: "Start fresh" keeps it aside, writes what was readable, opens the window and says so', T, async () => {
    const dir = damagedFolder();
    const damagedSum = snapshot(dir)['notes.db'];
    const r = await desktop(dir, [0]);
    assert.equal(r.exitCode, null, JSON.stringify(r.errors));
    assert.equal(r.windows, 1);
    assert.equal(r.boxes.length, 2);
    assert.match(r.boxes[1].detail, /Started fresh: the damaged notes database was kept as .*notes\.db\.damaged-.*1 note read from it is in .*recovered-/);
    const files = readdirSync(dir);
    const kept = files.filter((f) => /^notes\.db\.damaged-[0-9TZ-]+$/.test(f));
    assert.equal(kept.length, 1, files.join());
    assert.equal(snapshot(dir)[kept[0]], damagedSum);
    assert.equal(files.filter((f) => /^recovered-.*\.json$/.test(f)).length, 1);
  });
});
