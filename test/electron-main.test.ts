// The built main-process bundle, run under plain Node with a stand-in for the `electron` module
// (test/electron-fake.ts): Electron's runtime is never needed. The bundle is built into a temp
// directory with no node_modules anywhere above it, which also shows the packaged app needs
// none. What runs is the real thing: SyncNode on a real SQLite file, Host, the IPC table, the
// app:// file server, the session and page policies, the quit sequence.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { buildElectron } from '../app/electron/build.ts';
import { EVENT_CHANNEL } from '../app/electron/channels.ts';
import { RENDERER_CSP, RENDERER_URL } from '../app/electron/window-options.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { app, dialog, FakeEvent, fake, ipcMain, Menu, protocol, session } from './electron-fake.ts';
import { EXPORT_LABEL, IMPORT_LABEL } from '../app/electron/markdown-menu.ts';

process.env.NOTES_LOG ??= 'silent';
const T = { timeout: 30_000 };

const FAKE_URL = new URL('./electron-fake.ts', import.meta.url).href;
registerHooks({
  resolve(specifier, context, next) {
    if (specifier === 'electron') return { url: FAKE_URL, shortCircuit: true };
    return next(specifier, context);
  },
});

const dir = mkdtempSync(join(tmpdir(), 'electron-main-test-'));
const appDir = join(dir, 'app');
fake.userData = join(dir, 'userData');
const stdout: string[] = [];

before(async () => {
  await buildElectron(join(appDir, 'dist', 'electron'));
  mkdirSync(join(appDir, 'dist', 'renderer'), { recursive: true });
  writeFileSync(join(appDir, 'dist', 'renderer', 'index.html'), '<!doctype html><title>LAN Notes</title>');
  // Closing the window must not quit here, so the second-instance path can be exercised.
  mkdirSync(fake.userData, { recursive: true });
  writeFileSync(join(fake.userData, 'settings.json'), JSON.stringify({ backgroundSync: true }));
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: any[]) => {
    const s = String(chunk);
    if (s.includes('"desktop"')) {
      stdout.push(s);
      return true;
    }
    return write(chunk, ...rest);
  }) as typeof process.stdout.write;
  // The real engine starts inside: keep mDNS off and libp2p on loopback, as npm start passes them.
  process.argv.push('--no-mdns', '--listen=/ip4/127.0.0.1/tcp/0');
  await import(pathToFileURL(join(appDir, 'dist', 'electron', 'main.js')).href);
  const end = Date.now() + 20_000;
  while (fake.windows.length === 0 || stdout.length === 0) {
    if (Date.now() > end || app.exitCode !== null) assert.fail(`the main bundle did not open a window (exit ${app.exitCode})`);
    await new Promise((r) => setTimeout(r, 20));
  }
});

after(async () => {
  if (!app.quitting) app.quit();
  await app.quit$;
  rmSync(dir, { recursive: true, force: true });
});

const win = () => fake.windows.at(-1)!;
const trusted = () => ({ sender: win().webContents, senderFrame: win().webContents.mainFrame });
function invoke(channel: string, event: unknown, ...args: unknown[]): Promise<any> {
  const h = ipcMain.handlers.get(channel);
  assert.ok(h, `no handler for ${channel}`);
  return h(event, ...args) as Promise<any>;
}

