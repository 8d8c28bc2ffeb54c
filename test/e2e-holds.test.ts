// Issue 10 in a real Chromium against three headless peers (real libp2p over 127.0.0.1, mDNS
// off, real SQLite): B and C join A's vault; in A's UI a note typed there shows "on 2 of 2
// devices" in the list once both are proven to hold it, and the note's footer names both with
// "has this version". C stops, A edits the note: the footer shows C as not holding it with an
// offline reason, B as holding it again, the row "on 1 of 2 devices". A note written on B then
// carries the badge "Updated on <B's name>", and the debug panel explains each peer's watermark.
// Screenshots go to screenshots/e2e/ (git-ignored); the README's come from test/screens.ts.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchBrowser, openUi, requireBuiltUi, typeNewNote, until, untilSaved, untilText, type UiPage } from './browser.ts';
import { removeTempDirs, startPeer, waitFor, type PeerOptions, type PeerProcess } from './peer-process.ts';

const SHOTS = new URL('../screenshots/e2e/', import.meta.url).pathname;
/** Sessions every ~2 s: a proof also comes from the acknowledgement session ~1 s after gossip. */
const OPTS: PeerOptions = { aeIntervalMs: 2_000 };
/** Proofs need a session (or an acknowledgement) after the write: generous for a loaded machine. */
const PROOF_MS = 30_000;

const peers: PeerProcess[] = [];
const pages: UiPage[] = [];
let browser: Browser | null = null;

async function peer(o: PeerOptions = {}): Promise<PeerProcess> {
  const p = await startPeer({ ...OPTS, ...o });
  peers.push(p);
  if (!p.info.ui) throw new Error('the peer serves no UI: run npm run build first');
  return p;
}

/** The "on N of M devices" of a list row, as its accessible name says it. */
async function devicesLabel(row: Locator): Promise<string | null> {
  const d = row.getByTestId('note-devices');
  return (await d.count()) === 0 ? null : d.getAttribute('aria-label', { timeout: 1_000 });
}

/** One device in the open note's footer: whether it holds the note, its name and its state text. */
async function footerEntry(page: Page, peerId: string): Promise<{ holds: string | null; name: string; state: string } | undefined> {
  const e = page.locator(`[data-testid=note-device][data-peer-id="${peerId}"]`);
  if ((await e.count()) === 0) return undefined;
  return {
    holds: await e.getAttribute('data-holds', { timeout: 1_000 }),
    name: await e.getByTestId('note-device-name').innerText({ timeout: 1_000 }),
    state: await e.getByTestId('note-device-state').innerText({ timeout: 1_000 }),
  };
}

/** Waits until the footer entry of `peerId` satisfies `ok`; fails with the last entry seen. */
async function untilFooter(page: Page, what: string, peerId: string, ok: (e: { holds: string | null; name: string; state: string }) => boolean): Promise<{ holds: string | null; name: string; state: string }> {
  let seen: unknown;
  return until(what, async () => {
    const e = await footerEntry(page, peerId);
    seen = e;
    return e && ok(e) ? e : undefined;
  }, PROOF_MS).catch((err: Error) => {
    throw new Error(`${err.message}; last footer entry: ${JSON.stringify(seen)}`);
  });
}

let a: PeerProcess;
let b: PeerProcess;
let c: PeerProcess;
let pa: Page;
let noteId: string;

