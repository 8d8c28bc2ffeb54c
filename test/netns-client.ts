// A tiny HTTP API client meant to run INSIDE a network namespace (`ip netns exec NS node
// test/netns-client.ts ...`), for tests whose headless peers listen on a namespace's own loopback,
// which the test process cannot reach. It drives HttpNotesApi, so it speaks the real API.
//
//   node test/netns-client.ts <api url> <token file> <method> [json array of args]
//     one call; prints {"ok":true,"value":...} or {"ok":false,"error":{code,message}} and exits
//   node test/netns-client.ts <api url> <token file>
//     a bridge: reads one JSON request a line on stdin, {"id":1,"method":"syncState","args":[]},
//     and answers one JSON line each, {"id":1,"ok":true,"value":...}; exits when stdin ends.

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { HttpNotesApi } from '../app/http-client.ts';

/** The NotesApi calls a test may make through the bridge (no streams: subscribe is not here). */
export const BRIDGED_METHODS = [
  'listNotes', 'getNote', 'createNote', 'saveNote', 'trashNote', 'restoreNote', 'search', 'conflicts', 'resolve',
  'invite', 'join', 'addPeer', 'syncState', 'syncNow',
  'renameDevice', 'pairingState', 'startPairing', 'requestPairing', 'answerPairing', 'stopPairing',
] as const;
export type BridgedMethod = (typeof BRIDGED_METHODS)[number];

export type BridgeReply = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string } };

async function call(api: HttpNotesApi, method: string, args: unknown): Promise<BridgeReply> {
  try {
    if (!(BRIDGED_METHODS as readonly string[]).includes(method)) throw Object.assign(new Error(`unknown method ${method}`), { code: 'E_BAD_METHOD' });
    if (!Array.isArray(args)) throw Object.assign(new Error('args must be a JSON array'), { code: 'E_BAD_ARGS' });
    const fn = (api as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method];
    return { ok: true, value: (await fn.apply(api, args)) ?? null };
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown };
    return { ok: false, error: { code: typeof err.code === 'string' ? err.code : 'E_CLIENT', message: String(err.message ?? e) } };
  }
}

async function main(): Promise<void> {
  const [url, tokenFile, method, json] = process.argv.slice(2);
  if (!url || !tokenFile) {
    process.stderr.write('usage: node test/netns-client.ts <api url> <token file> [method [json args]]\n');
    process.exit(2);
  }
  const api = new HttpNotesApi({ baseUrl: url, token: readFileSync(tokenFile, 'utf8').trim(), timeoutMs: 10_000 });
  if (method) {
    let args: unknown;
    try {
      args = JSON.parse(json ?? '[]');
    } catch {
      args = null;
    }
    const reply = await call(api, method, args);
    process.stdout.write(`${JSON.stringify(reply)}\n`);
    process.exitCode = reply.ok ? 0 : 1;
    return;
  }
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let req: { id?: unknown; method?: unknown; args?: unknown };
    try {
      req = JSON.parse(line);
    } catch {
      process.stdout.write(`${JSON.stringify({ id: null, ok: false, error: { code: 'E_BAD_REQUEST', message: 'not JSON' } })}\n`);
      continue;
    }
    // Requests are answered in order, one at a time: the test side matches replies by id anyway.
    const reply = await call(api, String(req.method), req.args ?? []);
    process.stdout.write(`${JSON.stringify({ id: req.id, ...reply })}\n`);
  }
}

if (import.meta.main) {
  main().catch((e) => {
    process.stderr.write(`netns-client failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
