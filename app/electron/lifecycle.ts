// What the desktop app does around its window: where its data lives, what closing the last window
// means on each platform, and its settings file. Pure functions (tests and app/start.ts use them
// under plain Node; main.ts applies them).

import { join } from 'node:path';

/** The app's name: Electron's app.getName() (package.json productName), so its userData folder. */
export const PRODUCT_NAME = 'LAN Notes';

/** The engine's data (vault, identity, notes.db) in its own folder beside Chromium's files. */
export function notesDataDir(userData: string): string {
  return join(userData, 'notes');
}

/**
 * Electron's app.getPath('userData') computed without Electron, so the headless fallback of
 * `npm start` opens the same notes the desktop app would: appData (Linux $XDG_CONFIG_HOME or
 * ~/.config, macOS ~/Library/Application Support, Windows %APPDATA%) + the product name.
 */
export function desktopUserDataDir(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, home: string): string {
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', PRODUCT_NAME);
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), PRODUCT_NAME);
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg !== undefined && xdg.startsWith('/') ? xdg : join(home, '.config'), PRODUCT_NAME);
}

/** The settings file, `settings.json` in the user data directory. */
export const SETTINGS_FILE = 'settings.json';

export interface DesktopSettings {
  /**
   * Keep syncing with no window open on Linux and Windows (macOS always does: the app stays in the
   * dock). Opening the app again shows the window. Off by default: without a tray icon, a process
   * with no window is invisible, and closing the last window is how users quit there.
   */
  readonly backgroundSync: boolean;
}

export const DEFAULT_SETTINGS: DesktopSettings = { backgroundSync: false };

/**
 * What closing the last window does. macOS: nothing (the app and its sync keep running, the dock
 * icon reopens the window, Cmd-Q quits). Linux/Windows: quit, unless backgroundSync is set.
 */
export function quitWhenAllWindowsClosed(platform: NodeJS.Platform, settings: DesktopSettings): boolean {
  if (platform === 'darwin') return false;
  return !settings.backgroundSync;
}

/** settings.json in the user data directory, tolerant: missing or unreadable means the defaults. */
export function parseSettings(text: string | null): { settings: DesktopSettings; problem?: string } {
  if (text === null) return { settings: DEFAULT_SETTINGS };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { settings: DEFAULT_SETTINGS, problem: 'settings.json is not valid JSON; using the defaults' };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { settings: DEFAULT_SETTINGS, problem: 'settings.json is not a JSON object; using the defaults' };
  const bg = (v as Record<string, unknown>).backgroundSync;
  if (bg !== undefined && typeof bg !== 'boolean') return { settings: DEFAULT_SETTINGS, problem: 'settings.json: backgroundSync must be true or false; using the defaults' };
  return { settings: { backgroundSync: bg === true } };
}

/**
 * `--data DIR` (or `--data=DIR`) on the app's command line: the notes folder to use instead of
 * userData/notes (npm start passes it through). Null when absent.
 */
/** `--no-mdns` and `--listen=MULTIADDR` (repeatable), as npm start passes them through. */
export function networkArgs(argv: readonly string[]): { mdns: boolean; listen?: string[] } {
  const listen = argv.filter((a) => a.startsWith('--listen=')).map((a) => a.slice('--listen='.length)).filter((a) => a.length > 0);
  return { mdns: !argv.includes('--no-mdns'), ...(listen.length > 0 ? { listen } : {}) };
}

export function dataDirArg(argv: readonly string[]): string | null {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--data=') && a.length > '--data='.length) return a.slice('--data='.length);
    if (a === '--data' && i + 1 < argv.length) return argv[i + 1];
  }
  return null;
}
