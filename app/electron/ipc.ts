// The main process's IPC layer: one ipcMain.handle per NotesApi operation, each checking who sent
// it and validating its arguments before the Host is called, and the event channel that pushes
// ApiEvents to the window. Plain functions over injected ipcMain-like objects (electron is only
// imported for types), so tests run the real table against a real Host under plain Node.
//
// Every handler answers an IpcResult (channels.ts): {ok: true, value} or {ok: false, error:
// {code, message}}. Refusals, in order, all before the Host is called, so they change nothing:
//   E_FORBIDDEN_SENDER  not our window's main frame showing our own page
//   E_INVALID_VALUE     wrong arity, wrong type, unknown field (same codes as the HTTP API)
//   E_VALUE_TOO_LARGE   a text over the store's limit, refused before it crosses into the engine
// then the engine's own codes (E_NOT_FOUND, E_INVALID_INVITE, E_SYNC_OFF, ...). Anything else is a
// bug: the renderer gets E_INTERNAL and the details go to the log only.

import type { IpcMainInvokeEvent } from 'electron';
import type { ImportBatch, NotesApi, TextField } from '../api.ts';
import { only, type JsonObject } from '../http-body.ts';
import { toErrorResponse } from '../http-errors.ts';
import { MAX_VALUE_BYTES } from '../../engine/core/limits.ts';
import { MAX_REV_CHARS } from '../../engine/core/rev.ts';
import { MAX_PAGE } from '../page-limits.ts';
import { logger } from '../../engine/log.ts';
import { channelOf, EVENT_CHANNEL, OPERATIONS, type IpcResult, type Operation } from './channels.ts';

const log = logger('ipc');

/** A refusal by the IPC layer itself; crosses to the renderer as {code, message}. */
export class IpcError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'IpcError';
    this.code = code;
  }
}

// ---- who may call ---------------------------------------------------------------------------

/** What the sender check reads of a frame: Electron's WebFrameMain has all of these. */
export interface FrameLike {
  readonly url: string;
  readonly processId?: number;
  readonly routingId?: number;
}

/** The parts of an invoke event the sender check reads (a fake one is enough in tests). */
export interface SenderEvent {
  readonly sender: unknown;
  readonly senderFrame: FrameLike | null;
}

export interface SenderPolicy {
  /** The main window's webContents, or null while there is no window. */
  readonly webContents: () => { readonly id?: number; readonly mainFrame: FrameLike } | null;
  /** True for URLs of our own renderer page (window-options.ts isRendererUrl). */
  readonly isOwnUrl: (url: string) => boolean;
}

// Electron hands out one wrapper object per webContents and per frame, but identity is compared
// together with the ids, which name them for certain (a webContents id; a frame's process and
// routing ids), so the check holds whichever object Electron passes.
function sameContents(a: unknown, b: { readonly id?: number }): boolean {
  if (a === b) return true;
  const id = (a as { id?: unknown } | null)?.id;
  return typeof id === 'number' && id === b.id;
}

function sameFrame(a: FrameLike, b: FrameLike): boolean {
  if (a === b) return true;
  return typeof a.processId === 'number' && typeof a.routingId === 'number' && a.processId === b.processId && a.routingId === b.routingId;
}

/**
 * True only for a message from the main frame of our own window while it shows our own page: not
 * another window, not an iframe, not a page it was somehow navigated to.
 */
export function isTrustedSender(event: SenderEvent, policy: SenderPolicy): boolean {
  const wc = policy.webContents();
  if (wc === null || !sameContents(event.sender, wc)) return false;
  const frame = event.senderFrame;
  return frame !== null && sameFrame(frame, wc.mainFrame) && policy.isOwnUrl(frame.url);
}

// ---- argument schemas -----------------------------------------------------------------------

/** Ids are 16 hex characters today; the bound only keeps garbage out of log lines and queries. */
const MAX_ID_CHARS = 256;
/** Invite codes, multiaddrs and search text are short; anything this long is not one. */
const MAX_SHORT_TEXT_CHARS = 4096;

const invalid = (message: string): IpcError => new IpcError('E_INVALID_VALUE', message);