describe('startup', () => {
  test('no node_modules above the bundle', () => {
    for (let d = appDir; d !== join(d, '..'); d = join(d, '..')) assert.ok(!existsSync(join(d, 'node_modules', 'libp2p')), `${d}/node_modules`);
  });

  test('sandbox for every renderer, app:// privileged before ready', () => {
    assert.equal(app.sandboxed, true);
    assert.deepEqual(protocol.privileged, [{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
  });

  test('one window, secure options, the bundled preload, our page only; ready line printed', () => {
    assert.equal(fake.windows.length, 1);
    const w = win();
    const web = w.options.webPreferences;
    assert.equal(web.sandbox, true);
    assert.equal(web.contextIsolation, true);
    assert.equal(web.nodeIntegration, false);
    assert.equal(web.webSecurity, true);
    assert.equal(web.preload, join(appDir, 'dist', 'electron', 'preload.cjs'));
    assert.ok(existsSync(web.preload));
    assert.deepEqual(w.loaded, [RENDERER_URL]);
    assert.equal(w.visible, true);
    assert.deepEqual(JSON.parse(stdout[0]), { desktop: 'ready', url: RENDERER_URL });
  });

  test('the engine runs in the main process on userData/notes', () => {
    assert.ok(existsSync(join(fake.userData, 'notes', 'notes.db')));
    assert.ok(existsSync(join(fake.userData, 'notes', 'vault.json')));
  });
});

describe('policies as wired', () => {
  test('app:// serves the built renderer with the CSP', async () => {
    const handler = session.defaultSession.protocols.get('app');
    assert.ok(handler);
    const res = (await handler({ url: RENDERER_URL, method: 'GET' })) as Response;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-security-policy'), RENDERER_CSP);
    assert.match(await res.text(), /LAN Notes/);
    assert.equal(((await handler({ url: 'app://notes/../electron/main.js', method: 'GET' })) as Response).status, 404);
  });

  test('navigation, new windows, webviews refused on every webContents', () => {
    const wc = win().webContents;
    const nav = new FakeEvent();
    wc.emit('will-navigate', nav, 'https://example.com/');
    assert.equal(nav.defaultPrevented, true);
    const own = new FakeEvent();
    wc.emit('will-navigate', own, RENDERER_URL);
    assert.equal(own.defaultPrevented, false);
    const redirect = new FakeEvent();
    wc.emit('will-redirect', redirect, 'http://127.0.0.1/');
    assert.equal(redirect.defaultPrevented, true);
    const webview = new FakeEvent();
    wc.emit('will-attach-webview', webview, {}, {});
    assert.equal(webview.defaultPrevented, true);
    assert.deepEqual(wc.windowOpenHandler!({ url: 'https://example.com/' }), { action: 'deny' });
  });

  test('permissions denied, network requests cancelled', () => {
    const s = session.defaultSession;
    const answers: boolean[] = [];
    s.permissionRequest!(null, 'media', (v: boolean) => answers.push(v), { requestingUrl: RENDERER_URL });
    s.permissionRequest!(null, 'clipboard-sanitized-write', (v: boolean) => answers.push(v), { requestingUrl: 'https://evil.example/' });
    assert.deepEqual(answers, [false, false]);
    assert.equal(s.permissionCheck!(null, 'notifications', 'app://notes'), false);
    assert.equal(s.devicePermission!({}), false);
    const cancels: boolean[] = [];
    for (const url of ['https://example.com/x.js', 'file:///etc/passwd', RENDERER_URL]) s.beforeRequest!({ url }, (r: { cancel: boolean }) => cancels.push(r.cancel));
    assert.deepEqual(cancels, [true, true, false]);
  });
});

let lastId = '';

describe('IPC through the bundle', () => {
  let id = '';

  test('our window creates and reads a note; events come back on the event channel', T, async () => {
    const created = await invoke('notes:createNote', trusted(), { title: 'From the window', body: 'hello' });
    assert.equal(created.ok, true, JSON.stringify(created));
    id = created.value.id;
    lastId = id;
    const got = await invoke('notes:getNote', trusted(), id);
    assert.equal(got.value.body, 'hello');
    assert.ok(win().webContents.sent.some((m) => m.channel === EVENT_CHANNEL && (m.args[0] as { ids?: string[] }).ids?.includes(id)));
  });

  test('a foreign sender and a bad payload are refused with codes', T, async () => {
    const other = { sender: {}, senderFrame: { url: RENDERER_URL } };
    assert.deepEqual((await invoke('notes:listNotes', other)).error.code, 'E_FORBIDDEN_SENDER');
    assert.deepEqual((await invoke('notes:saveNote', trusted(), id, { body: 42 })).error.code, 'E_INVALID_VALUE');
  });

  test('closing the window keeps sync running (backgroundSync); a second launch reopens it', T, async () => {
    const first = win();
    first.close();
    assert.equal(app.quitAttempts, 0);
    // Nothing is trusted with no window, even a message claiming to be from the old one.
    assert.equal((await invoke('notes:listNotes', { sender: first.webContents, senderFrame: first.webContents.mainFrame })).error.code, 'E_FORBIDDEN_SENDER');
    app.emit('second-instance', new FakeEvent(), [], '');
    assert.equal(fake.windows.length, 2);
    assert.notEqual(win(), first);
    await new Promise((r) => setImmediate(r));
    const list = await invoke('notes:listNotes', trusted());
    assert.ok(list.value.some((n: { id: string }) => n.id === id));
  });
});

describe('Markdown from the File menu', () => {
  const fileItem = (label: string): { click: () => void } => {
    const file = Menu.application?.template.find((m: { label?: string }) => m.label === 'File');
    const item = file?.submenu.find((i: { label?: string }) => i.label === label);
    assert.ok(item, `File menu has ${label}`);
    return item;
  };
  const nextMessage = async (n: number): Promise<{ type: string; message: string; detail: string }> => {
    for (let i = 0; i < 400 && dialog.messages.length < n; i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(dialog.messages.length >= n, 'a message box after the action');
    return dialog.messages[n - 1];
  };

  test('the menu keeps the standard Edit, View and Window menus', () => {
    const roles = Menu.application!.template.map((m: { role?: string; label?: string }) => m.role ?? m.label);
    assert.deepEqual(roles.filter((r: string | undefined) => r !== 'appMenu'), ['File', 'editMenu', 'viewMenu', 'windowMenu']);
  });

  test('import a folder chosen in the folder dialog, then export into a new folder inside the chosen one', T, async () => {
    const src = join(dir, 'md-src', 'Vault');
    mkdirSync(join(src, 'Sub'), { recursive: true });
    writeFileSync(join(src, 'Sub', 'From menu.md'), '---\ntitle: Imported from the menu\n---\nhello menu\n');
    writeFileSync(join(src, 'latin1.md'), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    dialog.openAnswers.push(src);
    fileItem(IMPORT_LABEL).click();
    const m = await nextMessage(1);
    assert.equal(m.type, 'info');
    assert.match(m.message, /^Imported 1 new notes, 0 updated, 0 unchanged\.$/);
    assert.match(m.detail, /latin1\.md: not UTF-8/);
    const list = await invoke('notes:listNotes', trusted());
    assert.ok(list.value.some((n: { title: string }) => n.title === 'Imported from the menu'));

    const target = join(dir, 'md-out');
    mkdirSync(target);
    dialog.openAnswers.push(target);
    fileItem(EXPORT_LABEL).click();
    const e = await nextMessage(2);
    assert.equal(e.type, 'info', e.detail);
    const [made] = readdirSync(target);
    assert.match(made, /^LAN Notes \d{4}-\d{2}-\d{2}$/);
    assert.match(readFileSync(join(target, made, 'Sub', 'Imported from the menu.md'), 'utf8'), /hello menu/);

    // A cancelled dialog does nothing: the next message box is the next action's, not the import's.
    fileItem(IMPORT_LABEL).click();
    dialog.openAnswers.push(target);
    fileItem(EXPORT_LABEL).click();
    const third = await nextMessage(3);
    assert.match(third.message, /^Exported \d+ files\.$/);
    assert.equal(dialog.messages.length, 3);
    assert.equal(readdirSync(target).length, 2, 'a second export gets a folder of its own');
  });
});

describe('quit', () => {
  test('holds the quit until the engine has stopped, then quits; the note is on disk', T, async () => {
    app.quit();
    assert.equal(app.quitting, false, 'quit went through before the engine stopped');
    await app.quit$;
    assert.equal(app.exitCode, null);
    assert.ok(app.quitAttempts >= 2);
    assert.equal(ipcMain.handlers.size, 0, 'IPC handlers left registered');
    // The database was closed cleanly: it opens, and the note is there.
    const store = SqliteStore.open(join(fake.userData, 'notes', 'notes.db'));
    try {
      assert.equal(store.getDoc(lastId)?.title, 'From the window');
    } finally {
      store.close();
    }
  });
});
