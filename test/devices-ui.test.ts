// Device names and the LAN doctor in the UI (issue 9), in a real Chromium against two headless
// peers (real libp2p on 127.0.0.1, mDNS off, real SQLite): A is renamed through its Devices view
// and B shows the name, with the peer id in the tooltip, in its devices list and debug panel;
// when A goes away B says why. Screenshots go to screenshots/e2e/ (git-ignored).

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openUi, requireBuiltUi, until, untilText, type UiPage } from './browser.ts';
import { removeTempDirs, startPeer, waitFor, type PeerProcess } from './peer-process.ts';

const SHOTS = new URL('../screenshots/e2e/', import.meta.url).pathname;
let browser: Browser | null = null;
const pages: UiPage[] = [];
const peers: PeerProcess[] = [];
let a: PeerProcess;
let b: PeerProcess;
let pageOfB: Page | null = null;

async function ui(p: PeerProcess): Promise<Page> {
  if (!p.info.ui) throw new Error('the peer serves no UI: run npm run build:ui');
  const u = await openUi(browser!, p.info.ui);
  pages.push(u);
  return u.page;
}

describe('device names and the doctor in the UI', { timeout: 110_000 }, () => {
  before(async () => {
    requireBuiltUi();
    mkdirSync(SHOTS, { recursive: true });
    a = await startPeer({ port: 0 });
    peers.push(a);
    b = await startPeer({ port: 0, join: (await a.api.invite()).code });
    peers.push(b);
    browser = await launchBrowser();
    await waitFor('A and B connected', async () => (await b.api.syncState()).peers.some((p) => p.id === a.info.peerId && p.connected));
  });

  after(async () => {
    await Promise.all(pages.map((p) => p.context.close().catch(() => {})));
    await browser?.close().catch(() => {});
    await Promise.all(peers.map((p) => p.stop()));
    removeTempDirs();
  });

  test('renamed on A through the UI, the name shows on B (devices list and debug panel, peer id in the tooltip)', async () => {
    const [pa, pb] = await Promise.all([ui(a), ui(b)]);
    pageOfB = pb;
    await pa.getByTestId('nav-pairing').click();
    await pa.getByTestId('rename-device').click();
    await pa.getByTestId('device-name-input').fill('');
    await pa.getByTestId('device-name-save').click();
    await untilText('the refusal of an empty name', pa.getByTestId('device-name-error'), 'empty');
    await pa.getByTestId('device-name-input').fill('Study desktop');
    await pa.getByTestId('device-name-save').click();
    await untilText('A shows its new name', pa.getByTestId('this-device-name'), 'Study desktop');
    assert.equal(await pa.getByTestId('this-device-name').getAttribute('title'), a.info.peerId);

    await pb.getByTestId('nav-pairing').click();
    const nameOfA = pb.locator(`[data-testid=device-row][data-peer-id="${a.info.peerId}"] [data-testid=device-name]`);
    await untilText('B lists A by its new name', nameOfA, 'Study desktop');
    assert.equal(await nameOfA.getAttribute('title'), a.info.peerId, 'the peer id is in the tooltip');
    await pb.screenshot({ path: `${SHOTS}devices-list.png` });

    await pb.getByTestId('nav-debug').click();
    const debugName = pb.locator(`[data-testid=debug-peer-row][data-peer-id="${a.info.peerId}"] [data-testid=debug-peer-name]`);
    await untilText('B\'s debug panel names A', debugName, 'Study desktop');
    assert.equal(await debugName.getAttribute('title'), a.info.peerId);
    assert.equal((await pb.getByTestId('debug-mdns').innerText()).trim(), 'off');
  });

  test('A goes away: B\'s devices list and debug panel say why, in words', async () => {
    const pb = pageOfB!;
    const port = (await a.api.syncState()).network.port;
    await a.stop();
    const problem = pb.locator(`[data-testid=debug-peer-row][data-peer-id="${a.info.peerId}"] [data-testid=debug-peer-problem]`);
    await until('B\'s debug panel shows why A is not connected', async () => (await problem.getAttribute('data-code')) === 'dial-refused', 30_000);
    assert.match(await problem.innerText(), /refused/i);
    await pb.screenshot({ path: `${SHOTS}debug-doctor.png`, fullPage: true });
    await pb.getByTestId('nav-pairing').click();
    const row = pb.locator(`[data-testid=device-row][data-peer-id="${a.info.peerId}"]`);
    await untilText('B\'s devices list says A is offline and why', row.getByTestId('device-problem'), 'refused');
    assert.ok((await row.innerText()).includes(`/tcp/${port}`), 'the remembered address is listed');
  });

  test('forgetting A through the UI warns, changes the vault key and removes A from the list', async () => {
    const pb = pageOfB!;
    const before = (await b.api.syncState()).vaultId;
    const row = pb.locator(`[data-testid=device-row][data-peer-id="${a.info.peerId}"]`);
    await row.getByTestId('forget-device').click();
    await untilText('the warning', pb.getByTestId('forget-warning'), 'changes the vault key');
    await row.getByTestId('forget-confirm').click();
    const result = await untilText('the forget result', pb.getByTestId('forget-result'), 'Forgot Study desktop');
    const after = (await b.api.syncState()).vaultId;
    assert.notEqual(after, before);
    assert.ok(result.includes(after), result);
    await until('A is no longer listed', async () => (await row.count()) === 0);
  });
});