function isPlainObject(v: unknown): v is JsonObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function str(v: unknown, what: string, max: number): string {
  if (typeof v !== 'string') throw invalid(`${what} must be a string`);
  if (v.length > max) {
    // UTF-8 takes at least one byte per UTF-16 unit, so more units than the limit is over it.
    if (max === MAX_VALUE_BYTES) throw new IpcError('E_VALUE_TOO_LARGE', `${what} is over ${MAX_VALUE_BYTES} bytes`);
    throw invalid(`${what} is longer than ${max} characters`);
  }
  return v;
}

function noteId(v: unknown): string {
  const id = str(v, 'a note id', MAX_ID_CHARS);
  if (id.length === 0) throw invalid('a note id must not be empty');
  return id;
}

/**
 * {title?, body?} with only the keys the caller sent (an absent field stays unchanged), unknown
 * keys refused: the same shape and codes as the HTTP API's note bodies (http-body.ts only()).
 */
function noteFields(v: unknown, what: string, keys: readonly string[] = ['title', 'body']): { title?: string; body?: string; base?: string } {
  if (!isPlainObject(v)) throw invalid(`${what} must be an object {${keys.map((k) => `${k}?`).join(', ')}}`);
  const body = only(v, keys);
  const out: { title?: string; body?: string; base?: string } = {};
  if (body.title !== undefined) out.title = str(body.title, 'title', MAX_VALUE_BYTES);
  if (body.body !== undefined) out.body = str(body.body, 'body', MAX_VALUE_BYTES);
  if (body.base !== undefined) {
    if (typeof body.base !== 'string' || body.base.length > MAX_REV_CHARS) throw new IpcError('E_INVALID_BASE', 'base must be the rev string of the note you edited');
    out.base = body.base;
  }
  return out;
}

function textField(v: unknown): TextField {
  if (v !== 'title' && v !== 'body') throw invalid('field must be "title" or "body"');
  return v;
}

/** A page size as the host takes it (1..MAX_PAGE); the host applies the default when absent. */
function pageLimit(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > MAX_PAGE) throw new IpcError('E_INVALID_LIMIT', `limit must be a whole number from 1 to ${MAX_PAGE}`);
  return v;
}

/** An opaque cursor; its content is the host's to check. */
function cursorArg(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > MAX_SHORT_TEXT_CHARS) throw new IpcError('E_INVALID_CURSOR', 'a cursor is the text a previous page returned as next');
  return v;
}

/**
 * The arguments as the renderer sent them, trailing undefineds dropped (an optional argument left
 * out), refused if there are more than `max`.
 */
function arity(op: Operation, args: readonly unknown[], min: number, max: number): readonly unknown[] {
  let n = args.length;
  while (n > min && args[n - 1] === undefined) n--;
  if (n < min || n > max) {
    const want = min === max ? `${min}` : `${min} to ${max}`;
    throw invalid(`${op} takes ${want} argument${max === 1 ? '' : 's'}, got ${n}`);
  }
  return args.slice(0, n);
}

/**
 * One entry per operation: validate the raw IPC arguments, then call the API with them. The
 * validation runs completely before `call`, so a refused call never reaches the engine.
 */
type Handler = (api: NotesApi, args: readonly unknown[]) => Promise<unknown>;

const noArgs = (op: Operation, call: (api: NotesApi) => Promise<unknown>): Handler => (api, args) => {
  arity(op, args, 0, 0);
  return call(api);
};

const oneId = (op: Operation, call: (api: NotesApi, id: string) => Promise<unknown>): Handler => (api, args) => {
  const [id] = arity(op, args, 1, 1);
  return call(api, noteId(id));
};

const oneText = (op: Operation, what: string, call: (api: NotesApi, text: string) => Promise<unknown>): Handler => (api, args) => {
  const [text] = arity(op, args, 1, 1);
  return call(api, str(text, what, MAX_SHORT_TEXT_CHARS));
};

