// Issue 8 in a real Chromium against two headless peers (real libp2p on loopback, real SQLite):
// typing on A while B edits another paragraph of the same note ends with both edits on both
// screens, A's cursor where it was and no conflict banner; the History view restores an old
// version, the restore reaches B, and the history is still there after A restarts. Screenshots go
// to screenshots/e2e/ (git-ignored); the README's come from test/screens.ts.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openUi, requireBuiltUi, until, untilSaved, type UiPage } from './browser.ts';
import { removeTempDirs, startPeer, waitFor, type PeerOptions, type PeerProcess } from './peer-process.ts';

const SHOTS = new URL('../screenshots/e2e/', import.meta.url).pathname;

const peers: PeerProcess[] = [];
const pages: UiPage[] = [];
let browser: Browser | null = null;

async function peer(o: PeerOptions = {}): Promise<PeerProcess> {
  const p = await startPeer(o);
  peers.push(p);
  if (!p.info.ui) throw new Error('the peer serves no UI: run npm run build first');
  return p;
}

async function ui(p: PeerProcess): Promise<Page> {
  const u = await openUi(browser!, p.info.ui!);
  pages.push(u);
  return u.page;
}

const editorText = (page: Page) => page.getByTestId('editor-content');

async function openNote(page: Page, id: string): Promise<void> {
  await page.getByTestId('nav-notes').click();
  await page.locator(`[data-testid=note-item][data-note-id="${id}"]`).click();
  await editorText(page).waitFor();
}

/** The editor's text with CodeMirror's lines joined by newlines. */
async function editorValue(page: Page): Promise<string> {
  // An empty line is a .cm-line holding only a <br>: its text is empty.
  return (await editorText(page).locator('.cm-line').evaluateAll((els) => els.map((e) => e.textContent ?? ''))).join('\n');
}

let a: PeerProcess;
let b: PeerProcess;

