// The Electron main process, kept thin: it wires Electron to host code that also runs (and is
// tested) under plain Node. One instance per user; the sync engine (SyncNode + Host) runs here,
// so notes keep syncing while the window is closed where the platform expects that; one window
// loads the built renderer from app://notes/ (protocol.ts) with the preload bridge (preload.ts)
// and the IPC handlers (ipc.ts); quitting stops the engine cleanly. Security settings and
// policies: window-options.ts. Bundled by app/electron/build.ts into dist/electron/main.js (ESM).

import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, type Session, type WebContents } from 'electron';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Host } from '../host.ts';
import { logger } from '../../engine/log.ts';
import { SyncNode } from '../../engine/sync-node.ts';
import { StoreDamagedError } from '../../engine/open-replica.ts';
import { damagedStorePrompt, decisionFor, exitCodeFor, freshStartNotice } from '../data-dir-problems.ts';
import { forwardEvents, registerIpc } from './ipc.ts';
import { appMenuTemplate, markdownMenuItems } from './markdown-menu.ts';
import { exportFolder, importFolder } from '../../engine/markdown/vault-folder.ts';
import { dataDirArg, networkArgs, notesDataDir, parseSettings, quitWhenAllWindowsClosed, SETTINGS_FILE, type DesktopSettings } from './lifecycle.ts';
import { serveRenderer } from './protocol.ts';
import {
  isAllowedNavigation, isAllowedPermission, isAllowedRequest, isRendererUrl, RENDERER_CSP, RENDERER_SCHEME,
  RENDERER_SCHEME_PRIVILEGES, RENDERER_URL, windowOptions,
} from './window-options.ts';

const log = logger('desktop');

// dist/electron/ holds main.js and preload.cjs; the renderer is built into dist/renderer/.
const HERE = fileURLToPath(new URL('.', import.meta.url));
const PRELOAD = join(HERE, 'preload.cjs');
const RENDERER_DIR = join(HERE, '..', 'renderer');

// Both must happen before the app is ready, so before the first await.
protocol.registerSchemesAsPrivileged([{ scheme: RENDERER_SCHEME, privileges: RENDERER_SCHEME_PRIVILEGES }]);
app.enableSandbox();

let window: BrowserWindow | null = null;
let node: SyncNode | null = null;
let host: Host | null = null;
let shutdown: Promise<void> | null = null;
let cleanups: (() => void)[] = [];

/** Every webContents (ours, devtools, anything a page might try to open) gets the same limits. */
function hardenContents(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url)) {
      event.preventDefault();
      log.warn('navigation refused', { url });
    }
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    log.warn('new window refused', { url });
    return { action: 'deny' };
  });
}

function hardenSession(s: Session): void {
  s.setPermissionRequestHandler((_wc, permission, callback, details) => callback(isAllowedPermission(permission, details.requestingUrl)));
  s.setPermissionCheckHandler((_wc, permission, origin) => isAllowedPermission(permission, origin));
  s.setDevicePermissionHandler(() => false);
  s.webRequest.onBeforeRequest((details, callback) => {
    const cancel = !isAllowedRequest(details.url);
    if (cancel) log.warn('request refused', { url: details.url });
    callback({ cancel });
  });
  // Our protocol handler sets the CSP on every file; this covers any response from elsewhere.
  s.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [RENDERER_CSP] } });
  });
  s.protocol.handle(RENDERER_SCHEME, (request) => serveRenderer(RENDERER_DIR, request, (file) => readFile(file)));
}

function showWindow(): void {
  if (window !== null) {
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
    return;
  }
  const w = new BrowserWindow(windowOptions({ preload: PRELOAD, devTools: !app.isPackaged, platform: process.platform }));
  window = w;
  w.once('ready-to-show', () => w.show());
  w.on('closed', () => {
    if (window === w) window = null;
  });
  w.webContents.once('did-finish-load', () => {
    // `npm start` (app/start.ts) waits for this line to know the desktop app came up.
    process.stdout.write(`${JSON.stringify({ desktop: 'ready', url: RENDERER_URL })}\n`);
  });
  w.webContents.on('did-fail-load', (_e, code, description, url) => log.error('renderer failed to load', { code, description, url }));
  w.webContents.on('render-process-gone', (_e, details) => log.error('renderer process gone', { reason: details.reason }));
  void w.loadURL(RENDERER_URL).catch((e) => log.error('could not load the renderer; run `npm run build:ui`', { error: e }));
}

