// The IPC channel names shared by the preload bridge and the main process's handlers. One invoke
// channel per NotesApi operation (no generic "invoke anything" channel), plus one event channel
// on which the main process pushes ApiEvents to the window. No imports: the sandboxed preload
// bundle includes this file, and it must stay free of Node and engine code.

/** Every NotesApi method but subscribe, which is the event channel below. */
export const OPERATIONS = [
  'listNotes', 'notesPage', 'summaries', 'searchPage', 'getNote', 'noteSync', 'createNote', 'saveNote', 'trashNote', 'restoreNote', 'search', 'conflicts',
  'resolve', 'invite', 'join', 'addPeer', 'syncState', 'syncNow', 'history', 'renameDevice', 'forgetDevice',
  'pairingState', 'startPairing', 'requestPairing', 'answerPairing', 'stopPairing', 'importMarkdown', 'exportMarkdown',
] as const;

export type Operation = (typeof OPERATIONS)[number];

/** `notes:<operation>`: the channel ipcRenderer.invoke uses for one operation. */
export function channelOf(op: Operation): string {
  return `notes:${op}`;
}

/** Main -> renderer: one ApiEvent per message. */
export const EVENT_CHANNEL = 'notes:event';

/**
 * What every invoke channel answers. Electron flattens a rejected handler's error into a message
 * string, so handlers never reject: a failure travels as {code, message} and the preload rejects
 * the renderer's promise with it (app/api.ts ApiError).
 */
export type IpcResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string } };
