// The notes list with a large vault, in a real Chromium against two paired headless peers (real
// libp2p over TCP on 127.0.0.1, real SQLite files). Both stores are seeded with the same 5,000
// notes through the store (bench/dataset.ts writeSeedNotes), so they start in sync and nothing
// but the test's own writes moves between them. What is checked is what the user sees, plus the
// requests the page makes: the list never asks for every note, and a change on the other peer is
// fetched by id, not by reloading the list.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { seedNoteId, writeSeedNotes } from '../bench/dataset.ts';
import { launchBrowser, openUi, requireBuiltUi, until, untilSaved, untilText, type UiPage } from './browser.ts';
import { removeTempDirs, startPeer, tempDir, waitFor, type PeerProcess } from './peer-process.ts';

const NOTES = 5000;
/** What "only the visible rows" allows the whole page: list, editor, top bar, everything. */
const MAX_DOM_NODES = 3000;
/** Rows in the DOM: a screenful plus the overscan above and below. */
const MAX_ROWS_IN_DOM = 60;

const newest = seedNoteId(NOTES - 1);
const oldest = seedNoteId(0);

/** Elements in the page, shadow roots included (the editor lives in one). Text, run in the page. */
const COUNT_NODES = `(() => {
  let n = 0;
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      n++;
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  return n;
})()`;

