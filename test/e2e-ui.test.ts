// The UI end to end in a real Chromium (playwright-core) against headless peers running as
// separate processes: real libp2p over TCP on 127.0.0.1 (mDNS off), a real SQLite file each, the
// built UI (dist/renderer) served by each peer. Every check is on what the user sees.
//
// Two pairs of peers, started side by side:
// - A1/B1 sync as usual (gossip on): pairing through the UI, a note typed on A1 showing up on B1,
//   search on B1, the debug panel on A1.
// - A2/B2 have sync paused (--no-gossip and a long anti-entropy period): only the debug panel's
//   "Sync now" moves data, so both can edit one note "offline" and make a conflict; A2 also
//   hosts the reload-mid-typing check.
// Screenshots of each screen go to screenshots/e2e/ (git-ignored).

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page, Route } from 'playwright-core';
import { launchBrowser, openUi, requireBuiltUi, typeNewNote, until, untilSaved, untilText, type UiPage } from './browser.ts';
import { removeTempDirs, startPeer, type PeerOptions, type PeerProcess } from './peer-process.ts';

const SHOTS = new URL('../screenshots/e2e/', import.meta.url).pathname;
const PAUSED: PeerOptions = { gossip: false, aeIntervalMs: 600_000 };

const peers: PeerProcess[] = [];
const pages: UiPage[] = [];
let browser: Browser | null = null;

async function peer(o: PeerOptions = {}): Promise<PeerProcess> {
  const p = await startPeer(o);
  peers.push(p);
  if (!p.info.ui) throw new Error(`the peer serves no UI (its start line has no "ui"): is dist/renderer built? Run npm run build:ui`);
  return p;
}

async function ui(p: PeerProcess): Promise<Page> {
  const u = await openUi(browser!, p.info.ui!);
  pages.push(u);
  return u.page;
}

/** A screenshot into screenshots/e2e/; `height` to show a panel that scrolls inside the app's frame. */
async function shot(page: Page, name: string, height?: number): Promise<void> {
  const size = page.viewportSize();
  if (height && size) await page.setViewportSize({ width: size.width, height });
  await page.screenshot({ path: `${SHOTS}${name}.png` });
  if (height && size) await page.setViewportSize(size);
}

async function bodyOn(p: PeerProcess, id: string): Promise<string | undefined> {
  return (await p.api.getNote(id).catch(() => undefined))?.body;
}

/** The note's body as the editor shows it (CodeMirror's contenteditable, in a shadow root). */
const editorText = (page: Page) => page.getByTestId('editor-content');

/** A device or peer row whose state reads "connected" (not "disconnected" or "offline"). */
async function isConnected(row: Locator): Promise<boolean> {
  return (await row.innerText({ timeout: 1_000 })).split(/\s+/).includes('connected');
}

/**
 * Clicks the debug panel's "Sync now" and waits for its result line: one session with the one
 * peer, which must have succeeded when `strict` (peers with sync paused: nothing else runs a
 * session at that moment, so nothing can make it fail as busy).
 */
async function syncNowThroughUi(page: Page, strict = true): Promise<string> {
  await page.getByTestId('nav-debug').click();
  await page.getByTestId('sync-now').click();
  const text = await untilText('the Sync now result', page.getByTestId('sync-now-result'), 'session');
  assert.match(text, strict ? /^1 session: \d+ records received, \d+ sent\.$/ : /^1 session: /, `Sync now: ${text}`);
  return text;
}

let a1: PeerProcess;
let b1: PeerProcess;
let a2: PeerProcess;
let b2: PeerProcess;
let pa1: Page;
let pb1: Page;
let pa2: Page;

