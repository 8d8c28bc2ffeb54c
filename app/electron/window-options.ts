// The window's security settings and the policies main.ts applies to every page, as plain data and
// pure functions: tests check them without Electron (electron is only imported for types).
// Follows Electron's security checklist (docs/tutorial/security.md): the renderer is sandboxed,
// isolated from the preload, has no Node; it loads only our own files, over a custom protocol;
// it cannot navigate, open windows, embed webviews, be granted permissions, or reach the network.

import type { BrowserWindowConstructorOptions } from 'electron';
import { UI_CSP } from '../http-static.ts';

/** The renderer's files are served on app://notes/ (protocol.ts), never file:// or http(s). */
export const RENDERER_SCHEME = 'app';
export const RENDERER_HOST = 'notes';
export const RENDERER_ORIGIN = `${RENDERER_SCHEME}://${RENDERER_HOST}`;
export const RENDERER_URL = `${RENDERER_ORIGIN}/index.html`;

/**
 * The renderer's Content-Security-Policy: exactly the one the headless peer serves the same UI
 * with (http-static.ts), so the browser tests of the UI run under the policy the desktop app
 * enforces. default-src 'none', scripts and styles from our own files only: no inline script, no
 * eval, no 'unsafe-inline' style. CodeMirror injects its styles at run time; the renderer mounts
 * it in a shadow root, where style-mod uses a constructed stylesheet (script-made CSSOM, which
 * style-src does not govern) instead of a <style> element the policy would refuse
 * (renderer/components/MarkdownEditor.tsx). Images also from data:/blob: (QR codes); no plugins,
 * no base or form targets, never framed.
 */
export const RENDERER_CSP = UI_CSP;

/** The privileges app:// is registered with (before the app is ready). */
export const RENDERER_SCHEME_PRIVILEGES = {
  // A real origin ('self' in the CSP, IndexedDB for drafts), treated as secure like https.
  standard: true,
  secure: true,
  supportFetchAPI: true,
} as const;

export interface WindowOptionsInput {
  /** Absolute path of the bundled preload (dist/electron/preload.cjs). */
  readonly preload: string;
  /** Developer tools: on in development, off in the packaged app. */
  readonly devTools: boolean;
  /** process.platform: decides the spellchecker (see below). */
  readonly platform: NodeJS.Platform;
  readonly icon?: string;
}

export function windowOptions(o: WindowOptionsInput): BrowserWindowConstructorOptions {
  return {
    width: 1180,
    height: 760,
    minWidth: 640,
    minHeight: 420,
    title: 'LAN Notes',
    // Shown on ready-to-show, so the window never flashes blank.
    show: false,
    ...(o.icon === undefined ? {} : { icon: o.icon }),
    webPreferences: {
      preload: o.preload,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      enableWebSQL: false,
      devTools: o.devTools,
      // Chromium's Hunspell dictionaries are downloaded from Google on first use on Linux and
      // Windows: nothing may be fetched from the network, so only macOS, whose spellchecker is
      // the OS's own, checks spelling.
      spellcheck: o.platform === 'darwin',
    },
  };
}

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** A URL of our own renderer (any file under app://notes/, any hash). */
export function isRendererUrl(url: string): boolean {
  const u = parse(url);
  return u !== null && u.protocol === `${RENDERER_SCHEME}:` && u.host === RENDERER_HOST && u.username === '' && u.password === '' && u.port === '';
}

/**
 * will-navigate / will-redirect: only to our own page (a reload of it). Links in notes do not open
 * inside the app, and there is no "open in browser": shell.openExternal with text from a synced
 * note is the checklist's item 15, so none is offered.
 */
export function isAllowedNavigation(url: string): boolean {
  return isRendererUrl(url);
}

/**
 * Every request any page makes: our own files, inline data the CSP already restricts (data:,
 * blob:), and the developer tools' own pages. http(s), ws(s), file: and everything else are
 * cancelled, so no remote content can ever load, whatever a page tries.
 */
export function isAllowedRequest(url: string): boolean {
  if (isRendererUrl(url)) return true;
  const u = parse(url);
  if (u === null) return false;
  return u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'devtools:';
}

/**
 * Permission requests (camera, notifications, geolocation, ...) and checks are denied, with one
 * exception: our own page may write text to the clipboard ("copy invite code"). Reading the
 * clipboard stays denied; Ctrl+C/V in the editor needs no permission.
 */
export function isAllowedPermission(permission: string, requestingUrl: string | undefined): boolean {
  return permission === 'clipboard-sanitized-write' && requestingUrl !== undefined && isRendererUrl(requestingUrl);
}