async function readSettings(userData: string): Promise<DesktopSettings> {
  let text: string | null = null;
  try {
    text = await readFile(join(userData, SETTINGS_FILE), 'utf8');
  } catch {
    text = null;
  }
  const { settings, problem } = parseSettings(text);
  if (problem !== undefined) log.warn(problem);
  return settings;
}

async function start(): Promise<void> {
  await app.whenReady();
  const userData = app.getPath('userData');
  const settings = await readSettings(userData);
  const dataDir = resolve(dataDirArg(process.argv) ?? notesDataDir(userData));
  try {
    node = await SyncNode.start({
      dataDir, ...networkArgs(process.argv), program: 'desktop app',
      // The words and what the answer means: app/data-dir-problems.ts.
      onDamagedStore: async (damage) => decisionFor((await dialog.showMessageBox(damagedStorePrompt(damage))).response),
    });
  } catch (e) {
    log.error('sync engine failed to start', { dataDir, error: e });
    // Quit was the user's own answer to the damaged-store prompt: no second box.
    if (!(e instanceof StoreDamagedError)) dialog.showErrorBox('LAN Notes cannot open your notes', `${(e as Error).message}\n\nData folder: ${dataDir}`);
    app.exit(exitCodeFor(e));
    return;
  }
  if (node.freshStart !== null) void dialog.showMessageBox(freshStartNotice(node.freshStart));
  host = new Host(node.notes, node);
  log.info('engine started', { dataDir, peerId: node.peerId, vault: node.vaultId });

  hardenSession(session.defaultSession);
  const mainContents = (): WebContents | null => (window !== null && !window.isDestroyed() ? window.webContents : null);
  cleanups = [
    registerIpc(ipcMain, host, { webContents: mainContents, isOwnUrl: isRendererUrl }),
    forwardEvents(host, mainContents),
  ];

  const notes = node.notes;
  Menu.setApplicationMenu(Menu.buildFromTemplate(appMenuTemplate(process.platform, markdownMenuItems({
    chooseFolder: async (purpose) => {
      const options = purpose === 'import'
        ? { title: 'Import Markdown folder', buttonLabel: 'Import', properties: ['openDirectory' as const] }
        : { title: 'Export as Markdown into…', buttonLabel: 'Export here', properties: ['openDirectory' as const, 'createDirectory' as const] };
      const r = window !== null ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
      return r.canceled ? null : r.filePaths[0] ?? null;
    },
    importFolder: (dir) => importFolder(notes, dir),
    exportFolder: async (dir, opts) => (await exportFolder(notes, dir, opts)).length,
    exists: existsSync,
    inform: (message, detail, kind) => void dialog.showMessageBox({ type: kind, message, detail }),
    today: () => new Date(),
  }))));

  app.on('second-instance', () => showWindow());
  // macOS: clicking the dock icon with no window open.
  app.on('activate', () => showWindow());
  app.on('window-all-closed', () => {
    if (quitWhenAllWindowsClosed(process.platform, settings)) app.quit();
    else log.info('window closed; sync keeps running');
  });
  showWindow();
}

/** IPC off, host detached, engine stopped (its last rumors out, the database closed). */
function stopEngine(): Promise<void> {
  shutdown ??= (async () => {
    for (const c of cleanups.splice(0)) c();
    host?.close();
    await node?.stop().catch((e) => log.error('engine stop failed', { error: e }));
    log.info('engine stopped');
  })();
  return shutdown;
}

if (!app.requestSingleInstanceLock()) {
  // Another instance runs: it got 'second-instance' and shows its window.
  app.quit();
} else {
  app.on('web-contents-created', (_e, contents) => hardenContents(contents));
  let stopped = false;
  app.on('before-quit', (event) => {
    if (stopped) return;
    // Hold the quit until the engine has stopped, then quit for real.
    event.preventDefault();
    void stopEngine().finally(() => {
      stopped = true;
      app.quit();
    });
  });
  // Ctrl-C in the terminal of `npm start`, or a service manager: the same clean quit.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());
  start().catch((e) => {
    log.error('desktop app failed to start', { error: e });
    app.exit(1);
  });
}
