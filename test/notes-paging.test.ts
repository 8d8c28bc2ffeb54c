// The paged notes API end to end: a real Host over a real SQLite file behind the real HTTP server,
// read through HttpNotesApi (as the UI reads it) and raw requests. The main property: a paging
// pass, with notes created, edited, trashed and restored between page requests, plus the
// summaries of the notes the change events named, rebuilds exactly the host's list, and every
// note nobody touched during the pass is on exactly one page. The seeds are fixed and printed.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { NoteSummary } from '../app/api.ts';
import { Host } from '../app/host.ts';
import { HttpNotesApi } from '../app/http-client.ts';
import { startApiServer, type ApiServer } from '../app/http-server.ts';
import { Notes, noteKey, notesIndexer } from '../engine/notes.ts';
import { Replica, type Write } from '../engine/replica.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { appendPage, applySummaries, EMPTY_LIST, type LoadedList } from '../renderer/list-model.ts';
import { Prng } from './prng.ts';

const T = { timeout: 60_000 };
const SEEDS = [11, 12, 13, 14];
/** More notes than one page of the streamed whole list (1000), all written in one millisecond. */
const NOTES = 1300;

describe('paged notes API over a real host, SQLite file and HTTP server', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'notes-paging-test-'));
  let store: SqliteStore;
  let host: Host;
  let server: ApiServer;
  let client: HttpNotesApi;
  let wall = 1_700_000_000_000;
  const token = 'paging-test-token-0123456789abcdef';

  const raw = async (path: string): Promise<{ status: number; json: any }> => {
    const res = await fetch(server.url + path, { headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, json: await res.json() };
  };
  const ids = (notes: readonly { id: string }[]): string[] => notes.map((n) => n.id);
  const liveList = (): string[] => ids(host.notes.list({ trashed: false }));

  before(async () => {
    store = SqliteStore.open(join(dir, 'notes.db'));
    host = new Host(new Notes(Replica.open(store, { indexer: notesIndexer, now: () => wall })));
    server = await startApiServer(host, { token });
    client = new HttpNotesApi({ baseUrl: server.url, token, timeoutMs: 10_000 });
    // One transaction, one wall-clock millisecond: every note ties on `updated`, so page
    // boundaries fall inside a tie and the id tiebreak carries the cursor.
    const writes: Write[] = [];
    for (let i = 0; i < NOTES; i++) {
      const id = `seed-${String(i).padStart(5, '0')}`;
      writes.push({ key: noteKey(id, 'title'), value: `Note ${i}` }, { key: noteKey(id, 'body'), value: `body ${i} ${i % 7 === 0 ? 'walrus' : 'plain'}` }, { key: noteKey(id, 'created'), value: String(wall) });
    }
    host.notes.replica.write(writes);
  });

  after(async () => {
    await server?.close();
    host?.close();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('plain GET /api/notes still returns the whole list, streamed across store pages', T, async () => {
    const whole = await raw('/api/notes');
    assert.equal(whole.status, 200);
    assert.ok(Array.isArray(whole.json));
    assert.equal(whole.json.length, NOTES);
    assert.deepEqual(ids(whole.json), liveList());
    const page = await raw('/api/notes?limit=5');
    assert.deepEqual(Object.keys(page.json).sort(), ['next', 'notes']);
    assert.deepEqual(ids(page.json.notes), liveList().slice(0, 5));
  });

  for (const seed of SEEDS) {
    test(`seed ${seed}: pages + event summaries rebuild the list while notes change between requests`, T, async (t) => {
      t.diagnostic(`seed ${seed}`);
      const rng = new Prng(seed);
      const named = new Set<string>();
      const off = host.subscribe((e) => {
        if (e.type === 'notes-changed') for (const id of e.ids) named.add(id);
      });
      try {
        const atStart = new Set(liveList());
        const touched = new Set<string>();
        const onPages: string[] = [];
        let list: LoadedList = EMPTY_LIST;
        let cursor: string | undefined;
        let requests = 0;
        for (;;) {
          const page = await client.notesPage({ limit: rng.int(1, 120), cursor });
          requests++;
          onPages.push(...ids(page.notes));
          list = appendPage(list, page);
          // What other devices and this one do before the next page is asked for.
          for (let k = rng.int(0, 4); k > 0; k--) {
            wall += rng.int(0, 2);
            const live = liveList();
            const op = rng.int(0, 3);
            if (op === 0) {
              touched.add((await client.createNote({ title: `new ${seed} ${requests} ${k}` })).id);
            } else if (op === 1) {
              const id = rng.pick(live);
              touched.add(id);
              await client.saveNote(id, { body: `edited by seed ${seed} at ${requests}.${k}` });
            } else if (op === 2) {
              const id = rng.pick(live);
              touched.add(id);
              await client.trashNote(id);
            } else {
              const trashed = ids(host.notes.list({ trashed: true }));
              if (trashed.length === 0) continue;
              const id = rng.pick(trashed);
              touched.add(id);
              await client.restoreNote(id);
            }
          }
          // The UI's reaction to the events: fresh summaries of the named notes only.
          if (named.size > 0) {
            const asked = [...named];
            named.clear();
            const fresh = await client.summaries(asked);
            const found = new Set(ids(fresh));
            list = applySummaries(list, fresh, asked.filter((id) => !found.has(id)));
          }
          if (page.next === null) break;
          cursor = page.next;
          assert.ok(requests < 5000, 'the pass ends');
        }
        const counts = new Map<string, number>();
        for (const id of onPages) counts.set(id, (counts.get(id) ?? 0) + 1);
        assert.deepEqual([...counts].filter(([, n]) => n > 1), [], 'no note on two pages');
        const untouched = [...atStart].filter((id) => !touched.has(id));
        assert.ok(untouched.length > NOTES / 2, 'fixture: most notes stay untouched');
        assert.deepEqual(untouched.filter((id) => counts.get(id) !== 1), [], 'every untouched note on exactly one page');
        assert.ok(touched.size > 10, `fixture: notes changed during the pass (${touched.size})`);
        assert.deepEqual(ids(list.rows), liveList(), 'pages + event summaries = the host list, in order');
        assert.equal(list.next, null);
      } finally {
        off();
      }
    });
  }

  test('the trash pages the same way, and its cursor does not page the live list', T, async () => {
    const trashed = ids(host.notes.list({ trashed: true }));
    assert.ok(trashed.length > 2, 'fixture: the seeds trashed notes');
    const first = await client.notesPage({ trashed: true, limit: 2 });
    const rest = await client.notesPage({ trashed: true, limit: 1000, cursor: first.next! });
    assert.deepEqual([...ids(first.notes), ...ids(rest.notes)], trashed);
    assert.ok(first.notes.every((n) => n.trashed));
    const r = await raw(`/api/notes?limit=5&cursor=${encodeURIComponent(first.next!)}`);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'E_INVALID_CURSOR');
  });

  test('summaries: the named notes in the order asked, trashed ones flagged, unknown ones left out', T, async () => {
    const [a, b] = liveList();
    const [bin] = ids(host.notes.list({ trashed: true }));
    const got: NoteSummary[] = await client.summaries([b, 'ffffffffffffffff', a, bin]);
    assert.deepEqual(ids(got), [b, a, bin]);
    assert.deepEqual(got.map((n) => n.trashed), [false, false, true]);
    assert.deepEqual(await client.summaries([]), []);
  });

  test('summaries of many long ids: the client splits them so no request line is too long', T, async () => {
    const longIds: string[] = [];
    for (let i = 0; i < 400; i++) longIds.push(host.notes.create({ title: `long ${i}` }, `${String(i).padStart(4, '0')}-${'x'.repeat(59)}`).id);
    assert.equal(longIds[0].length, 64);
    // 400 x 65 characters would be a 26 KB request line, over the server's 16 KB header limit.
    const got = await client.summaries([...longIds].reverse());
    assert.deepEqual(ids(got), [...longIds].reverse());
    await assert.rejects(client.summaries(Array.from({ length: 1001 }, (_, i) => `n${i}`)), { code: 'E_INVALID_LIMIT' });
    for (const id of longIds) host.notes.trash(id);
  });

  test('search pages cover the same ranked hits as one big page', T, async () => {
    const all = await client.searchPage('walrus', { limit: 1000 });
    assert.equal(all.next, null);
    assert.ok(all.hits.length > 100, `fixture: many hits (${all.hits.length})`);
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.searchPage('walrus', { limit: 37, cursor });
      paged.push(...ids(page.hits));
      cursor = page.next ?? undefined;
    } while (cursor);
    assert.deepEqual(paged, ids(all.hits));
    const first = await client.searchPage('walrus', { limit: 3 });
    const other = await raw(`/api/search?q=plain&limit=3&cursor=${encodeURIComponent(first.next!)}`);
    assert.equal(other.status, 400, 'a cursor of one search does not page another');
    assert.equal(other.json.error.code, 'E_INVALID_CURSOR');
  });

  test('bad limits and cursors get 400 with their code and change nothing', T, async () => {
    const seq = host.notes.replica.seq();
    const before = liveList();
    const good = (await client.notesPage({ limit: 3 })).next!;
    const tampered = Buffer.from(Buffer.from(good, 'base64url').toString('utf8').replace(/\n\d+\n/, '\nx\n')).toString('base64url');
    const searchCursor = (await client.searchPage('walrus', { limit: 1 })).next!;
    const cases: [string, string][] = [
      ['/api/notes?limit=0', 'E_INVALID_LIMIT'],
      ['/api/notes?limit=1001', 'E_INVALID_LIMIT'],
      ['/api/notes?limit=-1', 'E_INVALID_LIMIT'],
      ['/api/notes?limit=abc', 'E_INVALID_LIMIT'],
      ['/api/notes?limit=2.5', 'E_INVALID_LIMIT'],
      ['/api/notes?limit=', 'E_INVALID_LIMIT'],
      ['/api/search?q=walrus&limit=5000', 'E_INVALID_LIMIT'],
      ['/api/notes?cursor=', 'E_INVALID_CURSOR'],
      ['/api/notes?limit=5&cursor=%%%', 'E_INVALID_CURSOR'],
      ['/api/notes?limit=5&cursor=bm90IGEgY3Vyc29y', 'E_INVALID_CURSOR'],
      [`/api/notes?limit=5&cursor=${tampered}`, 'E_INVALID_CURSOR'],
      [`/api/notes?limit=5&cursor=${searchCursor}`, 'E_INVALID_CURSOR'],
      [`/api/notes?limit=5&cursor=${'A'.repeat(5000)}`, 'E_INVALID_CURSOR'],
      [`/api/search?q=walrus&cursor=${good}`, 'E_INVALID_CURSOR'],
      ['/api/notes/summaries', 'E_INVALID_VALUE'],
      ['/api/notes/summaries?ids=NOT_AN_ID', 'E_INVALID_KEY'],
      [`/api/notes/summaries?ids=${Array.from({ length: 1001 }, (_, i) => `n${i}`).join(',')}`, 'E_INVALID_LIMIT'],
    ];
    for (const [path, code] of cases) {
      const r = await raw(path);
      assert.equal(r.status, 400, `${path.slice(0, 80)}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, code, path.slice(0, 80));
      assert.match(r.json.error.message, /limit|cursor|ids|note id/);
    }
    assert.equal(host.notes.replica.seq(), seq, 'a refused request wrote to the store');
    assert.deepEqual(liveList(), before);
  });
});
