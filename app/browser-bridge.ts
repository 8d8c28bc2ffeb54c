// The browser's half of the one API seam: sets `window.notesApi` to the NotesApi over HTTP, the
// way the Electron preload sets it over IPC. Bundled by esbuild into dist/renderer/bridge.js
// (an IIFE) and loaded by index.html as a classic script BEFORE the app's module script, so the
// app always finds window.notesApi already there.
//
// The token arrives in the URL fragment (`/#token=...`, printed by `npm run peer`): a fragment is
// never sent to the server, so it stays out of request lines and logs. It is moved into
// sessionStorage (this tab only, gone when the tab closes; a reload keeps it) and removed from
// the address bar, so it is not bookmarked, shared or kept in history.
//
// In Electron the preload has already set window.notesApi: then this script does nothing.

import type { NotesApi } from './api.ts';
import { HttpNotesApi } from './http-client.ts';

const TOKEN_KEY = 'lan-notes.api-token';

function takeToken(): string | null {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  const fromUrl = fragment.get('token');
  if (fromUrl) {
    try {
      sessionStorage.setItem(TOKEN_KEY, fromUrl);
    } catch {
      // Storage disabled: the token still works for this page view.
    }
    fragment.delete('token');
    const rest = fragment.toString();
    history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
    return fromUrl;
  }
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

const w = window as unknown as { notesApi?: NotesApi };
if (w.notesApi === undefined) {
  // Without a token every call fails with E_UNAUTHORIZED; the UI explains how to open it properly.
  const api: NotesApi = new HttpNotesApi({ baseUrl: '', token: takeToken() ?? '' });
  Object.defineProperty(window, 'notesApi', { value: api, writable: false, configurable: false, enumerable: true });
}
