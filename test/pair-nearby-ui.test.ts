// "Pair nearby" through the UI, in real Chromium: each headless peer and the Chromium showing its
// UI run together inside one of two network namespaces this test creates (mDNS stays inside them).
// The new device picks the inviting one by name, both screens show the same code, the user
// confirms on the inviting device, and the new device joins and shows the vault's notes. Needs
// root and the built UI; skipped without root.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Note, SyncState } from '../app/api.ts';
import { requireBuiltUi, untilText } from './browser.ts';
import { browserIn } from './netns-browser.ts';
import { apiIn, startPeerIn, NamespaceLab } from './netns.ts';
import { removeTempDirs, tempDir, waitFor } from './peer-process.ts';

process.env.NOTES_LOG ??= 'error';
const isRoot = process.getuid?.() === 0;

describe('pair nearby in the UI', { timeout: 150_000 }, () => {
  test('join a device nearby by name, compare the codes, confirm, and the notes arrive', { skip: isRoot ? false : 'creating network namespaces needs root' }, async () => {
    requireBuiltUi();
    const lab = new NamespaceLab();
    const procs = lab.procs;
    const browsers: Browser[] = [];
    try {
      const nets = lab.link('pairui');
      const { a, b } = nets;
      const start = async (ns: string, addr: string, label: string) => {
        const p = await startPeerIn(ns, ['--data', tempDir(label), '--bind', addr, '--port', '0', '--http', '127.0.0.1:0', '--ae-interval', '500']);
        procs.push(p);
        const api = apiIn(ns, p);
        procs.push(api);
        return { p, api };
      };
      const [A, N] = await Promise.all([start(a.ns, a.addr, 'pairui-a'), start(b.ns, b.addr, 'pairui-n')]);
      await A.api.call('renameDevice', 'Study desktop');
      await N.api.call('renameDevice', 'New laptop');
      const note = await A.api.call<Note>('createNote', { title: 'Paired without typing', body: 'hello' });
      const [ba, bn] = await Promise.all([browserIn(a.ns), browserIn(b.ns)]);
      browsers.push(ba, bn);
      const open = async (br: Browser, url: string): Promise<Page> => {
        const pg = await (await br.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
        pg.setDefaultTimeout(15_000);
        await pg.goto(url);
        await pg.getByTestId('nav-pairing').click();
        return pg;
      };
      const [pa, pn] = await Promise.all([open(ba, A.p.info.ui!), open(bn, N.p.info.ui!)]);

      await pa.getByTestId('nearby-invite').click();
      await pn.getByTestId('nearby-join').click();
      const listed = pn.locator(`[data-testid=nearby-device][data-peer-id="${A.p.info.peerId}"]`);
      await untilText('A listed by name on N', listed, 'Study desktop', 30_000);
      await listed.getByRole('button', { name: 'Join' }).click();
      const codeOnN = (await pn.getByTestId('nearby-code').innerText()).trim();
      const request = pa.locator(`[data-testid=nearby-request][data-peer-id="${N.p.info.peerId}"]`);
      await untilText('N\'s request on A', request, 'New laptop wants to join', 30_000);
      assert.match(codeOnN, /^\d{3} \d{3}$/);
      assert.equal((await request.getByTestId('nearby-code').innerText()).trim(), codeOnN, 'the same code on both screens');
      await request.getByTestId('nearby-confirm').click();

      await untilText('N says it joined', pn.getByTestId('nearby-outgoing'), 'Paired with Study desktop', 30_000);
      assert.equal((await N.api.call<SyncState>('syncState')).vaultId, A.p.info.vault);
      await waitFor('A\'s note on N', async () => (await N.api.call<Note>('getNote', note.id).catch(() => undefined))?.body === 'hello', 30_000);
      await pn.getByTestId('nav-notes').click();
      await untilText('the note in N\'s list', pn.locator('body'), 'Paired without typing', 30_000);
      await pa.getByTestId('nav-pairing').click();
      await untilText('A lists N by name as a device', pa.locator(`[data-testid=device-row][data-peer-id="${N.p.info.peerId}"]`), 'New laptop', 30_000);
    } finally {
      await Promise.all(browsers.map((br) => br.close().catch(() => undefined)));
      await lab.close();
      removeTempDirs();
    }
  });
});