describe('a 5,000-note vault in the UI', { timeout: 300_000 }, () => {
  let a: PeerProcess;
  let b: PeerProcess;
  let browser: Browser;
  let ui: UiPage;
  let page: Page;
  /** Every API request the page made, as path + query, in order. */
  const requests: string[] = [];

  const domNodes = (): Promise<number> => page.evaluate(COUNT_NODES) as Promise<number>;
  const rowsInDom = (): Promise<number> => page.getByTestId('note-item').count();
  const row = (id: string) => page.locator(`[data-testid=note-item][data-note-id="${id}"]`);
  const list = () => page.getByTestId('notes-list');
  /** Requests that read a page of the list from its top (no cursor): a refetch of the list. */
  const topPageReads = (from: number): string[] => requests.slice(from).filter((r) => r.startsWith('/api/notes?') && !r.includes('cursor='));

  before(async () => {
    requireBuiltUi();
    const dirA = tempDir('scale-a');
    const dirB = tempDir('scale-b');
    writeSeedNotes(join(dirA, 'notes.db'), NOTES, { bodyChars: 300 });
    writeSeedNotes(join(dirB, 'notes.db'), NOTES, { bodyChars: 300 });
    a = await startPeer({ dataDir: dirA, aeIntervalMs: 2000 });
    b = await startPeer({ dataDir: dirB, aeIntervalMs: 2000, join: (await a.api.invite()).code });
    await waitFor('A and B connected', async () => (await a.api.syncState()).peers.some((p) => p.connected && p.id === b.info.peerId));
    browser = await launchBrowser();
    ui = await openUi(browser, a.info.ui!);
    page = ui.page;
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/api/')) requests.push(u.pathname + u.search);
    });
    // Again with the listener on, so the start's requests are seen too.
    await page.reload();
    await page.locator('.app').waitFor();
  });

  after(async () => {
    await browser?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    removeTempDirs();
  });

  test('the list shows the newest notes; only a screenful of rows is in the DOM; no request asks for every note', async () => {
    await untilText('the newest note at the top', row(newest).getByTestId('note-item-title'), `Seed note ${NOTES - 1}`);
    assert.equal(await row(newest).getAttribute('data-index'), '0');
    const rows = await rowsInDom();
    assert.ok(rows > 5 && rows <= MAX_ROWS_IN_DOM, `${rows} rows in the DOM`);
    const nodes = await domNodes();
    assert.ok(nodes <= MAX_DOM_NODES, `${nodes} DOM nodes`);
    assert.equal(await list().getAttribute('data-more'), 'true', 'more pages wait on the host');
    assert.equal(Number(await list().getAttribute('data-rows')), 200, 'one page loaded');
    const listReads = requests.filter((r) => /^\/api\/notes(\?|$)/.test(r));
    assert.ok(listReads.length > 0, 'fixture: the start was seen');
    for (const r of listReads) assert.match(r, /[?&]limit=200(&|$)/, `every list read is one page: ${r}`);
  });

  test('a note created on the paired peer appears at the top, fetched by id without a list refetch', async () => {
    const mark = requests.length;
    const created = await b.api.createNote({ title: 'Written on B', body: 'arrives by gossip' });
    await untilText('the note from B in A\'s list', row(created.id).getByTestId('note-item-title'), 'Written on B');
    assert.equal(await row(created.id).getAttribute('data-index'), '0', 'at the top');
    assert.equal(await row(newest).getAttribute('data-index'), '1', 'the rest moved down by one');
    assert.deepEqual(topPageReads(mark), [], 'the list was not refetched');
    const byId = requests.slice(mark).filter((r) => r.startsWith('/api/notes/summaries?'));
    assert.ok(byId.some((r) => r.includes(created.id)), `summaries asked for the note: ${JSON.stringify(requests.slice(mark))}`);
    assert.ok(requests.slice(mark).every((r) => !/^\/api\/notes(\?|$)/.test(r) || r.includes('cursor=')), 'no whole-list request');
  });

  test('Alt+Down steps from the last loaded row onto the next page', async () => {
    await row(newest).click();
    await list().focus();
    // Counted before End: the selection reaching the end may start loading the next page at once.
    const loaded = Number(await list().getAttribute('data-rows'));
    await page.keyboard.press('End');
    const lastId = await page.locator('[data-testid=note-item][aria-selected=true]').getAttribute('data-note-id');
    const lastIndex = Number(await row(lastId!).getAttribute('data-index'));
    assert.equal(lastIndex, loaded - 1, 'End selected the last loaded row');
    const mark = requests.length;
    await page.keyboard.press('Alt+ArrowDown');
    const next = await until('the selection to move past the loaded rows', async () => {
      const id = await page.locator('[data-testid=note-item][aria-selected=true]').getAttribute('data-note-id');
      return id !== lastId ? id : undefined;
    });
    assert.equal(await row(next!).getAttribute('data-index'), String(lastIndex + 1));
    assert.ok(requests.slice(mark).some((r) => r.includes('cursor=')) || Number(await list().getAttribute('data-rows')) > loaded, 'the next page was loaded');
    const title = await row(next!).getByTestId('note-item-title').innerText();
    await until('the editor on the stepped-to note', async () => (await page.getByTestId('title-input').inputValue()) === title);
  });

  test('scrolling to the end reaches the oldest note, with the DOM still bounded', async () => {
    await until('the end of the list', async () => {
      await list().evaluate((el) => {
        el.scrollTop = el.scrollHeight;
      });
      return (await list().getAttribute('data-more')) === 'false' && (await row(oldest).count()) === 1;
    }, 120_000, 100);
    await untilText('the oldest note on screen', row(oldest).getByTestId('note-item-title'), 'Seed note 0');
    assert.equal(Number(await list().getAttribute('data-rows')), NOTES + 1, 'every note once, plus the one from B');
    const rows = await rowsInDom();
    assert.ok(rows <= MAX_ROWS_IN_DOM, `${rows} rows in the DOM at the end`);
    const nodes = await domNodes();
    assert.ok(nodes <= MAX_DOM_NODES, `${nodes} DOM nodes at the end`);
    assert.ok(await row(oldest).isVisible());
  });

  test('selecting and editing the oldest note: it saves and moves to the top', async () => {
    await row(oldest).click();
    await until('the editor on the oldest note', async () => (await page.getByTestId('title-input').inputValue()) === 'Seed note 0');
    await page.getByTestId('editor-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(' edited in the big list');
    await untilSaved(page);
    await waitFor('the edit on the host', async () => (await a.api.getNote(oldest)).body.endsWith(' edited in the big list'));
    await until('the edited note at the top', async () => (await row(oldest).getAttribute('data-index')) === '0');
    assert.equal(await page.locator('[data-testid=note-item][aria-selected=true]').getAttribute('data-note-id'), oldest, 'still selected');
    await waitFor('the edit on B', async () => (await b.api.getNote(oldest)).body.endsWith(' edited in the big list'));
  });

  test('search results are paged the same way', async () => {
    const mark = requests.length;
    await page.getByTestId('search-input').fill('walrus');
    await untilText('the first page of hits', page.getByTestId('search-count'), '200+ matches');
    assert.ok((await rowsInDom()) <= MAX_ROWS_IN_DOM);
    await until('a second page of hits', async () => {
      await list().evaluate((el) => {
        el.scrollTop = el.scrollHeight;
      });
      return (await page.getByTestId('search-count').innerText()).startsWith('400');
    });
    const searches = requests.slice(mark).filter((r) => r.startsWith('/api/search?'));
    assert.ok(searches.every((r) => r.includes('limit=200')), JSON.stringify(searches));
    assert.ok(searches.some((r) => r.includes('cursor=')));
    await page.getByTestId('search-input').press('Escape');
  });

  test('the page stayed on 127.0.0.1 and threw no error', () => {
    assert.deepEqual(ui.problems, []);
    assert.deepEqual(ui.offLoopback, []);
  });
});
