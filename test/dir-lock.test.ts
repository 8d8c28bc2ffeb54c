// One owner per data directory (engine/store/dir-lock.ts): a second process on a folder in use is
// refused with a message naming the owner and changes nothing, whichever program it is (the
// headless peer, npm start); the lock dies with its process, so after kill -9 the next start
// works at once.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { dataDirOwner, DirLockedError, lockDataDir, OWNER_FILE } from '../engine/store/dir-lock.ts';
import { EXIT_DIR_LOCKED } from '../app/data-dir-problems.ts';
import { runToExit, snapshot } from './dir-files.ts';
import { peerArgs, removeTempDirs, startPeer, tempDir, type PeerProcess } from './peer-process.ts';

process.env.NOTES_LOG ??= 'silent';
const START = new URL('../app/start.ts', import.meta.url).pathname;
const running: PeerProcess[] = [];
after(async () => {
  await Promise.all(running.map((p) => p.stop()));
  removeTempDirs();
});

describe('the lock within one process', () => {
  test('the first taker owns the folder and says so; a second taker is refused, naming it; release frees it', () => {
    const dir = join(tempDir('lock'), 'notes');
    const lock = lockDataDir(dir, 'test owner');
    const info = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    assert.equal(info.pid, process.pid);
    assert.equal(info.program, 'test owner');
    const before = snapshot(dir);
    assert.throws(() => lockDataDir(dir, 'intruder'), (e: unknown) => {
      assert.ok(e instanceof DirLockedError);
      assert.equal(e.code, 'E_DIR_LOCKED');
      assert.equal(e.owner?.pid, process.pid);
      assert.match(e.message, new RegExp(`in use by the test owner \\(pid ${process.pid} `));
      assert.match(e.message, /Nothing was changed/);
      return true;
    });
    assert.deepEqual(snapshot(dir), before, 'the refused taker changed a file');
    assert.deepEqual(dataDirOwner(dir), { owner: info }, 'the probe names the owner');
    // The failed taker closed its own connection to the lock file; the owner's lock must survive that.
    assert.throws(() => lockDataDir(dir, 'intruder'), DirLockedError);
    lock.release();
    assert.equal(existsSync(join(dir, OWNER_FILE)), false, 'owner.json removed on release');
    assert.equal(dataDirOwner(dir), null);
    const again = lockDataDir(dir, 'next owner');
    assert.equal(JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')).program, 'next owner');
    again.release();
    again.release(); // idempotent
  });

  test('probing a folder nobody ever locked creates nothing', () => {
    const dir = tempDir('probe');
    assert.equal(dataDirOwner(dir), null);
    assert.deepEqual(readdirSync(dir), []);
  });
});

describe('a second process on a folder in use', { timeout: 120_000 }, () => {
  test('a second headless peer and a second npm start exit with the owner named and change nothing', async () => {
    const owner = await startPeer();
    running.push(owner);
    const note = await owner.api.createNote({ title: 'Kept', body: 'written by the owner' });
    const before = snapshot(owner.dataDir);

    const second = await runToExit(peerArgs(owner.dataDir, {}));
    assert.equal(second.code, EXIT_DIR_LOCKED, `exit code; stderr: ${second.stderr}`);
    assert.match(second.stderr, new RegExp(`already in use by the headless peer \\(pid ${owner.child.pid} on [^,]+, running since \\d{4}-`));
    assert.equal(second.stdout, '', 'no start line: the second peer never started');
    assert.deepEqual(snapshot(owner.dataDir), before, 'the second peer changed a file');

    const start = await runToExit([START, '--headless', '--data', owner.dataDir, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0']);
    assert.equal(start.code, EXIT_DIR_LOCKED, `exit code; stdout: ${start.stdout}; stderr: ${start.stderr}`);
    assert.match(start.stdout, new RegExp(`already in use by the headless peer \\(pid ${owner.child.pid} `));
    assert.deepEqual(snapshot(owner.dataDir), before, 'npm start changed a file');

    // The owner never noticed.
    assert.equal((await owner.api.getNote(note.id)).body, 'written by the owner');
  });

  test('after the owner is killed with SIGKILL, a new peer starts on the folder at once', async () => {
    const first = await startPeer();
    const note = await first.api.createNote({ title: 'Survives', body: 'a hard kill' });
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    // What the killed owner left behind: its owner.json, now stale, names a dead process.
    assert.equal(JSON.parse(readFileSync(join(first.dataDir, OWNER_FILE), 'utf8')).pid, first.child.pid);

    const next = await startPeer({ dataDir: first.dataDir });
    running.push(next);
    assert.equal(next.info.peerId, first.info.peerId, 'same identity');
    assert.equal((await next.api.getNote(note.id)).body, 'a hard kill');
    assert.equal(JSON.parse(readFileSync(join(first.dataDir, OWNER_FILE), 'utf8')).pid, next.child.pid, 'owner.json names the new owner');
    // And the new owner holds the lock for real.
    const third = await runToExit(peerArgs(first.dataDir, {}));
    assert.equal(third.code, EXIT_DIR_LOCKED);
    assert.match(third.stderr, new RegExp(`pid ${next.child.pid} `));
  });
});
