// The headless peer's HTTP API end to end: a real Host over a real SQLite file, the real server
// on 127.0.0.1, driven through HttpNotesApi (as the UI will be) and through raw requests (to
// send what a well-behaved client never would). Every refused request is checked to leave the
// store exactly as it was.

import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MAX_VALUE_BYTES } from '../engine/core/limits.ts';
import { Notes, notesIndexer } from '../engine/notes.ts';
import { Replica } from '../engine/replica.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { syncPair } from '../engine/sync-pair.ts';
import type { ApiEvent, NotesApi } from '../app/api.ts';
import { Host } from '../app/host.ts';
import { ApiRequestError, HttpNotesApi, type StreamStatus } from '../app/http-client.ts';
import { MAX_BODY_BYTES } from '../app/http-body.ts';
import { startApiServer, type ApiServer } from '../app/http-server.ts';
import { SseParser } from '../app/sse-parser.ts';
import { loadOrCreateToken, TokenFileError, tokenPath } from '../app/token.ts';

const T = { timeout: 15_000 };
const dir = mkdtempSync(join(tmpdir(), 'http-api-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Polls `cond` every 10 ms; fails after `ms` so no test can hang. */
async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Wraps an API to count live event subscriptions, so tests can see the server drop them. */
function counting(api: NotesApi): { api: NotesApi; live: () => number } {
  let live = 0;
  const proxy = new Proxy(api, {
    get(target, prop) {
      if (prop === 'subscribe') {
        return (listener: (e: ApiEvent) => void) => {
          live++;
          const off = target.subscribe(listener);
          return () => {
            live--;
            off();
          };
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { api: proxy, live: () => live };
}

interface RawReply {
  readonly status: number;
  readonly headers: Headers;
  readonly json: any;
}

function sendRaw(base: string, token: string | null, method: string, path: string, init: { body?: string; type?: string; headers?: Record<string, string> } = {}): Promise<RawReply> {
  const headers: Record<string, string> = { ...init.headers };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (init.type !== undefined) headers['Content-Type'] = init.type;
  return fetch(base + path, { method, headers, body: init.body, signal: AbortSignal.timeout(10_000) }).then(async (res) => {
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) };
  });
}

/** node:http instead of fetch: fetch will not send a forged Host header or a raw `..` path. */
function httpGet(url: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('token file', () => {
  test('created once with mode 0600, then read back', T, async () => {
    const d = join(dir, 'token-a');
    const token = await loadOrCreateToken(d);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes in base64url');
    if (process.platform !== 'win32') assert.equal(statSync(tokenPath(d)).mode & 0o777, 0o600);
    assert.equal(await loadOrCreateToken(d), token);
    const racing = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateToken(join(dir, 'token-race'))));
    assert.equal(new Set(racing).size, 1, 'concurrent first starts agree on one token');
  });

  test('a file others can read is tightened; a file without a token is refused', T, async () => {
    const d = join(dir, 'token-b');
    const token = await loadOrCreateToken(d);
    if (process.platform !== 'win32') {
      chmodSync(tokenPath(d), 0o644);
      const saved = process.env.NOTES_LOG;
      process.env.NOTES_LOG = 'silent';
      try {
        assert.equal(await loadOrCreateToken(d), token);
      } finally {
        if (saved === undefined) delete process.env.NOTES_LOG;
        else process.env.NOTES_LOG = saved;
      }
      assert.equal(statSync(tokenPath(d)).mode & 0o777, 0o600);
    }
    writeFileSync(tokenPath(d), 'short\n');
    await assert.rejects(loadOrCreateToken(d), TokenFileError);
  });
});

describe('sse parser', () => {
  test('lines split anywhere, CRLF/CR/LF endings, comments, multi-line data', () => {
    const p = new SseParser();
    const text = ': hello\r\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: x\rdata:2\r\rdata: 3\n\n';
    const got = [];
    for (const ch of text) got.push(...p.push(ch));
    assert.deepEqual(got, [
      { event: 'message', data: '{"a":\n1}' },
      { event: 'x', data: '2' },
      { event: 'message', data: '3' },
    ]);
  });
});

describe('http api over a real host and SQLite file', { timeout: 120_000 }, () => {
  let store: SqliteStore;
  let host: Host;
  let subs: ReturnType<typeof counting>;
  let server: ApiServer;
  let token: string;
  let client: HttpNotesApi;
  const ui = join(dir, 'ui');

  const raw = (method: string, path: string, init: { body?: string; type?: string; headers?: Record<string, string> } = {}) =>
    sendRaw(server.url, token, method, path, init);
  const json = (method: string, path: string, value: unknown) => raw(method, path, { body: JSON.stringify(value), type: 'application/json' });

  /** Runs `fn` and asserts the store took no write. */
  async function unchanged(fn: () => Promise<void>): Promise<void> {
    const seq = host.notes.replica.seq();
    const notes = JSON.stringify(host.notes.list({ trashed: false })) + JSON.stringify(host.notes.list({ trashed: true }));
    await fn();
    assert.equal(host.notes.replica.seq(), seq, 'a refused request wrote to the store');
    assert.equal(JSON.stringify(host.notes.list({ trashed: false })) + JSON.stringify(host.notes.list({ trashed: true })), notes);
  }

  function expectError(r: RawReply, status: number, code?: string): void {
    assert.equal(r.status, status, JSON.stringify(r.json));
    assert.equal(typeof r.json?.error?.code, 'string');
    assert.equal(typeof r.json?.error?.message, 'string');
    if (code !== undefined) assert.equal(r.json.error.code, code);
  }

  before(async () => {
    mkdirSync(ui);
    writeFileSync(join(ui, 'index.html'), '<!doctype html><title>notes</title><script src="app.js"></script>');
    writeFileSync(join(ui, 'app.js'), 'console.log(1);');
    writeFileSync(join(ui, '.env'), 'SECRET=1');
    writeFileSync(join(dir, 'secret.txt'), 'outside the UI directory');
    symlinkSync(join(dir, 'secret.txt'), join(ui, 'escape.txt'));
    store = SqliteStore.open(join(dir, 'a.db'));
    host = new Host(new Notes(Replica.open(store, { indexer: notesIndexer })));
    subs = counting(host);
    token = await loadOrCreateToken(dir);
    server = await startApiServer(subs.api, { token, staticDir: ui });
    client = new HttpNotesApi({ baseUrl: server.url, token, timeoutMs: 10_000 });
  });

  after(async () => {
    await server?.close();
    store?.close();
  });

  test('CRUD round trip through HttpNotesApi', T, async () => {
    const created = await client.createNote({ title: 'Groceries', body: 'milk' });
    assert.equal(created.title, 'Groceries');
    assert.deepEqual(created.conflicts, {});
    assert.deepEqual(await client.getNote(created.id), created);
    const saved = await client.saveNote(created.id, { body: 'milk, eggs' });
    assert.equal(saved.title, 'Groceries', 'a field not sent is unchanged');
    assert.equal(saved.body, 'milk, eggs');
    const list = await client.listNotes();
    const row = list.find((n) => n.id === created.id);
    assert.ok(row);
    assert.equal(row.excerpt, 'milk, eggs');
    assert.equal(row.conflicted, false);
    assert.equal((await client.trashNote(created.id)).trashed, true);
    assert.ok(!(await client.listNotes()).some((n) => n.id === created.id));
    assert.ok((await client.listNotes({ trashed: true })).some((n) => n.id === created.id));
    assert.equal((await client.restoreNote(created.id)).trashed, false);
    assert.ok((await client.listNotes()).some((n) => n.id === created.id));
    const empty = await client.createNote();
    assert.equal(empty.title, '');
    await assert.rejects(client.getNote('0000000000000000'), (e: unknown) => e instanceof ApiRequestError && e.code === 'E_NOT_FOUND' && e.status === 404);
  });

  test('CRUD round trip through raw requests', T, async () => {
    const c = await json('POST', '/api/notes', { title: 'Raw', body: 'text' });
    assert.equal(c.status, 201);
    assert.equal(c.headers.get('location'), `/api/notes/${c.json.id}`);
    assert.match(c.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(c.headers.get('cache-control'), 'no-store');
    const noBody = await raw('POST', '/api/notes');
    assert.equal(noBody.status, 201, 'creating needs no body');
    const id: string = c.json.id;
    assert.equal((await raw('GET', `/api/notes/${id}`)).json.body, 'text');
    const put = await json('PUT', `/api/notes/${id}`, { title: 'Raw 2' });
    assert.equal(put.status, 200);
    assert.equal(put.json.title, 'Raw 2');
    assert.equal((await raw('POST', `/api/notes/${id}/trash`)).json.trashed, true);
    assert.equal((await raw('GET', '/api/notes?trashed=1')).json.some((n: { id: string }) => n.id === id), true);
    assert.equal((await raw('GET', '/api/notes?trashed=0')).json.some((n: { id: string }) => n.id === id), false);
    assert.equal((await raw('POST', `/api/notes/${id}/restore`)).json.trashed, false);
  });

  test('search', T, async () => {
    const n = await client.createNote({ title: 'Kayak trip', body: 'paddles, dry bag, sunscreen' });
    const hits = await client.search('paddle');
    assert.ok(hits.some((h) => h.id === n.id && h.title === 'Kayak trip'));
    assert.deepEqual(await client.search('zzzznothing'), []);
    const r = await raw('GET', `/api/search?q=${encodeURIComponent('dry bag')}`);
    assert.equal(r.status, 200);
    assert.ok(r.json.some((h: { id: string }) => h.id === n.id));
    // Any text is words to match, never query syntax.
    assert.equal((await raw('GET', `/api/search?q=${encodeURIComponent('"(* OR NEAR')}`)).status, 200);
  });

  test('conflicts from two replicas are listed and resolved', T, async () => {
    const b = new Notes(Replica.open(new MemoryStore('b2b2b2b2b2b2b2b2'), { indexer: notesIndexer }));
    const n = await client.createNote({ title: 'Plan', body: 'v1' });
    assert.ok(syncPair(host.notes.replica, b.replica).ok);
    await client.saveNote(n.id, { title: 'Plan from A' });
    b.save(n.id, { title: 'Plan from B' });
    assert.ok(syncPair(host.notes.replica, b.replica).ok);

    const conflicts = await client.conflicts();
    const c = conflicts.find((x) => x.id === n.id);
    assert.ok(c, 'the note is listed as conflicted');
    assert.deepEqual(c.conflicts.title?.map((v) => v.value).sort(), ['Plan from A', 'Plan from B']);
    assert.equal(c.conflicts.title?.[0].value, c.title, 'the shown title is the first version');
    assert.equal((await client.listNotes()).find((x) => x.id === n.id)?.conflicted, true);
    assert.ok((await raw('GET', '/api/conflicts')).json.some((x: { id: string }) => x.id === n.id));

    const resolved = await client.resolve(n.id, 'title', 'Plan (merged)');
    assert.equal(resolved.title, 'Plan (merged)');
    assert.deepEqual(resolved.conflicts, {});
    assert.ok(!(await client.conflicts()).some((x) => x.id === n.id));
    const viaRaw = await json('POST', `/api/notes/${n.id}/resolve`, { field: 'body', value: 'v2' });
    assert.equal(viaRaw.status, 200);
    assert.equal(viaRaw.json.body, 'v2');
  });

  test('the event stream delivers notes-changed after a save (HttpNotesApi)', T, async () => {
    const statuses: StreamStatus[] = [];
    const events: ApiEvent[] = [];
    const c = new HttpNotesApi({ baseUrl: server.url, token, onStreamStatus: (s) => statuses.push(s) });
    const before = subs.live();
    const off = c.subscribe((e) => events.push(e));
    try {
      await until(() => statuses.includes('open'), 'the stream to open');
      const n = await client.createNote({ title: 'evented' });
      await client.saveNote(n.id, { body: 'changed' });
      await until(() => events.filter((e) => e.type === 'notes-changed' && e.ids.includes(n.id)).length >= 2, 'notes-changed for create and save');
      const e = events.find((x) => x.type === 'notes-changed' && x.ids.includes(n.id));
      assert.deepEqual(e, { type: 'notes-changed', ids: [n.id], origin: 'local' });
    } finally {
      off();
    }
    await until(() => subs.live() === before, 'the server to drop the subscription');
    await until(() => statuses.includes('closed'), 'the stream loop to end');
    assert.deepEqual(statuses, ['open', 'closed']);
  });

  test('the event stream over raw fetch: opening comment, data lines, cleanup on disconnect', T, async () => {
    const before = subs.live();
    const abort = new AbortController();
    const res = await fetch(`${server.url}/api/events`, { headers: { Authorization: `Bearer ${token}` }, signal: abort.signal });
    try {
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(subs.live(), before + 1);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const readUntil = async (re: RegExp): Promise<void> => {
        const end = Date.now() + 5_000;
        while (!re.test(text)) {
          if (Date.now() > end) assert.fail(`stream never matched ${re}: ${text}`);
          const { value, done } = await reader.read();
          if (done) assert.fail('stream ended');
          text += decoder.decode(value, { stream: true });
        }
      };
      await readUntil(/^: connected\n\n/);
      const n = await client.createNote({ title: 'raw stream' });
      await readUntil(new RegExp(`data: \\{"type":"notes-changed","ids":\\["${n.id}"\\],"origin":"local"\\}\\n\\n`));
    } finally {
      abort.abort();
    }
    await until(() => subs.live() === before, 'the server to drop the subscription');
  });

  test('a request without the right token gets 401 and changes nothing', T, async () => {
    await unchanged(async () => {
      for (const auth of [null, 'Bearer wrong-token-wrong-token-wrong', `Basic ${token}`, `Bearer ${token}x`, 'Bearer']) {
        const headers: Record<string, string> = auth === null ? {} : { Authorization: auth };
        const r = await sendRaw(server.url, null, 'POST', '/api/notes', { headers, body: '{"title":"x"}', type: 'application/json' });
        expectError(r, 401, 'E_UNAUTHORIZED');
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
      expectError(await sendRaw(server.url, null, 'GET', '/api/notes'), 401);
      expectError(await sendRaw(server.url, null, 'GET', '/api/events'), 401);
      expectError(await sendRaw(server.url, null, 'GET', '/api/no-such-route'), 401, 'E_UNAUTHORIZED');
      const wrong = new HttpNotesApi({ baseUrl: server.url, token: 'not-the-token-not-the-token-not' });
      await assert.rejects(wrong.createNote({ title: 'x' }), (e: unknown) => e instanceof ApiRequestError && e.code === 'E_UNAUTHORIZED' && e.status === 401);
    });
  });

  test('a foreign Origin or Host header gets 403 and changes nothing', T, async () => {
    await unchanged(async () => {
      for (const origin of ['http://evil.example', 'null', `${server.url}.evil.example`, server.url.replace('http:', 'https:')]) {
        expectError(await raw('POST', '/api/notes', { headers: { Origin: origin }, body: '{}', type: 'application/json' }), 403, 'E_FORBIDDEN_ORIGIN');
        expectError(await raw('OPTIONS', '/api/notes', { headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } }), 403);
      }
      const port = new URL(server.url).port;
      for (const h of [`evil.example:${port}`, `10.1.2.3:${port}`, `localhost.evil.example:${port}`, '127.0.0.1:1', '127.0.0.1', `127.0.0.1:${port}:1`]) {
        const r = await httpGet(server.url, '/api/notes', { Host: h, Authorization: `Bearer ${token}` });
        assert.equal(r.status, 403, `Host ${h}`);
        assert.equal(JSON.parse(r.body).error.code, 'E_FORBIDDEN_HOST');
        assert.equal((await httpGet(server.url, '/index.html', { Host: h })).status, 403, 'static files are guarded too');
      }
    });
    // What a browser on this server's own origin sends is accepted.
    assert.equal((await raw('GET', '/api/notes', { headers: { Origin: server.url } })).status, 200);
    const port = new URL(server.url).port;
    const viaLocalhost = await httpGet(server.url, '/api/notes', { Host: `localhost:${port}`, Origin: `http://localhost:${port}`, Authorization: `Bearer ${token}` });
    assert.equal(viaLocalhost.status, 200);
  });

  test('malformed and invalid bodies get 400 and change nothing', T, async () => {
    const n = await client.createNote({ title: 'stable', body: 'stable' });
    await unchanged(async () => {
      expectError(await raw('POST', '/api/notes', { body: '{"title": "x"', type: 'application/json' }), 400, 'E_MALFORMED_JSON');
      expectError(await raw('PUT', `/api/notes/${n.id}`, { body: 'not json', type: 'application/json' }), 400, 'E_MALFORMED_JSON');
      expectError(await raw('PUT', `/api/notes/${n.id}`, { body: Buffer.from([0x7b, 0xff, 0x7d]).toString('latin1'), type: 'application/json' }), 400);
      expectError(await json('PUT', `/api/notes/${n.id}`, ['title']), 400, 'E_INVALID_VALUE');
      expectError(await json('PUT', `/api/notes/${n.id}`, null), 400, 'E_INVALID_VALUE');
      expectError(await raw('PUT', `/api/notes/${n.id}`), 400, 'E_INVALID_VALUE');
      expectError(await json('PUT', `/api/notes/${n.id}`, { title: 'x', colour: 'red' }), 400, 'E_INVALID_VALUE');
      expectError(await json('PUT', `/api/notes/${n.id}`, { title: 42 }), 400, 'E_INVALID_VALUE');
      expectError(await raw('POST', '/api/notes', { body: '{"__proto__":{"title":"y"}}', type: 'application/json' }), 400, 'E_INVALID_VALUE');
      expectError(await json('PUT', '/api/notes/NOT..valid', { title: 'x' }), 400, 'E_INVALID_KEY');
      expectError(await json('PUT', '/api/notes/%E0%A4%A', { title: 'x' }), 400, 'E_INVALID_KEY');
      expectError(await json('POST', `/api/notes/${n.id}/resolve`, { field: 'created', value: '1' }), 400, 'E_INVALID_VALUE');
      expectError(await json('POST', `/api/notes/${n.id}/resolve`, { field: 'title' }), 400, 'E_INVALID_VALUE');
      expectError(await json('POST', `/api/notes/${n.id}/resolve`, { field: 'title', value: null }), 400, 'E_INVALID_VALUE');
      expectError(await raw('GET', '/api/notes?trashed=maybe'), 400, 'E_INVALID_VALUE');
      expectError(await raw('GET', '/api/search'), 400, 'E_INVALID_VALUE');
      expectError(await json('POST', '/api/join', {}), 400, 'E_INVALID_VALUE');
      expectError(await json('POST', '/api/peers', { address: 7 }), 400, 'E_INVALID_VALUE');
      await assert.rejects(client.saveNote(n.id, { title: 5 as unknown as string }), (e: unknown) => e instanceof ApiRequestError && e.status === 400);
    });
    assert.equal((await client.getNote(n.id)).title, 'stable');
  });

  test('oversized bodies and values get 413 and change nothing', T, async () => {
    const n = await client.createNote({ title: 'small' });
    await unchanged(async () => {
      const huge = JSON.stringify({ body: 'a'.repeat(MAX_BODY_BYTES) });
      expectError(await raw('PUT', `/api/notes/${n.id}`, { body: huge, type: 'application/json' }), 413, 'E_BODY_TOO_LARGE');
      // Chunked, so the size is only known while reading.
      const chunked = await fetch(`${server.url}/api/notes/${n.id}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: new Blob([huge]).stream(),
        duplex: 'half',
        signal: AbortSignal.timeout(10_000),
      } as RequestInit);
      assert.equal(chunked.status, 413);
      await chunked.body?.cancel();
      // Fits the request limit but not the store's value limit: the engine refuses it.
      const tooBig = 'b'.repeat(MAX_VALUE_BYTES + 1);
      expectError(await json('PUT', `/api/notes/${n.id}`, { body: tooBig }), 413, 'E_VALUE_TOO_LARGE');
      await assert.rejects(client.createNote({ title: tooBig }), (e: unknown) => e instanceof ApiRequestError && e.code === 'E_VALUE_TOO_LARGE' && e.status === 413);
    });
  });

  test('bodies that are not application/json get 415 and change nothing', T, async () => {
    const n = await client.createNote({ title: 'typed' });
    await unchanged(async () => {
      expectError(await raw('PUT', `/api/notes/${n.id}`, { body: '{"title":"x"}', type: 'text/plain' }), 415, 'E_UNSUPPORTED_MEDIA_TYPE');
      expectError(await raw('POST', '/api/notes', { body: 'title=x', type: 'application/x-www-form-urlencoded' }), 415);
      expectError(await raw('POST', '/api/notes', { body: '{"title":"x"}', type: 'application/json; charset=iso-8859-1' }), 415);
      expectError(await raw('POST', '/api/notes', { body: '{"title":"x"}' /* fetch labels a string text/plain */ }), 415);
    });
    assert.equal((await raw('PUT', `/api/notes/${n.id}`, { body: '{"title":"y"}', type: 'Application/JSON; charset="UTF-8"' })).status, 200);
  });

  test('unknown routes and notes get 404, wrong methods 405, and change nothing', T, async () => {
    const n = await client.createNote({ title: 'routed' });
    await unchanged(async () => {
      expectError(await raw('GET', '/api/nope'), 404, 'E_NO_ROUTE');
      expectError(await raw('GET', '/api'), 404);
      expectError(await raw('GET', '/api/notes/'), 404);
      expectError(await raw('POST', `/api/notes/${n.id}/archive`), 404, 'E_NO_ROUTE');
      expectError(await raw('GET', '/api/notes/ffffffffffffffff'), 404, 'E_NOT_FOUND');
      // A missing note is E_NOT_FOUND whatever the route.
      expectError(await json('PUT', '/api/notes/ffffffffffffffff', { title: 'x' }), 404, 'E_NOT_FOUND');
      expectError(await raw('POST', '/api/notes/ffffffffffffffff/trash'), 404, 'E_NOT_FOUND');
      expectError(await raw('POST', '/api/notes/ffffffffffffffff/restore'), 404, 'E_NOT_FOUND');
      expectError(await json('POST', '/api/notes/ffffffffffffffff/resolve', { field: 'title', value: 'x' }), 404, 'E_NOT_FOUND');
      const del = await raw('DELETE', `/api/notes/${n.id}`);
      expectError(del, 405, 'E_METHOD_NOT_ALLOWED');
      assert.equal(del.headers.get('allow'), 'GET, PUT');
      expectError(await raw('GET', '/api/invite'), 405);
      expectError(await raw('PUT', '/api/notes'), 405);
      assert.equal((await raw('HEAD', '/api/notes')).status, 405, 'HEAD answers carry no body');
      expectError(await raw('GET', `/api/notes/${n.id}/trash`), 405);
    });
  });

  test('sync methods without sync get 503 E_SYNC_OFF', T, async () => {
    await unchanged(async () => {
      expectError(await raw('POST', '/api/invite'), 503, 'E_SYNC_OFF');
      expectError(await raw('GET', '/api/sync'), 503, 'E_SYNC_OFF');
      expectError(await json('POST', '/api/join', { code: 'ABCDE-FGHJK' }), 503, 'E_SYNC_OFF');
      expectError(await json('POST', '/api/peers', { address: '/ip4/127.0.0.1/tcp/1' }), 503, 'E_SYNC_OFF');
      for (const call of [() => client.invite(), () => client.syncState(), () => client.join('ABCDE'), () => client.addPeer('/ip4/127.0.0.1/tcp/1')]) {
        await assert.rejects(call(), (e: unknown) => e instanceof ApiRequestError && e.code === 'E_SYNC_OFF' && e.status === 503);
      }
    });
  });

  test('static UI files: content types, strict CSP, no traversal or dotfiles', T, async () => {
    const index = await fetch(`${server.url}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = index.headers.get('content-security-policy') ?? '';
    for (const rule of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(rule), rule);
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    assert.match(await index.text(), /<title>notes<\/title>/);
    const js = await fetch(`${server.url}/app.js`);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(await js.text(), 'console.log(1);');
    const head = await httpGet(server.url, '/app.js', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    const refused: [string, number][] = [['/../secret.txt', 404], ['/%2e%2e/secret.txt', 404], ['/..%2fsecret.txt', 404], ['/%2e%2e%5csecret.txt', 404],
      ['/escape.txt', 404], ['/.env', 404], ['/nope.js', 404], ['/index.html%00', 404], ['/%ZZ', 400]];
    for (const [path, status] of refused) {
      const r = await httpGet(server.url, path);
      assert.equal(r.status, status, `${path}: ${r.status}`);
      assert.ok(!r.body.includes('outside the UI') && !r.body.includes('SECRET'), path);
    }
    const post = await httpGet(server.url, '/index.html', {}, 'POST');
    assert.equal(post.status, 405);
  });

  test('an unexpected failure is a generic 500 that leaks nothing', T, async () => {
    const broken = { listNotes: () => Promise.reject(new Error('secret detail at /home/user/notes.db')) } as unknown as NotesApi;
    const s = await startApiServer(broken, { token });
    const saved = process.env.NOTES_LOG;
    process.env.NOTES_LOG = 'silent';
    try {
      const r = await sendRaw(s.url, token, 'GET', '/api/notes');
      expectError(r, 500, 'E_INTERNAL');
      assert.ok(!JSON.stringify(r.json).includes('secret') && !JSON.stringify(r.json).includes('at '), JSON.stringify(r.json));
      expectError(await sendRaw(s.url, token, 'GET', '/index.html'), 404, 'E_NOT_FOUND');
    } finally {
      if (saved === undefined) delete process.env.NOTES_LOG;
      else process.env.NOTES_LOG = saved;
      await s.close();
    }
  });
});

describe('event stream lifecycle', { timeout: 60_000 }, () => {
  const token = 'lifecycle-token-lifecycle-token-0';
  const fresh = (): Host => new Host(new Notes(Replica.open(new MemoryStore('c3c3c3c3c3c3c3c3'), { indexer: notesIndexer })));

  test('heartbeat comments keep a quiet stream alive', T, async () => {
    const s = await startApiServer(fresh(), { token, heartbeatMs: 30 });
    const abort = new AbortController();
    try {
      const res = await fetch(`${s.url}/api/events`, { headers: { Authorization: `Bearer ${token}` }, signal: abort.signal });
      const reader = res.body!.getReader();
      let text = '';
      while ((text.match(/: heartbeat\n\n/g) ?? []).length < 2) {
        const { value, done } = await reader.read();
        if (done) assert.fail('stream ended');
        text += new TextDecoder().decode(value);
      }
    } finally {
      abort.abort();
      await s.close();
    }
  });

  test('close() ends open streams and drops their subscriptions', T, async () => {
    const { api, live } = counting(fresh());
    const s = await startApiServer(api, { token });
    const res = await fetch(`${s.url}/api/events`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(live(), 1);
    // The client neither reads nor closes its stream. If close() waited for it, close() would
    // never resolve and the test would fail by its timeout; instead the server ends the stream.
    await s.close();
    await until(() => live() === 0, 'the subscription to end');
    const reader = res.body!.getReader();
    let ended = false;
    for (let i = 0; i < 1_000 && !ended; i++) ended = await reader.read().then((r) => r.done, () => true);
    assert.ok(ended, 'the client sees its event stream end');
  });

  test('HttpNotesApi reconnects after the server restarts, until unsubscribed', T, async () => {
    const host = fresh();
    let s = await startApiServer(host, { token });
    const port = Number(new URL(s.url).port);
    const statuses: StreamStatus[] = [];
    const events: ApiEvent[] = [];
    const c = new HttpNotesApi({ baseUrl: s.url, token, retryMinMs: 20, retryMaxMs: 100, onStreamStatus: (st) => statuses.push(st) });
    const off = c.subscribe((e) => events.push(e));
    try {
      await until(() => statuses.includes('open'), 'first open');
      await s.close();
      await until(() => statuses.includes('lost'), 'loss to be noticed');
      s = await startApiServer(host, { token, port });
      await until(() => statuses.lastIndexOf('open') > statuses.indexOf('lost'), 'reconnect');
      const n = await c.createNote({ title: 'after restart' });
      await until(() => events.some((e) => e.type === 'notes-changed' && e.ids.includes(n.id)), 'event after reconnect');
    } finally {
      off();
      await s.close();
    }
    // The loop reports 'closed' as it returns: from then on nothing can reconnect.
    await until(() => statuses.includes('closed'), 'the stream loop to end');
    assert.equal(statuses.indexOf('closed'), statuses.length - 1, 'nothing after closed');
    assert.equal(statuses.filter((x) => x === 'closed').length, 1);
  });
});