export const HANDLERS: { readonly [op in Operation]: Handler } = {
  listNotes: (api, args) => {
    const [opts] = arity('listNotes', args, 0, 1);
    if (opts === undefined) return api.listNotes({ trashed: false });
    if (!isPlainObject(opts)) throw invalid('listNotes options must be an object {trashed?}');
    const { trashed } = only(opts, ['trashed']);
    if (trashed !== undefined && typeof trashed !== 'boolean') throw invalid('trashed must be true or false');
    return api.listNotes({ trashed: trashed === true });
  },
  notesPage: (api, args) => {
    const [opts] = arity('notesPage', args, 0, 1);
    if (opts === undefined) return api.notesPage({});
    if (!isPlainObject(opts)) throw invalid('notesPage options must be an object {trashed?, limit?, cursor?}');
    const { trashed, limit, cursor } = only(opts, ['trashed', 'limit', 'cursor']);
    if (trashed !== undefined && typeof trashed !== 'boolean') throw invalid('trashed must be true or false');
    return api.notesPage({ trashed: trashed === true, limit: pageLimit(limit), cursor: cursorArg(cursor) });
  },
  summaries: (api, args) => {
    const [ids] = arity('summaries', args, 1, 1);
    if (!Array.isArray(ids)) throw invalid('summaries takes a list of note ids');
    if (ids.length > MAX_PAGE) throw new IpcError('E_INVALID_LIMIT', `at most ${MAX_PAGE} ids at once`);
    return api.summaries(ids.map(noteId));
  },
  searchPage: (api, args) => {
    const [text, opts] = arity('searchPage', args, 1, 2);
    const checked = str(text, 'search text', MAX_SHORT_TEXT_CHARS);
    if (opts === undefined) return api.searchPage(checked, {});
    if (!isPlainObject(opts)) throw invalid('searchPage options must be an object {limit?, cursor?}');
    const { limit, cursor } = only(opts, ['limit', 'cursor']);
    return api.searchPage(checked, { limit: pageLimit(limit), cursor: cursorArg(cursor) });
  },
  getNote: oneId('getNote', (api, id) => api.getNote(id)),
  noteSync: oneId('noteSync', (api, id) => api.noteSync(id)),
  createNote: (api, args) => {
    const [fields] = arity('createNote', args, 0, 1);
    return api.createNote(fields === undefined ? {} : noteFields(fields, 'createNote fields'));
  },
  saveNote: (api, args) => {
    const [id, fields] = arity('saveNote', args, 2, 2);
    const checkedId = noteId(id);
    return api.saveNote(checkedId, noteFields(fields, 'saveNote fields', ['title', 'body', 'base']));
  },
  trashNote: oneId('trashNote', (api, id) => api.trashNote(id)),
  restoreNote: oneId('restoreNote', (api, id) => api.restoreNote(id)),
  search: oneText('search', 'search text', (api, text) => api.search(text)),
  conflicts: noArgs('conflicts', (api) => api.conflicts()),
  resolve: (api, args) => {
    const [id, field, value] = arity('resolve', args, 3, 3);
    const checked = { id: noteId(id), field: textField(field), value: str(value, 'value', MAX_VALUE_BYTES) };
    return api.resolve(checked.id, checked.field, checked.value);
  },
  invite: noArgs('invite', (api) => api.invite()),
  join: oneText('join', 'an invite code', (api, code) => api.join(code)),
  addPeer: (api, args) => {
    const [address] = arity('addPeer', args, 1, 1);
    const checked = str(address, 'a peer address', MAX_SHORT_TEXT_CHARS);
    if (checked.length === 0) throw invalid('a peer address is a multiaddr such as /ip4/192.168.1.20/tcp/4001/p2p/<peer id>');
    // void: the renderer gets undefined, as from the HTTP API's 204.
    return api.addPeer(checked).then(() => undefined);
  },
  syncState: noArgs('syncState', (api) => api.syncState()),
  syncNow: noArgs('syncNow', (api) => api.syncNow()),
  renameDevice: oneText('renameDevice', 'a device name', (api, name) => api.renameDevice(name)),
  forgetDevice: oneText('forgetDevice', 'a peer id', (api, peerId) => api.forgetDevice(peerId)),
  pairingState: noArgs('pairingState', (api) => api.pairingState()),
  startPairing: (api, args) => {
    const [mode] = arity('startPairing', args, 1, 1);
    if (mode !== 'invite' && mode !== 'join') throw invalid('mode must be "invite" or "join"');
    return api.startPairing(mode);
  },
  requestPairing: oneText('requestPairing', 'a peer id', (api, peerId) => api.requestPairing(peerId)),
  answerPairing: (api, args) => {
    const [peerId, accept] = arity('answerPairing', args, 2, 2);
    const checked = str(peerId, 'a peer id', MAX_SHORT_TEXT_CHARS);
    if (typeof accept !== 'boolean') throw invalid('accept must be true or false');
    return api.answerPairing(checked, accept);
  },
  stopPairing: noArgs('stopPairing', (api) => api.stopPairing()),
  history: oneId('history', (api, id) => api.history(id)),
  importMarkdown: (api, args) => {
    const [batch] = arity('importMarkdown', args, 1, 1);
    // The shape and every file are checked by the host (app/markdown-batch.ts) before the engine runs.
    if (!isPlainObject(batch)) throw invalid('importMarkdown takes a batch {root, files}');
    return api.importMarkdown(batch as unknown as ImportBatch);
  },
  exportMarkdown: (api, args) => {
    const [opts] = arity('exportMarkdown', args, 0, 1);
    if (opts === undefined) return api.exportMarkdown({ trash: false });
    if (!isPlainObject(opts)) throw invalid('exportMarkdown options must be an object {trash?}');
    const { trash } = only(opts, ['trash']);
    if (trash !== undefined && typeof trash !== 'boolean') throw invalid('trash must be true or false');
    return api.exportMarkdown({ trash: trash === true });
  },
};

