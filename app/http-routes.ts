// The REST routes: one per NotesApi method (app/api.ts), nothing else. Bodies and responses are
// the api.ts DTOs as JSON. Every route needs `Authorization: Bearer <token>` (see http-guard.ts).
//
//   method path                        body                  response
//   GET    /api/notes?limit=N[&cursor=C][&trashed=1]  -      200 NotesPage      notesPage
//   GET    /api/notes[?trashed=1]      -                     200 NoteSummary[]  listNotes (streamed page by page)
//   GET    /api/notes/summaries?ids=a,b -                    200 NoteSummary[]  summaries
//   POST   /api/notes                  {title?, body?} | -   201 Note           createNote (Location: /api/notes/<id>)
//   GET    /api/notes/:id              -                     200 Note           getNote
//   PUT    /api/notes/:id              {title?, body?, base?} 200 Note          saveNote (only the fields given change)
//   GET    /api/notes/:id/history      -                     200 HistoryVersion[] history
//   GET    /api/notes/:id/sync         -                     200 NoteSync       noteSync (which devices hold it)
//   POST   /api/notes/:id/trash        -                     200 Note           trashNote
//   POST   /api/notes/:id/restore      -                     200 Note           restoreNote
//   POST   /api/notes/:id/resolve      {field, value}        200 Note           resolve
//   GET    /api/search?q=<text>        -                     200 SearchHit[]    search
//   GET    /api/search?q=<text>&limit=N[&cursor=C]  -        200 SearchPage     searchPage
//   GET    /api/conflicts              -                     200 Note[]         conflicts
//   POST   /api/invite                 -                     200 Invite         invite
//   POST   /api/join                   {code}                200 SyncState      join
//   POST   /api/peers                  {address}             204                addPeer
//   GET    /api/sync                   -                     200 SyncState      syncState
//   POST   /api/sync/now               -                     200 SessionSummary[] syncNow
//   PUT    /api/device                 {name}                200 DeviceSelf     renameDevice
//   POST   /api/devices/:id/forget     -                     200 ForgetResult   forgetDevice (rotates the vault key)
//   GET    /api/pairing                -                     200 PairingState   pairingState
//   POST   /api/pairing/start          {mode}                200 PairingState   startPairing ("invite" | "join")
//   POST   /api/pairing/request        {peerId}              200 PairingState   requestPairing
//   POST   /api/pairing/answer         {peerId, accept}      200 PairingState   answerPairing
//   POST   /api/pairing/stop           -                     200 PairingState   stopPairing
//   POST   /api/import                 {root, files}         200 ImportReport   importMarkdown (one batch)
//   GET    /api/export[?trash=1]       -                     200 ExportFile[]   exportMarkdown
//   GET    /api/events                 -                     200 text/event-stream of ApiEvent (subscribe)
//
// Errors: `{ "error": { "code", "message" } }` with 400 (invalid input, malformed JSON), 401 (no or
// wrong token), 403 (foreign Origin or Host), 404 (no such note or route), 405 (wrong method),
// 409 (E_VAULT_EXISTS), 413 (body over the limit, E_VALUE_TOO_LARGE), 415 (not application/json),
// 500 (a bug: generic message), 502 (E_DIAL_FAILED), 503 (E_SYNC_OFF: this host runs no sync).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ImportBatch, NotesApi, TextField } from './api.ts';
import { only, readJsonObject, type JsonObject } from './http-body.ts';
import { HttpError } from './http-errors.ts';
import { MAX_PAGE } from './page-limits.ts';

export interface Reply {
  readonly status: number;
  readonly json?: unknown;
  readonly headers?: Record<string, string>;
  /** A JSON body written chunk by chunk (instead of `json`), so a long list is never one string. */
  readonly stream?: AsyncIterable<string>;
}

export interface RouteContext {
  readonly api: NotesApi;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Serves the event stream (http-sse.ts); injected so the table stays free of stream plumbing. */
  readonly events: () => void;
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  /** A Reply, or null when the handler wrote the response itself (the event stream). */
  readonly handle: (ctx: RouteContext) => Promise<Reply | null>;
}

const ok = (json: unknown): Reply => ({ status: 200, json });

function text(body: JsonObject, key: string): string | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new HttpError(400, 'E_INVALID_VALUE', `"${key}" must be a string`);
  return v;
}

