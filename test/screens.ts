// Makes the README's screenshots, docs/notes-view.png, docs/history-view.png, docs/debug-panel.png and
// docs/note-devices.png (1280x800), from the real UI in Chromium against headless peers on 127.0.0.1. Not a test; run it after
// changing the UI:
//
//   npm run build:ui && npx node test/screens.ts [OUT_DIR]     (OUT_DIR defaults to docs/)
//
// A and B each have a dozen notes of their own before B joins A's vault, so their first
// anti-entropy session has something to repair both ways, a Merkle descent with differing subtrees
// (both sides above the 32 keys that a side would list instead of descending); a note typed
// afterwards goes by gossip. For note-devices.png a third device joins, takes every note and stops;
// a note edited on A afterwards is then on one of its two paired devices.

import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser, openUi, requireBuiltUi, typeNewNote, until, untilSaved, untilText, type UiPage } from './browser.ts';
import { removeTempDirs, startPeer, type PeerProcess } from './peer-process.ts';

const OUT = resolve(process.argv[2] ?? new URL('../docs/', import.meta.url).pathname);

const NOTES: { title: string; body: string }[] = [
  { title: 'Book list', body: '- Designing Data-Intensive Applications\n- The Art of Multiprocessor Programming\n- A Philosophy of Software Design' },
  { title: 'Meeting notes: sync protocol', body: '## Decisions\n\n1. Gossip carries fresh edits.\n2. Anti-entropy repairs the rest, Merkle tree over the keyspace.\n\n**Next:** ship the debug panel.' },
  { title: 'Flat white at home', body: '18 g in, 36 g out, 28 s. Milk to 60 °C, thin microfoam.' },
  { title: 'Bike maintenance', body: '- chain: clean and lube every 300 km\n- tyres: 5 bar front, 5.5 rear\n- brake pads: check in spring' },
  { title: 'Ideas for the garden', body: 'Raised beds along the south fence; tomatoes, basil, *lots* of marigolds.' },
  { title: 'Passwords policy', body: 'Use the password manager. Never reuse. Rotate the Wi-Fi key after guests.' },
  { title: 'Sourdough schedule', body: 'Feed the levain at 9pm, mix at 8am, bulk 5 h, shape, fridge overnight.' },
  { title: 'Conference talk outline', body: '1. Why local-first\n2. Gossip vs anti-entropy\n3. Demo: two laptops, no Wi-Fi' },
  { title: 'Reading: CRDT papers', body: '- Shapiro et al., *Conflict-free Replicated Data Types*\n- Kleppmann, *Local-first software*' },
  { title: 'Tax return 2026', body: 'Receipts folder, pension statement, donations. Deadline end of July.' },
  { title: 'Kids: school pickup', body: 'Mon/Wed: me. Tue/Thu: grandma. Fri: football until 5.' },
  { title: 'Plants: watering', body: 'Fern twice a week, cactus monthly, basil daily in summer.' },
];

/** Written on B before it joins: they come over in B's first session with A. */
const ON_B: { title: string; body: string }[] = [
  { title: 'Laptop B setup', body: 'Install the app, enter the invite code from the desktop.' },
  { title: 'Train times', body: '07:42 and 08:12 to the city; the 17:48 back.' },
  { title: 'Gift ideas', body: 'Mum: a good bread knife. Sam: climbing shoes.' },
  { title: 'Wi-Fi at the cabin', body: 'Network "lakeside", the key is on the fridge.' },
  { title: 'Running plan', body: 'Tue intervals 6x800 m, Thu tempo 5 km, Sun long run 16 km.' },
  { title: 'Recipe: dal', body: 'Red lentils, turmeric, cumin seeds, garlic, a squeeze of lime.' },
  { title: 'Car service', body: 'Due at 60,000 km: oil, filters, brake fluid.' },
  { title: 'Podcast queue', body: '- Distributed systems hour\n- The local-first podcast' },
  { title: 'Home network', body: 'Router 192.168.1.1, NAS .20, printer .30.' },
  { title: 'Birthday party', body: 'Saturday 3pm: cake, balloons, 12 kids. Ask Alex to bring the speaker.' },
  { title: 'Things to fix', body: 'Dripping tap in the bathroom, squeaky door, loose shelf.' },
];