describe('the UI in Chromium against two headless peers', { timeout: 110_000 }, () => {
  before(async () => {
    requireBuiltUi();
    mkdirSync(SHOTS, { recursive: true });
    // All at once; wait for every start to settle (so after() can stop whatever did start) before failing.
    const settled = await Promise.allSettled([
      peer({ aeIntervalMs: 10_000 }).then((p) => (a1 = p)),
      peer({ aeIntervalMs: 10_000 }).then((p) => (b1 = p)),
      (async () => {
        a2 = await peer(PAUSED);
        const { code } = await a2.api.invite();
        b2 = await peer({ ...PAUSED, join: code });
      })(),
      launchBrowser().then((b) => (browser = b)),
    ]);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  });

  after(async () => {
    await Promise.all(pages.map((p) => p.context.close().catch(() => {})));
    await browser?.close().catch(() => {});
    await Promise.all(peers.map((p) => p.stop()));
    removeTempDirs();
  });

  test('1. pairing through the UI: B enters the invite code A shows, and lists A as a device', async () => {
    [pa1, pb1] = await Promise.all([ui(a1), ui(b1)]);
    await pa1.getByTestId('nav-pairing').click();
    const code = (await pa1.getByTestId('invite-code').innerText()).trim();
    assert.match(code, /^[0-9A-Z]{5}(-[0-9A-Z]{1,5})+$/, 'an invite code in groups of five');

    await pb1.getByTestId('nav-pairing').click();
    await pb1.getByTestId('devices-empty').waitFor();
    await pb1.getByTestId('join-input').fill(code);
    await pb1.getByTestId('join-button').click();
    const joined = await untilText('the join result', pb1.getByTestId('join-result'), 'Joined vault', 25_000);
    assert.ok(joined.includes(a1.info.vault), `joined A's vault ${a1.info.vault}: ${joined}`);
    assert.equal(await pb1.getByTestId('join-error').count(), 0);

    const rowOfA = pb1.locator(`[data-testid=device-row][data-peer-id="${a1.info.peerId}"]`);
    await until('A listed as a connected device on B', () => isConnected(rowOfA));
    await until('B listed as a connected device on A', () => isConnected(pa1.locator(`[data-testid=device-row][data-peer-id="${b1.info.peerId}"]`)));
    await until('the top bar on B to say one device is connected', async () => (await pb1.getByTestId('sync-status').innerText()).includes('1 device connected'));
    await shot(pb1, 'pairing');
  });

  test('2. a note typed on A appears on B, list and body, without reloading B', async () => {
    // A mark in B's document: still there at the end means B was never reloaded.
    await pb1.evaluate(() => ((globalThis as { e2eSamePage?: boolean }).e2eSamePage = true));
    await pb1.getByTestId('nav-notes').click();

    const title = 'Sourdough starter';
    const body = 'Feed the levain at 9pm: 50 g rye flour, 50 g water.';
    await typeNewNote(pa1, title, body);
    const onA = await until('the note on A\'s host', async () => (await a1.api.listNotes()).find((n) => n.title === title));
    await until('its whole body on A\'s host', async () => (await bodyOn(a1, onA.id)) === body);
    await untilSaved(pa1);

    const item = pb1.locator(`[data-testid=note-item][data-note-id="${onA.id}"]`);
    await untilText('the note in B\'s list', item.getByTestId('note-item-title'), title);
    // The badge says where the change came from (B has one device connected: A).
    const badge = item.locator('[data-testid=note-badge][data-badge=updated]');
    await badge.waitFor();
    assert.match(await badge.innerText(), /^Updated on /);
    await item.click();
    await untilText('the body in B\'s editor', editorText(pb1), body);
    assert.equal(await pb1.getByTestId('title-input').inputValue(), title);
    assert.equal(await pb1.evaluate(() => (globalThis as { e2eSamePage?: boolean }).e2eSamePage), true, 'B was never reloaded');
    await shot(pb1, 'notes-view');
  });

  test('3. search on B finds the note by a word of its body', async () => {
    // A second note, so that filtering shows.
    const other = await a1.api.createNote({ title: 'Groceries', body: 'apples, bread, coffee' });
    await pb1.locator(`[data-testid=note-item][data-note-id="${other.id}"]`).waitFor();
    assert.equal(await pb1.getByTestId('note-item').count(), 2);

    await pb1.getByTestId('search-input').click();
    await pb1.keyboard.type('levain');
    await untilText('the search count', pb1.getByTestId('search-count'), '1 match');
    const hits = pb1.getByTestId('note-item');
    await until('the list filtered to the one hit', async () => (await hits.count()) === 1);
    assert.equal(await hits.getByTestId('note-item-title').innerText(), 'Sourdough starter');
    assert.match(await hits.innerText(), /levain/i, 'the hit shows the matching words');
    await shot(pb1, 'search');

    await pb1.keyboard.press('Escape');
    await until('the full list back after Esc', async () => (await pb1.getByTestId('note-item').count()) === 2);
    assert.equal(await pb1.getByTestId('search-count').count(), 0);
  });

  // Scenario 5 runs before 4: it uses the first pair of peers, 4 and 6 the second.
  test('5. the debug panel on A shows a completed anti-entropy session and B among the peers', async () => {
    // Not strict: A1 and B1 also run sessions on their own timer, and one of those may be under way.
    await syncNowThroughUi(pa1, false);
    const rows = pa1.locator('[data-testid=session-row][data-ok=true]');
    await rows.first().waitFor();
    // Round trips and bytes out / in, as the table shows them.
    const cells = await Promise.all((await rows.all()).map((row) => row.locator('td').allInnerTexts()));
    const size = (s: string): number => {
      const m = /^([\d.]+) (B|KiB|MiB)$/.exec(s.trim());
      assert.ok(m, `a byte count: ${s}`);
      return Number(m[1]) * { B: 1, KiB: 1024, MiB: 1024 * 1024 }[m[2] as 'B'];
    };
    const complete = cells.filter((c) => {
      const [out, inn] = c[5].split(' / ');
      return Number(c[4]) >= 1 && size(out) > 0 && size(inn) > 0;
    });
    assert.ok(complete.length >= 1, `a session with round trips and bytes both ways: ${JSON.stringify(cells)}`);

    const peerRow = pa1.locator(`[data-testid=debug-peers] [data-testid=debug-peer-row][data-peer-id="${b1.info.peerId}"]`);
    await until('B connected in the debug panel\'s peers', () => isConnected(peerRow));
    assert.match(await peerRow.innerText(), /\d+ RT/, 'its last anti-entropy session, with round trips');
    const gossipOut = Number(/^\s*(\d+)/.exec(await pa1.getByTestId('gossip-out').innerText())?.[1]);
    assert.ok(gossipOut > 0, `the typed note went out by gossip (messages out: ${gossipOut})`);
    await shot(pa1, 'debug-panel', 1500);
  });

  test('4. a conflict made while sync is paused is shown on B, resolved there, and the resolution reaches A', async () => {
    const note = await a2.api.createNote({ title: 'Trip plan', body: 'Day 1: train to the coast.' });
    await a2.api.syncNow();
    assert.equal(await until('the note on B', () => bodyOn(b2, note.id)), 'Day 1: train to the coast.');
    let pb2: Page;
    [pa2, pb2] = await Promise.all([ui(a2), ui(b2)]);

    // Both edit the body, neither sees the other's edit.
    const onA = 'Day 1: train to the coast. Day 2: swim (typed on A).';
    const onB = 'Day 1: train to the coast. Day 2: hike the hills (typed on B).';
    for (const [page, p, text] of [[pa2, a2, onA], [pb2, b2, onB]] as const) {
      await untilText('the note open', editorText(page), 'Day 1');
      await editorText(page).click();
      await page.keyboard.press('Control+End');
      await page.keyboard.type(text.slice('Day 1: train to the coast.'.length));
      await until('the edit saved on its own host', async () => (await bodyOn(p, note.id)) === text);
      await untilSaved(page);
    }
    assert.equal(await bodyOn(a2, note.id), onA, 'sync is paused: A still has its own text');
    assert.equal(await pb2.getByTestId('conflict-count').count(), 0, 'no conflict yet');

    await syncNowThroughUi(pa2);

    // B sees the conflict: the badge on the Conflicts tab, the banner on the open note, both versions.
    await untilText('the conflict count on B', pb2.getByTestId('conflict-count'), '1');
    await pb2.getByTestId('conflict-banner').waitFor();
    await pb2.locator(`[data-testid=note-item][data-note-id="${note.id}"] [data-testid=note-badge][data-badge=conflicted]`).waitFor();
    await pb2.getByTestId('open-conflicts').click();
    const field = pb2.locator(`[data-testid=conflict-note][data-note-id="${note.id}"] [data-testid=field-conflict][data-field=body]`);
    await until('two versions of the body', async () => (await field.getByTestId('conflict-version').count()) === 2);
    const texts = await field.getByTestId('conflict-version-text').allInnerTexts();
    assert.deepEqual([...texts].sort(), [onA, onB].sort(), 'both texts side by side');
    // Each version names its device: this one, and A by the name A told B (its host name by default).
    const aName = (await a2.api.syncState()).device.name;
    assert.deepEqual((await field.getByTestId('conflict-device').allInnerTexts()).sort(), [aName, 'This device'].sort());
    await shot(pb2, 'conflicts');

    // Merge by hand on B.
    const merged = 'Day 1: train to the coast. Day 2: swim in the morning, hike the hills after.';
    await field.getByTestId('merge-button').click();
    await field.getByTestId('merge-text').fill(merged);
    await field.getByTestId('resolve-merged').click();
    await pb2.getByTestId('conflicts-empty').waitFor();
    await until('the conflict badge gone on B', async () => (await pb2.getByTestId('conflict-count').count()) === 0);
    assert.equal(await pb2.getByTestId('resolve-error').count(), 0);

    // Sync, and A shows the resolution: merged text, no conflict anywhere.
    await syncNowThroughUi(pb2);
    await pa2.getByTestId('nav-notes').click();
    await untilText('the merged text in A\'s editor', editorText(pa2), merged);
    assert.equal((await editorText(pa2).innerText()).trim(), merged);
    assert.equal(await pa2.getByTestId('conflict-banner').count(), 0, 'no conflict banner on A');
    // The list (and the tab's count, taken from it) refreshes a moment after the change event.
    await until('no conflict badge on A\'s Conflicts tab', async () => (await pa2.getByTestId('conflict-count').count()) === 0);
    await until('no conflicted badge in A\'s list', async () => (await pa2.locator('[data-badge=conflicted]').count()) === 0);
    const final = await a2.api.getNote(note.id);
    assert.equal(final.body, merged);
    assert.deepEqual(final.conflicts, {});
    await shot(pa2, 'resolved-on-a');
  });

  test('6. reload mid-typing: the draft kept in IndexedDB is restored after the reload, then saved to the host', async () => {
    await typeNewNote(pa2, 'Packing list', 'passport');
    const id = await until('the new note on A\'s host', async () => (await a2.api.listNotes()).find((n) => n.title === 'Packing list')?.id);
    await until('its body on A\'s host', async () => (await bodyOn(a2, id)) === 'passport');
    await untilSaved(pa2);

    // From now on the host never acknowledges a save of this note: its PUTs are held, unanswered.
    const held: Route[] = [];
    const isNoteUrl = (u: URL): boolean => u.pathname === `/api/notes/${id}`;
    const hold = (route: Route): Promise<void> | void => {
      if (route.request().method() === 'PUT') held.push(route);
      else return route.continue();
    };
    await pa2.route(isNoteUrl, hold);

    const typed = 'passport, charger, sunscreen';
    await editorText(pa2).click();
    await pa2.keyboard.press('Control+End');
    await pa2.keyboard.type(typed.slice('passport'.length));
    // The autosave went out (with all of it) and hangs; the draft of the last keystroke is durable.
    await until('the autosave PUT, held', async () => held.some((r) => r.request().postData()?.includes('sunscreen')));
    await pa2.locator('[data-testid=save-state][data-state=saving][data-durable=true]').waitFor();
    assert.equal(await bodyOn(a2, id), 'passport', 'the host does not have the typing');
    const heldBefore = held.length;

    await pa2.reload();
    await pa2.getByTestId('restored-banner').waitFor();
    await untilText('the restored text in the editor', editorText(pa2), typed);
    assert.equal(await pa2.getByTestId('title-input').inputValue(), 'Packing list');
    // The reloaded page saves the restored draft at once (held too, so it cannot have come from the host).
    await until('the reloaded page saving the restored draft', async () => held.slice(heldBefore).some((r) => r.request().postData()?.includes('sunscreen')));
    assert.equal(await bodyOn(a2, id), 'passport', 'what the editor shows came from IndexedDB, not from the host');
    await untilText('the save indicator', pa2.getByTestId('save-state'), 'Saving');
    await shot(pa2, 'restored-draft');

    // Let the host answer again: the old page's request was cut by the reload; the new page's goes through.
    await pa2.unroute(isNoteUrl, hold);
    for (const r of held.slice(0, heldBefore)) await r.abort().catch(() => {}); // usually already cut by the reload
    for (const r of held.slice(heldBefore)) await r.continue().catch(() => {});
    await until('the restored draft saved on the host', async () => (await bodyOn(a2, id)) === typed);
    await untilSaved(pa2);
    await until('no unsaved badge left', async () => (await pa2.locator('[data-badge=pending]').count()) === 0);
    assert.equal((await editorText(pa2).innerText()).trim(), typed);
  });

  test('every page stayed on 127.0.0.1 and threw no error', () => {
    for (const p of pages) {
      assert.deepEqual(p.offLoopback, [], 'no request left loopback');
      assert.deepEqual(p.problems.filter((x) => x.startsWith('pageerror')), [], 'no uncaught error in the page');
    }
  });
});