describe('merging in the editor, and the History view', { timeout: 120_000 }, () => {
  before(async () => {
    requireBuiltUi();
    mkdirSync(SHOTS, { recursive: true });
    const [pa, br] = await Promise.all([peer({ aeIntervalMs: 2_000 }), launchBrowser()]);
    a = pa;
    browser = br;
    const { code } = await a.api.invite();
    b = await peer({ join: code, aeIntervalMs: 2_000 });
    await waitFor('A and B connected', async () => (await a.api.syncState()).peers.some((p) => p.connected));
    await waitFor('B subscribed to the vault topic', async () => (await a.api.syncState()).gossip.topicPeers >= 1);
  });

  after(async () => {
    await Promise.all(pages.map((p) => p.context.close().catch(() => {})));
    await browser?.close().catch(() => {});
    await Promise.all(peers.map((p) => p.stop()));
    removeTempDirs();
  });

  test('typing on A while B edits another paragraph: both edits on both screens, cursor kept, no conflict', async () => {
    const start = 'Packing list\n\nFirst paragraph: tent and stove.\n\nSecond paragraph: maps.\n\nThird paragraph: food for three days.';
    const note = await a.api.createNote({ title: 'Trip', body: start });
    await waitFor('the note on B', async () => (await b.api.getNote(note.id).catch(() => undefined))?.body === start);
    const [pa, pb] = await Promise.all([ui(a), ui(b)]);
    await Promise.all([openNote(pa, note.id), openNote(pb, note.id)]);
    await until('A shows the note', async () => (await editorValue(pa)) === start);

    // Cursor at the end of A's first paragraph.
    await pa.locator('.cm-line', { hasText: 'First paragraph' }).click();
    await pa.keyboard.press('End');
    const typedByA = ' Also a lamp';
    await pa.keyboard.type(typedByA.slice(0, 6), { delay: 30 });
    // B edits the third paragraph (through its own host, as its editor would) while A types on.
    const onB = await b.api.getNote(note.id);
    const bSaves = b.api.saveNote(note.id, { body: onB.body.replace('food for three days.', 'food for four days.'), base: onB.rev });
    await pa.keyboard.type(typedByA.slice(6), { delay: 30 });
    await bSaves;

    const want = start.replace('tent and stove.', `tent and stove.${typedByA}`).replace('food for three days.', 'food for four days.');
    await until('A\'s editor shows both edits', async () => (await editorValue(pa)) === want, 20_000).catch(async (e) => {
      throw new Error(`${(e as Error).message}\neditor: ${JSON.stringify(await editorValue(pa))}\nhost A: ${JSON.stringify((await a.api.getNote(note.id)).body)}\nwant: ${JSON.stringify(want)}`);
    });
    // The cursor stayed right after what A typed: the next key lands there.
    await pa.keyboard.type('!');
    const withMark = want.replace(typedByA, `${typedByA}!`);
    await until('the next key lands where A\'s cursor was', async () => (await editorValue(pa)) === withMark);
    await untilSaved(pa);
    await until('B\'s editor shows both edits', async () => (await editorValue(pb)) === withMark, 20_000);
    for (const p of [a, b]) {
      const got = await waitFor('both hosts hold the merged text', async () => {
        const n = await p.api.getNote(note.id);
        return n.body === withMark ? n : undefined;
      });
      assert.deepEqual(got.conflicts, {}, 'no conflict on the host');
    }
    assert.equal(await pa.getByTestId('conflict-banner').count(), 0, 'no conflict banner on A');
    assert.equal(await pb.getByTestId('conflict-banner').count(), 0, 'no conflict banner on B');
  });

  test('History: restore an old version on A, it reaches B, and A\'s history survives a restart', async () => {
    const note = await a.api.createNote({ title: 'Recipe', body: 'Flour 500 g\nWater 300 g' });
    await a.api.saveNote(note.id, { body: 'Flour 500 g\nWater 350 g', base: note.rev });
    const latest = await a.api.getNote(note.id);
    await a.api.saveNote(note.id, { body: 'Flour 450 g\nWater 350 g\nSalt 10 g', base: latest.rev });
    await waitFor('the latest text on B', async () => (await b.api.getNote(note.id).catch(() => undefined))?.body === 'Flour 450 g\nWater 350 g\nSalt 10 g');

    const pa = await ui(a);
    await openNote(pa, note.id);
    await pa.getByTestId('history-button').click();
    await pa.getByTestId('history-view').waitFor();
    const entries = pa.getByTestId('history-entry');
    await until('two body versions listed', async () => (await entries.count()) === 2);
    const oldest = entries.filter({ hasText: 'Flour 500 g' }).last();
    await oldest.click();
    const diff = await pa.getByTestId('history-diff').innerText();
    assert.match(diff, /− Water 300 g/, 'the old line is marked');
    assert.match(diff, /\+ Salt 10 g/, 'the current line is marked');
    await pa.screenshot({ path: `${SHOTS}history-view.png` });
    await pa.getByTestId('restore-version').click();
    await until('the restored text in A\'s editor', async () => (await editorValue(pa)) === 'Flour 500 g\nWater 300 g');
    await untilSaved(pa);
    await waitFor('the restore reached B', async () => (await b.api.getNote(note.id)).body === 'Flour 500 g\nWater 300 g');

    await a.stop();
    const again = await peer({ dataDir: a.dataDir, peers: [b.info.addresses[0]] });
    const pa2 = await ui(again);
    await openNote(pa2, note.id);
    await pa2.getByTestId('history-button').click();
    await until('the history after the restart', async () => (await pa2.getByTestId('history-entry').count()) >= 3);
    const texts = await pa2.getByTestId('history-entry').allInnerTexts();
    assert.ok(texts.some((t) => t.includes('Flour 450 g')), `the superseded latest version is listed: ${JSON.stringify(texts)}`);
  });
});
