// The renderer's only door to the host. Set before the app starts: by the Electron preload
// (contextBridge) or, in a browser, by bridge.js (app/browser-bridge.ts).
import type { NotesApi } from '../app/api.ts';

declare global {
  interface Window {
    readonly notesApi: NotesApi;
  }
}

export {};