describe('which devices hold a note, in the UI', { timeout: 150_000 }, () => {
  before(async () => {
    requireBuiltUi();
    mkdirSync(SHOTS, { recursive: true });
    const launched = launchBrowser().then((br) => (browser = br));
    try {
      a = await peer();
      const { code } = await a.api.invite();
      [b, c] = await Promise.all([peer({ join: code }), peer({ join: code })]);
      await Promise.all([a.api.renameDevice('Study desktop'), b.api.renameDevice('Kitchen laptop'), c.api.renameDevice('Travel laptop')]);
      // Both connected to A, under their new names (the footer shows what A was told).
      await waitFor('B and C connected to A under their names', async () => {
        const s = await a.api.syncState();
        const named = (id: string, name: string) => s.peers.some((p) => p.id === id && p.connected && p.name === name);
        return named(b.info.peerId, 'Kitchen laptop') && named(c.info.peerId, 'Travel laptop');
      }, 30_000);
    } finally {
      await launched.catch(() => {});
    }
    const u = await openUi(browser!, a.info.ui!);
    pages.push(u);
    pa = u.page;
  });

  after(async () => {
    await Promise.all(pages.map((p) => p.context.close().catch(() => {})));
    await browser?.close().catch(() => {});
    await Promise.all(peers.map((p) => p.stop()));
    removeTempDirs();
  });

  test('a note typed on A shows "on 2 of 2 devices" once synced, and its footer names both devices', async () => {
    await typeNewNote(pa, 'Packing list', 'Passport, charger, the blue notebook.');
    await untilSaved(pa);
    const note = await waitFor('the note on A\'s host', async () => (await a.api.listNotes()).find((n) => n.title === 'Packing list'));
    noteId = note.id;
    const row = pa.locator(`[data-testid=note-item][data-note-id="${noteId}"]`);
    await until('the row to say "on 2 of 2 devices"', async () => (await devicesLabel(row)) === 'on 2 of 2 devices', PROOF_MS).catch(async (e: Error) => {
      throw new Error(`${e.message}; row says ${JSON.stringify(await devicesLabel(row))}; host: ${JSON.stringify(await a.api.noteSync(noteId))}`);
    });
    assert.equal(await row.getByTestId('note-devices').innerText(), '2/2', 'the compact form shows the counts');
    assert.match(await row.getByTestId('note-devices').getAttribute('title') ?? '', /^on 2 of 2 devices/, 'and the tooltip says it');

    for (const [p, name] of [[b, 'Kitchen laptop'], [c, 'Travel laptop']] as const) {
      const e = await untilFooter(pa, `${name} holding the note in A's footer`, p.info.peerId, (x) => x.holds === 'true');
      assert.equal(e.name, name, 'the footer names the device');
      assert.match(e.state, /^has this version · verified (just now|\d+ s ago)$/);
    }
    await pa.screenshot({ path: `${SHOTS}note-devices.png` });
  });

  test('C stops and A edits the note: C is shown not holding it, with an offline reason; B holds it again', async () => {
    await c.stop();
    await untilText('A\'s top bar to count one device connected', pa.getByTestId('sync-status'), '1 device connected', 20_000);

    // Edit in A's editor: the new version is on no other device until a sync proves it.
    await pa.getByTestId('editor-content').click();
    await pa.keyboard.press('Control+End');
    await pa.keyboard.type(' And an umbrella.');
    await untilSaved(pa);
    await waitFor('the edit on A\'s host', async () => (await a.api.getNote(noteId)).body.endsWith('And an umbrella.'));

    const offline = await untilFooter(pa, 'C not holding the edited note, offline', c.info.peerId, (x) => x.holds === 'false');
    assert.equal(offline.name, 'Travel laptop');
    assert.match(offline.state, /^offline since \d\d?:\d\d(:\d\d)?( [AP]M)?; behind by \d+ changes?$/, 'why: offline since a local time, and how far behind');
    await untilFooter(pa, 'B holding the edited note', b.info.peerId, (x) => x.holds === 'true' && x.state.startsWith('has this version'));
    assert.equal((await b.api.getNote(noteId)).body, 'Passport, charger, the blue notebook. And an umbrella.', 'B really has what it is shown holding');

    const row = pa.locator(`[data-testid=note-item][data-note-id="${noteId}"]`);
    await until('the row to say "on 1 of 2 devices"', async () => (await devicesLabel(row)) === 'on 1 of 2 devices', PROOF_MS);
    await pa.screenshot({ path: `${SHOTS}note-devices-offline.png` });
  });

  test('a note written on B arrives on A as "Updated on Kitchen laptop"; the debug panel explains each watermark', async () => {
    // B is the one connected device now, so the badge can name it.
    const fromB = await b.api.createNote({ title: 'Written in the kitchen', body: 'Buy oat milk.' });
    const row = pa.locator(`[data-testid=note-item][data-note-id="${fromB.id}"]`);
    const badge = row.locator('[data-testid=note-badge][data-badge=updated]');
    await badge.waitFor({ timeout: 20_000 });
    assert.equal(await badge.innerText(), 'Updated on Kitchen laptop');

    await pa.getByTestId('nav-debug').click();
    const mark = (p: PeerProcess) => pa.locator(`[data-testid=debug-peer-row][data-peer-id="${p.info.peerId}"] [data-testid=debug-peer-watermark]`);
    const ofB = await untilText('B\'s watermark in the debug panel', mark(b), 'changes of this device');
    assert.match(ofB, /^holds [\d,]+ of [\d,]+ changes of this device \(verified (just now|\d+ s ago)\)$/);
    // C held the first version before it stopped: proven up to then, behind now.
    const ofC = await untilText('C\'s watermark in the debug panel', mark(c), 'changes of this device');
    const [, held, of] = /^holds ([\d,]+) of ([\d,]+) changes/.exec(ofC) ?? [];
    assert.ok(Number(held.replace(/,/g, '')) < Number(of.replace(/,/g, '')), `C is behind: ${ofC}`);
  });
});
