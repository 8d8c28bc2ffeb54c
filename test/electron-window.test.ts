// The desktop window's security settings and page policies (app/electron/window-options.ts), the
// app:// file server (protocol.ts) and the window-closing policy (lifecycle.ts), checked as plain
// data under Node. Importing `electron` at runtime is made to fail here, so these modules are
// proven to need only its types.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { registerHooks } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

registerHooks({
  resolve(specifier, context, next) {
    if (specifier === 'electron' || specifier.startsWith('electron/')) throw new Error(`electron imported at runtime by ${context.parentURL}`);
    return next(specifier, context);
  },
});

const W = await import('../app/electron/window-options.ts');
const P = await import('../app/electron/protocol.ts');
const L = await import('../app/electron/lifecycle.ts');

const dir = mkdtempSync(join(tmpdir(), 'electron-window-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('window options', () => {
  const opts = W.windowOptions({ preload: '/app/dist/electron/preload.cjs', devTools: false, platform: 'linux' });
  const web = opts.webPreferences!;

  test('sandboxed, isolated, no Node, web security on', () => {
    assert.equal(web.sandbox, true);
    assert.equal(web.contextIsolation, true);
    assert.equal(web.nodeIntegration, false);
    assert.equal(web.nodeIntegrationInWorker, false);
    assert.equal(web.nodeIntegrationInSubFrames, false);
    assert.equal(web.webSecurity, true);
    assert.equal(web.allowRunningInsecureContent, false);
    assert.equal(web.experimentalFeatures, false);
    assert.equal(web.webviewTag, false);
    assert.equal(web.navigateOnDragDrop, false);
    assert.equal(web.preload, '/app/dist/electron/preload.cjs');
  });

  test('devtools follow the flag; the spellchecker only where it downloads nothing (macOS)', () => {
    assert.equal(web.devTools, false);
    assert.equal(W.windowOptions({ preload: '/p', devTools: true, platform: 'linux' }).webPreferences!.devTools, true);
    assert.equal(web.spellcheck, false);
    assert.equal(W.windowOptions({ preload: '/p', devTools: false, platform: 'win32' }).webPreferences!.spellcheck, false);
    assert.equal(W.windowOptions({ preload: '/p', devTools: false, platform: 'darwin' }).webPreferences!.spellcheck, true);
  });

  test('no URL, remote or otherwise, anywhere in the options; shown only when ready', () => {
    const text = JSON.stringify(opts);
    assert.doesNotMatch(text, /https?:|wss?:|file:|\/\/[a-z]/i);
    assert.equal(opts.show, false);
  });

  test('the page is our own app:// file, never file:// or http(s)', () => {
    assert.equal(W.RENDERER_URL, 'app://notes/index.html');
    assert.deepEqual(W.RENDERER_SCHEME_PRIVILEGES, { standard: true, secure: true, supportFetchAPI: true });
    // main.ts loads exactly RENDERER_URL, and nothing else.
    const main = readSource('app/electron/main.ts');
    assert.deepEqual([...main.matchAll(/\.(loadURL|loadFile)\(([^)]*)\)/g)].map((m) => `${m[1]}(${m[2]})`), ['loadURL(RENDERER_URL)']);
  });
});

function readSource(path: string): string {
  return readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
}

describe('Content-Security-Policy', () => {
  const directives = new Map(W.RENDERER_CSP.split(';').map((d: string) => d.trim()).filter(Boolean).map((d: string) => {
    const [name, ...values] = d.split(/\s+/);
    return [name, values] as const;
  }));

  test("default-src 'none': everything not listed is blocked (objects, frames, workers, media)", () => {
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    for (const d of ['object-src', 'frame-src', 'child-src', 'worker-src', 'media-src']) assert.ok(!directives.has(d), `${d} would loosen default-src`);
  });

  test("scripts only from our files: no inline, no eval, no hosts", () => {
    assert.deepEqual(directives.get('script-src'), ["'self'"]);
  });

  test('styles from our files only: no unsafe-inline (CodeMirror sits in a shadow root: constructed stylesheets)', () => {
    assert.deepEqual(directives.get('style-src'), ["'self'"]);
  });

  test('no source anywhere is a host, a scheme wildcard or unsafe', () => {
    for (const [name, values] of directives) {
      for (const v of values) {
        assert.ok(["'none'", "'self'", 'data:', 'blob:'].includes(v), `${name} allows ${v}`);
        if (v === 'data:' || v === 'blob:') assert.equal(name, 'img-src', `${name} allows ${v}`);
      }
    }
  });

  test('no base, no form targets, never framed', () => {
    assert.deepEqual(directives.get('base-uri'), ["'none'"]);
    assert.deepEqual(directives.get('form-action'), ["'none'"]);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  });
});

