// HttpNotesApi against a loopback server that drops connections on purpose: a GET whose
// connection is cut before any answer is sent once more (it changes nothing); a write is never
// repeated (the host may have applied it), and its failure reaches the caller as E_NETWORK.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ApiRequestError, HttpNotesApi } from '../app/http-client.ts';

describe('HttpNotesApi when the connection drops', { timeout: 30_000 }, () => {
  let server: Server;
  let client: HttpNotesApi;
  /** Requests the server read, by method and path, and how many of the next ones it drops. */
  const seen: string[] = [];
  let drop = 0;

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push(`${req.method} ${req.url}`);
      if (drop > 0) {
        drop--;
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ answered: seen.length }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new HttpNotesApi({ baseUrl: `http://127.0.0.1:${port}`, token: 'a-test-token-of-enough-length-000', timeoutMs: 10_000 });
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('a GET cut once is sent again and answered', async () => {
    seen.length = 0;
    drop = 1;
    const got = (await client.syncState()) as unknown as { answered: number };
    assert.deepEqual(seen, ['GET /api/sync', 'GET /api/sync'], 'the server read the GET twice');
    assert.equal(got.answered, 2, 'the answer is the second request\'s');
  });

  test('a GET cut twice fails with E_NETWORK after exactly one retry', async () => {
    seen.length = 0;
    drop = 2;
    await assert.rejects(client.syncState(), (e: unknown) => e instanceof ApiRequestError && e.code === 'E_NETWORK');
    assert.deepEqual(seen, ['GET /api/sync', 'GET /api/sync']);
  });

  test('a write cut once is not repeated and fails with E_NETWORK', async () => {
    seen.length = 0;
    drop = 1;
    await assert.rejects(client.createNote({ title: 't' }), (e: unknown) => e instanceof ApiRequestError && e.code === 'E_NETWORK');
    assert.deepEqual(seen, ['POST /api/notes'], 'the POST reached the server once');
    assert.equal(drop, 0);
  });
});