function requiredText(body: JsonObject, key: string): string {
  const v = text(body, key);
  if (v === undefined) throw new HttpError(400, 'E_INVALID_VALUE', `missing field "${key}"`);
  return v;
}

/** {title?, body?} with only the keys the caller sent, so an absent field stays unchanged. */
function noteFields(body: JsonObject): { title?: string; body?: string; base?: string } {
  const out: { title?: string; body?: string; base?: string } = {};
  const title = text(body, 'title');
  const bodyText = text(body, 'body');
  if (title !== undefined) out.title = title;
  if (bodyText !== undefined) out.body = bodyText;
  return out;
}

function flag(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  if (v === null || v === '0' || v === 'false') return false;
  if (v === '1' || v === 'true') return true;
  throw new HttpError(400, 'E_INVALID_VALUE', `query parameter ${name} must be 1 or 0`);
}

/** `limit` as given in a query string: digits only, the range is the API's to check. */
function limitParam(query: URLSearchParams): number | undefined {
  const v = query.get('limit');
  if (v === null) return undefined;
  if (!/^\d{1,7}$/.test(v)) throw new HttpError(400, 'E_INVALID_LIMIT', `limit must be a whole number from 1 to ${MAX_PAGE}`);
  return Number(v);
}

function cursorParam(query: URLSearchParams): string | undefined {
  const v = query.get('cursor');
  return v === null ? undefined : v;
}

/**
 * The whole list as one JSON array, read from the store one page at a time and written as it is
 * read: however many notes there are, the host holds one page of them, never the whole list.
 */
async function* wholeList(api: NotesApi, trashed: boolean): AsyncGenerator<string> {
  let page = await api.notesPage({ trashed, limit: MAX_PAGE });
  yield '[';
  let first = true;
  for (;;) {
    if (page.notes.length > 0) {
      yield (first ? '' : ',') + page.notes.map((n) => JSON.stringify(n)).join(',');
      first = false;
    }
    if (page.next === null) break;
    page = await api.notesPage({ trashed, limit: MAX_PAGE, cursor: page.next });
  }
  yield ']';
}

