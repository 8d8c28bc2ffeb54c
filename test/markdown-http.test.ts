// The Markdown routes of the HTTP API (POST /api/import, GET /api/export) on a real Host over a
// real SQLite file and the real server on 127.0.0.1: a batch lands as one transaction, bad batches
// are refused with 400 and change nothing, and a large folder sent the way the CLI sends it goes
// in several requests with progress.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Host } from '../app/host.ts';
import { HttpNotesApi } from '../app/http-client.ts';
import { startApiServer, type ApiServer } from '../app/http-server.ts';
import { uploadFolder } from '../app/notes-cli.ts';
import { listMarkdownFolder } from '../engine/markdown/folder-io.ts';
import { Notes, notesIndexer } from '../engine/notes.ts';
import { Replica } from '../engine/replica.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';

const TOKEN = 'markdown-http-test-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'md-http-'));
let store: SqliteStore;
let host: Host;
let server: ApiServer;
let api: HttpNotesApi;

before(async () => {
  store = SqliteStore.open(join(dir, 'notes.db'));
  host = new Host(new Notes(Replica.open(store, { indexer: notesIndexer })));
  server = await startApiServer(host, { token: TOKEN });
  api = new HttpNotesApi({ baseUrl: server.url, token: TOKEN });
});

after(async () => {
  await server.close();
  host.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

async function post(body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}/api/import`, {
    method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, json: await res.json() };
}

describe('Markdown over the HTTP API', { timeout: 60_000 }, () => {
  test('one batch is one transaction; the export lists it; trash only when asked', async () => {
    const before = store.seq();
    const events: number[] = [];
    const off = host.notes.replica.onChange((e) => events.push(e.records.length));
    const report = await api.importMarkdown({
      root: 'R', files: [
        { path: 'a.md', data: b64('---\ntitle: A\n---\nalpha'), size: 20, modified: 1_700_000_000_000 },
        { path: 'sub/b.md', data: b64('# B\nbeta'), size: 8, modified: 1_700_000_001_000, created: 1_600_000_000_000 },
        { path: '.trash/c.md', data: b64('gone'), size: 4, modified: 1_700_000_002_000 },
        { path: 'big.md', size: 5 * 1024 * 1024, modified: 1 },
      ],
    });
    off();
    assert.equal(report.created, 3);
    assert.deepEqual(report.skipped.map((s) => [s.path, s.reason]), [['big.md', 'too-large']]);
    assert.equal(events.length, 1, 'one commit for the whole batch');
    assert.ok(store.seq() > before);
    const b = (await api.listNotes()).find((n) => n.title === 'B')!;
    assert.deepEqual([b.created, b.updated], [1_600_000_000_000, 1_700_000_001_000]);
    assert.deepEqual((await api.exportMarkdown()).map((f) => f.path).sort(), ['A.md', 'sub/B.md']);
    assert.deepEqual((await api.exportMarkdown({ trash: true })).map((f) => f.path).sort(), ['.trash/c.md', 'A.md', 'sub/B.md']);
  });

  test('bad batches are refused with 400 and change nothing', async () => {
    const seq = store.seq();
    const good = { path: 'x.md', data: b64('x'), size: 1, modified: 1 };
    for (const [body, message] of [
      [{ files: [good] }, /missing field "root"/],
      [{ root: 'R', files: [good], extra: 1 }, /unknown field "extra"/],
      [{ root: 'R', files: 'x.md' }, /files must be an array/],
      [{ root: 'R', files: [good, { ...good, data: '%%%%' }] }, /base64/],
      [{ root: 'R', files: [good, { ...good, modified: 'yesterday' }] }, /modified/],
      [{ root: 'R', files: Array.from({ length: 201 }, () => good) }, /at most 200 files/],
    ] as const) {
      const r = await post(body);
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.equal(r.json.error.code, 'E_INVALID_VALUE');
      assert.match(r.json.error.message, message);
    }
    const e = await fetch(`${server.url}/api/export?trash=maybe`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(e.status, 400);
    assert.equal(store.seq(), seq, 'nothing was written');
  });

  test('a folder of 450 notes goes in batches of at most 200 files, with progress after each', async () => {
    const folder = join(dir, 'Many');
    mkdirSync(join(folder, 'deep'), { recursive: true });
    for (let i = 0; i < 450; i++) writeFileSync(join(folder, i % 2 ? 'deep' : '', `note ${String(i).padStart(3, '0')}.md`), `# Note ${i}\n${'text '.repeat(i)}\n`);
    const commits: number[] = [];
    const off = host.notes.replica.onChange(() => commits.push(1));
    const progress: string[] = [];
    const report = await uploadFolder(api, await listMarkdownFolder(folder), (p) => progress.push(`${p.done}/${p.total}`));
    off();
    assert.equal(report.created, 450);
    assert.deepEqual(progress, ['200/450', '400/450', '450/450']);
    assert.equal(commits.length, 3, 'one transaction per batch');
    const again = await uploadFolder(api, await listMarkdownFolder(folder));
    assert.equal(again.unchanged, 450);
    assert.equal((await api.listNotes()).filter((n) => n.title.startsWith('Note ')).length, 450);
  });
});
