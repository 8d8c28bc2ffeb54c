// The preload bridge: exposes window.notesApi (app/api.ts NotesApi) to the sandboxed, isolated
// renderer. One function per operation, each invoking that operation's own channel; the renderer
// never gets ipcRenderer or a way to name a channel itself. Bundled by esbuild into one CommonJS
// file (dist/electron/preload.cjs): a sandboxed preload cannot load modules, only `electron`.

import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { ApiEvent, NotesApi } from '../api.ts';
import { channelOf, EVENT_CHANNEL, type IpcResult, type Operation } from './channels.ts';

/**
 * Invokes one operation and unwraps its IpcResult. A failure rejects with a plain {code, message}
 * object (app/api.ts ApiError): contextBridge copies only the message of an Error, a plain object
 * keeps its code.
 */
async function call<T>(op: Operation, ...args: unknown[]): Promise<T> {
  const result = (await ipcRenderer.invoke(channelOf(op), ...args)) as IpcResult<T>;
  if (result.ok) return result.value;
  throw { code: result.error.code, message: result.error.message };
}

// One IPC listener for all subscribers; each subscriber is removed by its own unsubscribe.
const listeners = new Set<(event: ApiEvent) => void>();
ipcRenderer.on(EVENT_CHANNEL, (_event: IpcRendererEvent, payload: ApiEvent) => {
  for (const l of listeners) {
    try {
      l(payload);
    } catch (e) {
      console.error('notesApi subscriber failed', e);
    }
  }
});

const notesApi: NotesApi = {
  listNotes: (opts) => call('listNotes', opts),
  notesPage: (opts) => call('notesPage', opts),
  summaries: (ids) => call('summaries', ids),
  searchPage: (text, opts) => call('searchPage', text, opts),
  getNote: (id) => call('getNote', id),
  noteSync: (id) => call('noteSync', id),
  createNote: (fields) => call('createNote', fields),
  saveNote: (id, fields) => call('saveNote', id, fields),
  trashNote: (id) => call('trashNote', id),
  restoreNote: (id) => call('restoreNote', id),
  search: (text) => call('search', text),
  conflicts: () => call('conflicts'),
  resolve: (id, field, value) => call('resolve', id, field, value),
  invite: () => call('invite'),
  join: (code) => call('join', code),
  addPeer: (address) => call('addPeer', address),
  syncState: () => call('syncState'),
  syncNow: () => call('syncNow'),
  renameDevice: (name) => call('renameDevice', name),
  forgetDevice: (peerId) => call('forgetDevice', peerId),
  pairingState: () => call('pairingState'),
  startPairing: (mode) => call('startPairing', mode),
  requestPairing: (peerId) => call('requestPairing', peerId),
  answerPairing: (peerId, accept) => call('answerPairing', peerId, accept),
  stopPairing: () => call('stopPairing'),
  history: (id) => call('history', id),
  importMarkdown: (batch) => call('importMarkdown', batch),
  exportMarkdown: (opts) => call('exportMarkdown', opts),
  subscribe(listener) {
    if (typeof listener !== 'function') throw new TypeError('subscribe needs a listener function');
    // A listener passed twice gets its own entry, so each unsubscribe removes only its own.
    const entry = (event: ApiEvent): void => listener(event);
    listeners.add(entry);
    return () => {
      listeners.delete(entry);
    };
  },
};

contextBridge.exposeInMainWorld('notesApi', notesApi);
