// `npm run notes -- import|export FOLDER --data DIR` as a user runs it (a child process): through
// the running peer's HTTP API when one runs on DIR, so the notes are on its paired device B over
// real libp2p on 127.0.0.1 soon after, and directly on the store when none runs there.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { MAX_VALUE_BYTES } from '../engine/core/limits.ts';
import { lockDataDir } from '../engine/store/dir-lock.ts';
import { removeTempDirs, startPeer, tempDir, waitFor, type PeerProcess } from './peer-process.ts';

const CLI = new URL('../app/notes-cli.ts', import.meta.url).pathname;
const FIXTURE = join(import.meta.dirname, 'fixtures', 'obsidian-vault');

const running: PeerProcess[] = [];
after(async () => {
  await Promise.all(running.map((p) => p.stop()));
  removeTempDirs();
});

function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NOTES_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function vaultCopy(): string {
  const dir = join(tempDir('md-src'), 'Obsidian');
  cpSync(FIXTURE, dir, { recursive: true });
  writeFileSync(join(dir, 'Huge.md'), 'y'.repeat(MAX_VALUE_BYTES + 100 * 1024));
  return dir;
}

describe('notes CLI', { timeout: 120_000 }, () => {
  test('import through the running peer on A: the notes arrive on paired B; export through B', async () => {
    const a = await startPeer();
    running.push(a);
    const { code } = await a.api.invite();
    const b = await startPeer({ join: code });
    running.push(b);
    await waitFor('B connected to A', async () => (await a.api.syncState()).peers.some((p) => p.connected));

    const r = await cli('import', vaultCopy(), '--data', a.dataDir, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /through the peer running on/);
    const report = JSON.parse(r.stdout) as { created: number; skipped: { path: string; reason: string }[] };
    assert.equal(report.created, 7);
    assert.deepEqual(report.skipped.map((s) => [s.path, s.reason]).sort(), [['Huge.md', 'too-large'], ['Journal/Latin1.md', 'not-utf8']]);
    assert.equal((await a.api.listNotes()).length, 6, 'the running peer shows them at once');

    const onB = await waitFor('the imported notes on B', async () => {
      const list = await b.api.listNotes();
      return list.length === 6 ? list : undefined;
    });
    const cafe = onB.find((n) => n.title === 'Café au lait ☕');
    assert.ok(cafe);
    const full = await waitFor('the folder field on B', async () => {
      const n = await b.api.getNote(cafe.id);
      return n.folder === 'Journal/Été' ? n : undefined;
    });
    assert.equal(full.created, Date.UTC(2022, 11, 24));
    assert.equal((await b.api.listNotes({ trashed: true })).length, 1);

    const out = join(tempDir('md-out'), 'export');
    const e = await cli('export', out, '--data', b.dataDir, '--trash');
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stderr, /through the peer running on/);
    assert.match(e.stdout, /exported 7 files/);
    assert.ok(readFileSync(join(out, 'Journal', 'Été', 'Café au lait ☕.md'), 'utf8').includes('title: "Café au lait ☕"'));
    assert.ok(readdirSync(join(out, '.trash')).includes('Old idea.md'));
  });

  test('with no peer running, directly on the store; a re-import adds nothing; bad usage is refused', async () => {
    const data = tempDir('md-direct');
    const src = vaultCopy();
    const first = await cli('import', src, '--data', data);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /directly on the store/);
    assert.match(first.stdout, /imported: 7 new, 0 updated, 0 unchanged, 0 kept \(the vault's copy is newer\), 2 skipped/);
    assert.match(first.stdout, /skipped Journal\/Latin1\.md: not UTF-8/);
    const again = await cli('import', src, '--data', data);
    assert.match(again.stdout, /imported: 0 new, 0 updated, 7 unchanged/);

    // The peer started afterwards finds them in its store.
    const p = await startPeer({ dataDir: data });
    running.push(p);
    assert.equal((await p.api.listNotes()).length, 6);
    await p.stop();

    const out = join(tempDir('md-out'), 'x');
    const e = await cli('export', out, '--data', data);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stderr, /directly on the store/);
    assert.equal(readdirSync(out).filter((n) => n.endsWith('.md')).length, 2, 'the two notes at the top level: Welcome to the vault.md and Broken front matter.md');

    const missing = await cli('import', join(data, 'no such folder'), '--data', data);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /E_INVALID_VALUE: cannot open folder .*no such folder/);

    // A recorded peer that does not answer is reported, never silently bypassed.
    writeFileSync(join(data, 'api-address'), JSON.stringify({ url: 'http://127.0.0.1:9', pid: process.pid }));
    const stale = await cli('import', src, '--data', data);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /does not answer; if no peer runs on .* delete that file/);
    rmSync(join(data, 'api-address'));

    const bad = await cli('import', '--data', data);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /needs a FOLDER/);
    const again2 = await cli('export', out, '--data', data);
    assert.equal(again2.code, 1);
    assert.match(again2.stderr, /not empty/);
  });

  test('a folder another process owns (the desktop app serves no API) is refused, naming the owner, and nothing is written', async () => {
    const data = tempDir('md-owned');
    const owner = lockDataDir(data, 'desktop app');
    try {
      const before = readdirSync(data).sort();
      const r = await cli('import', vaultCopy(), '--data', data);
      assert.equal(r.code, 75, r.stderr);
      assert.match(r.stderr, /E_DIR_LOCKED/);
      assert.match(r.stderr, /desktop app/);
      assert.deepEqual(readdirSync(data).sort(), before, 'no notes.db or anything else was created');
    } finally {
      owner.release();
    }
  });
});