const peers: PeerProcess[] = [];
let browser = null as Browser | null; // set by the launch below, which runs beside the peers' start
let launched: Promise<unknown> = Promise.resolve();
const pages: UiPage[] = [];
try {
  requireBuiltUi();
  mkdirSync(OUT, { recursive: true });
  const a = await startPeer({ aeIntervalMs: 10_000 });
  peers.push(a);
  launched = launchBrowser().then((br) => (browser = br));
  for (const n of NOTES) await a.api.createNote(n);
  await a.api.renameDevice('Study desktop');
  const { code } = await a.api.invite();
  // B starts in a vault of its own, writes a few notes, then joins A's: its first session with A
  // repairs the difference both ways.
  const b = await startPeer({ aeIntervalMs: 10_000 });
  peers.push(b);
  await b.api.renameDevice('Kitchen laptop');
  for (const n of ON_B) await b.api.createNote(n);
  await b.api.join(code);
  await launched;
  await until('B has A\'s notes', async () => (await b.api.listNotes()).length === NOTES.length + ON_B.length, 20_000);

  const pa = await openUi(browser!, a.info.ui!);
  const pb = await openUi(browser!, b.info.ui!);
  pages.push(pa, pb);

  // A note typed on A in the UI reaches B by gossip. The body goes in as one insertion: typed key
  // by key, CodeMirror would continue the list markers itself.
  await typeNewNote(pa.page, 'Groceries for the weekend', '');
  await pa.page.keyboard.insertText('# Market\n\n- apples\n- **bread**, the _sourdough_ one\n- coffee beans\n\nSee [the list](https://example.com).');
  await untilSaved(pa.page);
  const groceries = await until('the note on B', async () => (await b.api.listNotes()).find((n) => n.title === 'Groceries for the weekend' && n.excerpt.includes('See')));

  // Notes view on B: the note that just arrived, open.
  await pb.page.getByTestId('nav-notes').click();
  const item = pb.page.locator(`[data-testid=note-item][data-note-id="${groceries.id}"]`);
  await item.click();
  await untilText('the body', pb.page.getByTestId('editor-content'), 'example.com');
  await item.locator('[data-testid=note-badge][data-badge=updated]').waitFor();
  // And B proven to have told A everything (the next session after the join ends with equal roots).
  await until('the note proven on A, as B\'s list and footer show', async () => (await item.getByTestId('note-devices').getAttribute('aria-label', { timeout: 1_000 })) === 'on 1 of 1 devices' &&
    (await pb.page.locator(`[data-testid=note-device][data-peer-id="${a.info.peerId}"]`).getAttribute('data-holds', { timeout: 1_000 })) === 'true', 30_000);
  await pb.page.screenshot({ path: `${OUT}/notes-view.png` });

  // History view on A: the note typed there, edited twice since (saves with base), an earlier
  // version selected with its diff against the current text.
  const g = await a.api.getNote(groceries.id);
  const g2 = await a.api.saveNote(g.id, { body: g.body.replace('- coffee beans', '- coffee beans (decaf)'), base: g.rev });
  await a.api.saveNote(g.id, { body: g2.body.replace('- apples', '- apples and pears'), base: g2.rev });
  await until('A shows the latest edit', async () => (await pa.page.getByTestId('editor-content').innerText()).includes('pears'));
  await pa.page.getByTestId('history-button').click();
  await pa.page.getByTestId('history-entry').nth(1).click();
  await pa.page.getByTestId('history-diff').waitFor();
  await pa.page.screenshot({ path: `${OUT}/history-view.png` });

  // Debug panel on B: the session that brought A's notes, picked in the log so the heatmap shows
  // its differing subtrees, after a "Sync now" that found both replicas equal. Framed from the
  // Merkle tree down: roots, heatmap, the session plot and log.
  const dbg = pb.page;
  await dbg.getByTestId('nav-debug').click();
  await dbg.getByTestId('sync-now').click();
  await untilText('the Sync now result', dbg.getByTestId('sync-now-result'), '1 session');
  const repair = dbg.locator('[data-testid=session-row][data-ok=true][data-mode=merkle]').last();
  if (await repair.count()) await repair.getByRole('button').click();
  await dbg.getByTestId('debug-merkle').evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await dbg.screenshot({ path: `${OUT}/debug-panel.png` });

  // Which devices hold a note, on A: a third device joins, is proven to hold every note, stops;
  // then a note is edited on A. The list shows "2/2" on the other rows and "1/2" on that one, the
  // footer names both devices.
  const c = await startPeer({ aeIntervalMs: 10_000, join: code });
  peers.push(c);
  await c.api.renameDevice('Travel laptop');
  const all = NOTES.length + ON_B.length + 1;
  await until('every note proven on both devices', async () => (await a.api.listNotes()).filter((n) => n.devices.holding === 2 && n.devices.paired === 2).length === all, 30_000);
  await c.stop();
  await until('A sees C offline', async () => (await a.api.syncState()).peers.some((p) => p.id === c.info.peerId && !p.connected));
  await pa.page.getByTestId('history-button').click();
  const latest = await a.api.getNote(groceries.id);
  await a.api.saveNote(latest.id, { body: latest.body.replace('- coffee beans (decaf)', '- coffee beans (decaf)\n- oat milk'), base: latest.rev });
  // All at once on screen (the UI follows the host by up to a second: each part alone could be an
  // older state): C offline and behind by the edit, B proven to hold it, the other notes on both.
  const devicesOf = (id: string) => pa.page.locator(`[data-testid=note-item][data-note-id="${id}"] [data-testid=note-devices]`).getAttribute('aria-label', { timeout: 1_000 });
  const footer = (peer: PeerProcess) => pa.page.locator(`[data-testid=note-device][data-peer-id="${peer.info.peerId}"]`);
  const other = (await a.api.listNotes()).find((n) => n.id !== groceries.id)!;
  await until('the edit proven on B and not on C, in the rows and the footer', async () =>
    (await devicesOf(groceries.id)) === 'on 1 of 2 devices' && (await devicesOf(other.id)) === 'on 2 of 2 devices' &&
    (await footer(b).getAttribute('data-holds', { timeout: 1_000 })) === 'true' &&
    /^offline since .*; behind by 1 change$/.test(await footer(c).getByTestId('note-device-state').innerText({ timeout: 1_000 })), 30_000);
  await pa.page.screenshot({ path: `${OUT}/note-devices.png` });

  const shown = (await repair.count()) ? (await repair.locator('td').allInnerTexts()).join(' | ') : 'no merkle session';
  process.stdout.write(`wrote ${OUT}/notes-view.png, ${OUT}/history-view.png, ${OUT}/debug-panel.png (heatmap of: ${shown}) and ${OUT}/note-devices.png\n`);
} finally {
  await launched.catch(() => {});
  await Promise.all(pages.map((p) => p.context.close().catch(() => {})));
  await browser?.close().catch(() => {});
  await Promise.all(peers.map((p) => p.stop()));
  removeTempDirs();
}