// ---- dispatch -------------------------------------------------------------------------------

/** {code, message} for the renderer; a bug is logged here and reaches it only as E_INTERNAL. */
export function toIpcError(op: string, e: unknown): { code: string; message: string } {
  if (e instanceof IpcError) return { code: e.code, message: e.message };
  const r = toErrorResponse(e);
  if (!r.expected) log.error('ipc handler failed', { op, error: e, stack: e instanceof Error ? e.stack : undefined });
  return { code: r.code, message: r.message };
}

/** Runs one operation for one IPC message: sender check, validation, the call, the envelope. */
export async function dispatch(api: NotesApi, policy: SenderPolicy, op: Operation, event: SenderEvent, args: readonly unknown[]): Promise<IpcResult<unknown>> {
  try {
    if (!isTrustedSender(event, policy)) {
      log.warn('ipc refused: foreign sender', { op, url: event.senderFrame?.url ?? null });
      throw new IpcError('E_FORBIDDEN_SENDER', `${op} refused: only the LAN Notes window may call the notes API`);
    }
    return { ok: true, value: await HANDLERS[op](api, args) };
  } catch (e) {
    return { ok: false, error: toIpcError(op, e) };
  }
}

/** The part of ipcMain this layer uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

/** Registers one handler per operation; returns a function that removes them all. */
export function registerIpc(ipcMain: IpcMainLike, api: NotesApi, policy: SenderPolicy): () => void {
  for (const op of OPERATIONS) {
    ipcMain.handle(channelOf(op), (event, ...args) => dispatch(api, policy, op, event, args));
  }
  return () => {
    for (const op of OPERATIONS) ipcMain.removeHandler(channelOf(op));
  };
}

/** Where events go: the main window's webContents while it exists. */
export interface EventTarget {
  isDestroyed(): boolean;
  send(channel: string, ...args: unknown[]): void;
}

/**
 * Forwards every ApiEvent (notes changed, sync state) to the window on EVENT_CHANNEL; with no
 * window (macOS after closing it, background sync) events are dropped: the renderer reloads its
 * data when a window opens. Returns the unsubscribe.
 */
export function forwardEvents(api: NotesApi, target: () => EventTarget | null): () => void {
  return api.subscribe((event) => {
    const wc = target();
    if (wc !== null && !wc.isDestroyed()) wc.send(EVENT_CHANNEL, event);
  });
}
