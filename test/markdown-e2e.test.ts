// Markdown import and export through the UI, in a real Chromium against a headless peer (its own
// process, real SQLite file, the built UI): a folder picked in the directory input is imported with
// its report on screen, and "Export as Markdown…" downloads a .zip whose files are exactly the
// host's export.

import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unzipSync, strFromU8 } from 'fflate';
import type { Browser } from 'playwright-core';
import { MAX_VALUE_BYTES } from '../engine/core/limits.ts';
import { launchBrowser, openUi, requireBuiltUi, untilText, type UiPage } from './browser.ts';
import { removeTempDirs, startPeer, tempDir, type PeerProcess } from './peer-process.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'obsidian-vault');

let browser: Browser | null = null;
let peer: PeerProcess | null = null;
let ui: UiPage | null = null;

before(async () => {
  requireBuiltUi();
  [browser, peer] = await Promise.all([launchBrowser(), startPeer()]);
  if (!peer.info.ui) throw new Error('the peer serves no UI: run npm run build:ui');
  ui = await openUi(browser, peer.info.ui);
});

after(async () => {
  await ui?.context.close().catch(() => {});
  await browser?.close().catch(() => {});
  await peer?.stop();
  removeTempDirs();
});

describe('Markdown in the UI', { timeout: 120_000 }, () => {
  test('import a picked folder, see the report; export downloads a zip of the same files', async () => {
    const page = ui!.page;
    const dir = join(tempDir('md-ui'), 'Obsidian');
    cpSync(FIXTURE, dir, { recursive: true });
    writeFileSync(join(dir, 'Huge.md'), 'z'.repeat(MAX_VALUE_BYTES + 200 * 1024));

    await page.getByTestId('import-input').setInputFiles(dir);
    const summary = await untilText('the import report', page.getByTestId('import-summary'), 'Imported 7 new');
    assert.match(summary, /Imported 7 new, 0 updated, 0 unchanged; 2 skipped\./);
    const skipped = await page.getByTestId('import-skipped').innerText();
    assert.match(skipped, /Huge\.md: .*bytes; a note holds at most/);
    assert.match(skipped, /Journal\/Latin1\.md: not UTF-8/);
    await page.getByTestId('import-report-close').click();
    await untilText('the imported note in the list', page.getByTestId('notes-list'), 'Café au lait ☕');

    const notes = await peer!.api.listNotes();
    assert.equal(notes.length, 6);
    const cafe = await peer!.api.getNote(notes.find((n) => n.title === 'Café au lait ☕')!.id);
    assert.equal(cafe.folder, 'Journal/Été');

    // Picking the same folder again adds nothing.
    await page.getByTestId('import-input').setInputFiles(dir);
    await untilText('the second import report', page.getByTestId('import-summary'), '7 unchanged');
    await page.getByTestId('import-report-close').click();
    assert.equal((await peer!.api.listNotes()).length, 6);

    await page.getByTestId('export-trash').check();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-markdown').click()]);
    assert.match(download.suggestedFilename(), /^LAN Notes \d{4}-\d{2}-\d{2}\.zip$/);
    const zip = unzipSync(new Uint8Array(readFileSync(await download.path())));
    const expected = await peer!.api.exportMarkdown({ trash: true });
    assert.deepEqual(Object.keys(zip).sort(), expected.map((f) => f.path).sort());
    for (const f of expected) assert.equal(strFromU8(zip[f.path]), f.text, f.path);
    assert.ok('Journal/Été/Café au lait ☕.md' in zip);
    assert.ok('.trash/Old idea.md' in zip);
    assert.deepEqual(ui!.problems, []);
    assert.deepEqual(ui!.offLoopback, []);
  });
});