export const ROUTES: readonly Route[] = [
  {
    method: 'GET', path: '/api/notes', handle: async ({ api, query }) => {
      const trashed = flag(query, 'trashed');
      const limit = limitParam(query);
      const cursor = cursorParam(query);
      // Without limit and cursor: the whole list, as before paging existed (for scripts).
      if (limit === undefined && cursor === undefined) return { status: 200, stream: wholeList(api, trashed) };
      return ok(await api.notesPage({ trashed, limit, cursor }));
    },
  },
  {
    method: 'GET', path: '/api/notes/summaries', handle: async ({ api, query }) => {
      const ids = query.get('ids');
      if (ids === null) throw new HttpError(400, 'E_INVALID_VALUE', 'query parameter ids (comma-separated note ids) is required');
      return ok(await api.summaries(ids === '' ? [] : ids.split(',')));
    },
  },
  {
    method: 'POST', path: '/api/notes', handle: async ({ api, req }) => {
      const note = await api.createNote(noteFields(only(await readJsonObject(req), ['title', 'body'])));
      return { status: 201, json: note, headers: { Location: `/api/notes/${encodeURIComponent(note.id)}` } };
    },
  },
  { method: 'GET', path: '/api/notes/:id', handle: async ({ api, params }) => ok(await api.getNote(params.id)) },
  {
    method: 'PUT', path: '/api/notes/:id', handle: async ({ api, req, params }) => {
      const body = await readJsonObject(req);
      if (body === undefined) throw new HttpError(400, 'E_INVALID_VALUE', 'a JSON body {title?, body?, base?} is required');
      const fields = noteFields(only(body, ['title', 'body', 'base']));
      if (body.base !== undefined) {
        if (typeof body.base !== 'string') throw new HttpError(400, 'E_INVALID_BASE', 'base must be the rev string of the note you edited');
        fields.base = body.base;
      }
      return ok(await api.saveNote(params.id, fields));
    },
  },
  { method: 'GET', path: '/api/notes/:id/history', handle: async ({ api, params }) => ok(await api.history(params.id)) },
  { method: 'GET', path: '/api/notes/:id/sync', handle: async ({ api, params }) => ok(await api.noteSync(params.id)) },
  { method: 'POST', path: '/api/notes/:id/trash', handle: async ({ api, params }) => ok(await api.trashNote(params.id)) },
  { method: 'POST', path: '/api/notes/:id/restore', handle: async ({ api, params }) => ok(await api.restoreNote(params.id)) },
  {
    method: 'POST', path: '/api/notes/:id/resolve', handle: async ({ api, req, params }) => {
      const body = only(await readJsonObject(req), ['field', 'value'], ['field', 'value']);
      const field = requiredText(body, 'field');
      if (field !== 'title' && field !== 'body') throw new HttpError(400, 'E_INVALID_VALUE', 'field must be "title" or "body"');
      return ok(await api.resolve(params.id, field satisfies TextField, requiredText(body, 'value')));
    },
  },
  {
    method: 'GET', path: '/api/search', handle: async ({ api, query }) => {
      const q = query.get('q');
      if (q === null) throw new HttpError(400, 'E_INVALID_VALUE', 'query parameter q is required');
      const limit = limitParam(query);
      const cursor = cursorParam(query);
      if (limit === undefined && cursor === undefined) return ok(await api.search(q));
      return ok(await api.searchPage(q, { limit, cursor }));
    },
  },
  { method: 'GET', path: '/api/conflicts', handle: async ({ api }) => ok(await api.conflicts()) },
  { method: 'POST', path: '/api/invite', handle: async ({ api }) => ok(await api.invite()) },
  {
    method: 'POST', path: '/api/join', handle: async ({ api, req }) => {
      const body = only(await readJsonObject(req), ['code'], ['code']);
      return ok(await api.join(requiredText(body, 'code')));
    },
  },
  {
    method: 'POST', path: '/api/peers', handle: async ({ api, req }) => {
      const body = only(await readJsonObject(req), ['address'], ['address']);
      await api.addPeer(requiredText(body, 'address'));
      return { status: 204 };
    },
  },
  { method: 'GET', path: '/api/sync', handle: async ({ api }) => ok(await api.syncState()) },
  { method: 'POST', path: '/api/sync/now', handle: async ({ api }) => ok(await api.syncNow()) },
  {
    method: 'PUT', path: '/api/device', handle: async ({ api, req }) => {
      const body = only(await readJsonObject(req), ['name'], ['name']);
      return ok(await api.renameDevice(requiredText(body, 'name')));
    },
  },
  { method: 'POST', path: '/api/devices/:id/forget', handle: async ({ api, params }) => ok(await api.forgetDevice(params.id)) },
  { method: 'GET', path: '/api/pairing', handle: async ({ api }) => ok(await api.pairingState()) },
  {
    method: 'POST', path: '/api/pairing/start', handle: async ({ api, req }) => {
      const mode = requiredText(only(await readJsonObject(req), ['mode'], ['mode']), 'mode');
      if (mode !== 'invite' && mode !== 'join') throw new HttpError(400, 'E_INVALID_VALUE', 'mode must be "invite" or "join"');
      return ok(await api.startPairing(mode));
    },
  },
  {
    method: 'POST', path: '/api/pairing/request', handle: async ({ api, req }) => {
      return ok(await api.requestPairing(requiredText(only(await readJsonObject(req), ['peerId'], ['peerId']), 'peerId')));
    },
  },
  {
    method: 'POST', path: '/api/pairing/answer', handle: async ({ api, req }) => {
      const body = only(await readJsonObject(req), ['peerId', 'accept'], ['peerId', 'accept']);
      if (typeof body.accept !== 'boolean') throw new HttpError(400, 'E_INVALID_VALUE', '"accept" must be true or false');
      return ok(await api.answerPairing(requiredText(body, 'peerId'), body.accept));
    },
  },
  { method: 'POST', path: '/api/pairing/stop', handle: async ({ api }) => ok(await api.stopPairing()) },
  {
    method: 'POST', path: '/api/import', handle: async ({ api, req }) => {
      const body = only(await readJsonObject(req), ['root', 'files'], ['root', 'files']);
      return ok(await api.importMarkdown(body as unknown as ImportBatch));
    },
  },
  { method: 'GET', path: '/api/export', handle: async ({ api, query }) => ok(await api.exportMarkdown({ trash: flag(query, 'trash') })) },
  {
    method: 'GET', path: '/api/events', handle: async ({ events }) => {
      events();
      return null;
    },
  },
];