describe('page policies', () => {
  test('navigation only to our own page', () => {
    assert.equal(W.isAllowedNavigation('app://notes/index.html'), true);
    assert.equal(W.isAllowedNavigation('app://notes/index.html#/note/abc'), true);
    for (const url of ['https://example.com/', 'http://127.0.0.1:8080/', 'file:///etc/passwd', 'app://other/index.html', 'javascript:alert(1)', 'data:text/html,hi', 'about:blank', '']) {
      assert.equal(W.isAllowedNavigation(url), false, url);
    }
  });

  test('requests: only our files, data:/blob: and devtools; the network never', () => {
    for (const url of ['app://notes/assets/index-abc.js', 'data:image/png;base64,AAAA', 'blob:app://notes/1234', 'devtools://devtools/bundled/devtools_app.html']) {
      assert.equal(W.isAllowedRequest(url), true, url);
    }
    for (const url of ['https://fonts.googleapis.com/css', 'http://localhost:5173/', 'ws://127.0.0.1:1/', 'file:///home/me/.ssh/id_rsa', 'ftp://x/', 'app://evil/x.js', 'chrome://gpu']) {
      assert.equal(W.isAllowedRequest(url), false, url);
    }
  });

  test('permissions: denied, except clipboard writes from our own page', () => {
    for (const p of ['media', 'geolocation', 'notifications', 'midi', 'openExternal', 'clipboard-read', 'fullscreen', 'hid', 'serial', 'usb']) {
      assert.equal(W.isAllowedPermission(p, 'app://notes/index.html'), false, p);
    }
    assert.equal(W.isAllowedPermission('clipboard-sanitized-write', 'app://notes/index.html'), true);
    assert.equal(W.isAllowedPermission('clipboard-sanitized-write', 'app://notes'), true);
    assert.equal(W.isAllowedPermission('clipboard-sanitized-write', 'https://evil.example/'), false);
    assert.equal(W.isAllowedPermission('clipboard-sanitized-write', undefined), false);
  });
});

describe('app:// file server', () => {
  const root = join(dir, 'renderer');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><html><head>\n<title>LAN Notes</title></head></html>');
  writeFileSync(join(root, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'outside');
  const read = (file: string): Promise<Uint8Array> => readFile(file);

  test('serves files inside the renderer directory with their type and the CSP', async () => {
    const res = await P.serveRenderer(root, { url: 'app://notes/assets/app.js', method: 'GET' }, read);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(res.headers.get('content-security-policy'), W.RENDERER_CSP);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(await res.text(), 'console.log(1)');
    const index = await P.serveRenderer(root, { url: 'app://notes/', method: 'GET' }, read);
    assert.equal(index.status, 200);
    const html = await index.text();
    assert.match(html, /LAN Notes/);
    // The policy is also in the page itself, first thing in <head> (less frame-ancestors, header-only).
    assert.match(html, /^<!doctype html><html><head>\n {4}<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self'; [^"]*">\n/);
    assert.doesNotMatch(P.CSP_META, /frame-ancestors/);
    assert.equal(Number(index.headers.get('content-length')), Buffer.byteLength(html));
    const head = await P.serveRenderer(root, { url: 'app://notes/index.html', method: 'HEAD' }, read);
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  test('refuses anything outside it, dotfiles, other hosts and other methods', async () => {
    for (const url of ['app://notes/../secret.txt', 'app://notes/%2e%2e/secret.txt', 'app://notes/assets/..%2f..%2fsecret.txt', 'app://notes/%2e%2e%5csecret.txt',
      'app://notes/.env', 'app://notes/assets', 'app://notes/missing.js', 'app://other/index.html', 'app://notes/%E0%A4%A', 'app://notes/a%00b']) {
      const res = await P.serveRenderer(root, { url, method: 'GET' }, read);
      assert.equal(res.status, 404, url);
      assert.equal(res.headers.get('content-security-policy'), W.RENDERER_CSP);
    }
    const post = await P.serveRenderer(root, { url: 'app://notes/index.html', method: 'POST' }, read);
    assert.equal(post.status, 405);
  });
});

describe('closing the last window', () => {
  test('macOS keeps running (dock); Linux and Windows quit unless backgroundSync is set', () => {
    const off = L.DEFAULT_SETTINGS;
    const on = { backgroundSync: true };
    assert.equal(L.quitWhenAllWindowsClosed('darwin', off), false);
    assert.equal(L.quitWhenAllWindowsClosed('darwin', on), false);
    assert.equal(L.quitWhenAllWindowsClosed('linux', off), true);
    assert.equal(L.quitWhenAllWindowsClosed('win32', off), true);
    assert.equal(L.quitWhenAllWindowsClosed('linux', on), false);
    assert.equal(L.quitWhenAllWindowsClosed('win32', on), false);
  });

  test('settings.json: missing or broken means the defaults, with a reason', () => {
    assert.deepEqual(L.parseSettings(null), { settings: { backgroundSync: false } });
    assert.deepEqual(L.parseSettings('{"backgroundSync": true}'), { settings: { backgroundSync: true } });
    for (const bad of ['{', '[]', 'null', '{"backgroundSync": "yes"}']) {
      const r = L.parseSettings(bad);
      assert.deepEqual(r.settings, { backgroundSync: false }, bad);
      assert.match(r.problem ?? '', /settings\.json/, bad);
    }
  });

  test("the headless fallback finds the desktop app's data folder", () => {
    assert.equal(L.desktopUserDataDir('linux', {}, '/home/me'), '/home/me/.config/LAN Notes');
    assert.equal(L.desktopUserDataDir('linux', { XDG_CONFIG_HOME: '/xdg' }, '/home/me'), '/xdg/LAN Notes');
    assert.equal(L.desktopUserDataDir('darwin', {}, '/Users/me'), '/Users/me/Library/Application Support/LAN Notes');
    assert.match(L.desktopUserDataDir('win32', { APPDATA: 'C:\\Users\\me\\AppData\\Roaming' }, 'C:\\Users\\me'), /Roaming.LAN Notes$/);
    assert.equal(L.notesDataDir('/home/me/.config/LAN Notes'), join('/home/me/.config/LAN Notes', 'notes'));
    // Electron names the userData folder after package.json's productName.
    const pkg = JSON.parse(readSource('package.json')) as { productName?: string };
    assert.equal(pkg.productName, L.PRODUCT_NAME);
  });
});
