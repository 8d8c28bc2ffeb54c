// The renderer's loaded list (renderer/list-model.ts): pages appended, rows moved by the
// summaries an event brought, the top page merged back in. Pure functions, no browser.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NoteSummary } from '../app/api.ts';
import { appendPage, applySummaries, changedSummaries, EMPTY_LIST, listOrder, mergeFirstPage, type LoadedList } from '../renderer/list-model.ts';

function note(id: string, updated: number, fields: Partial<NoteSummary> = {}): NoteSummary {
  return { id, title: id, excerpt: '', created: 1, updated, trashed: false, conflicted: false, devices: { holding: 0, paired: 0 }, ...fields };
}

const ids = (l: LoadedList): string[] => l.rows.map((r) => r.id);

test('list order: newest first, ties by id ascending', () => {
  const rows = [note('b', 5), note('a', 5), note('c', 9), note('d', 1)].sort(listOrder);
  assert.deepEqual(rows.map((r) => r.id), ['c', 'a', 'b', 'd']);
});

test('pages append in order; a row a page brings again leaves its old place', () => {
  let l = appendPage(EMPTY_LIST, { notes: [note('e', 9), note('d', 8)], next: 'c1' });
  l = appendPage(l, { notes: [note('c', 7), note('b', 6)], next: 'c2' });
  assert.deepEqual(ids(l), ['e', 'd', 'c', 'b']);
  assert.equal(l.next, 'c2');
  l = appendPage(l, { notes: [note('d', 5), note('a', 4)], next: null });
  assert.deepEqual(ids(l), ['e', 'c', 'b', 'd', 'a']);
  assert.equal(l.next, null);
});

test('summaries move a named row to its new place, and only that row', () => {
  const l: LoadedList = { rows: [note('e', 9), note('d', 8), note('c', 7)], next: 'more' };
  const moved = applySummaries(l, [note('c', 10, { title: 'edited' })]);
  assert.deepEqual(ids(moved), ['c', 'e', 'd']);
  assert.equal(moved.rows[0].title, 'edited');
  assert.equal(moved.rows[1], l.rows[0], 'rows not named keep their identity');
  assert.equal(moved.next, 'more');
  assert.equal(applySummaries(l, []), l, 'nothing named, nothing changes');
});

test('trashed or gone notes leave; new notes enter at their place', () => {
  const l: LoadedList = { rows: [note('e', 9), note('d', 8), note('c', 7)], next: null };
  assert.deepEqual(ids(applySummaries(l, [note('d', 11, { trashed: true })])), ['e', 'c']);
  assert.deepEqual(ids(applySummaries(l, [], ['e'])), ['d', 'c']);
  assert.deepEqual(ids(applySummaries(l, [note('x', 8), note('y', 1)])), ['e', 'd', 'x', 'c', 'y'], 'the whole list is loaded: anywhere');
});

test('a note that sorts below the loaded rows waits for its page while more pages exist', () => {
  const l: LoadedList = { rows: [note('e', 9), note('d', 8)], next: 'more' };
  // Synced from a device with an older clock: its place is beyond what is loaded.
  assert.deepEqual(ids(applySummaries(l, [note('old', 3)])), ['e', 'd']);
  // And a loaded row whose new place is beyond the loaded rows leaves them.
  assert.deepEqual(ids(applySummaries(l, [note('e', 2)])), ['d']);
  // Ties on `updated` go by id: before the last loaded row it is placed, after it it waits.
  assert.deepEqual(ids(applySummaries(l, [note('a-tie', 8)])), ['e', 'a-tie', 'd']);
  assert.deepEqual(ids(applySummaries(l, [note('z-tie', 8)])), ['e', 'd']);
});

test('merging a fresh top page replaces the rows down to its last one and keeps those below', () => {
  const l: LoadedList = { rows: [note('f', 9), note('e', 8), note('d', 7), note('c', 6), note('b', 5)], next: 'c5' };
  // Since: e was trashed, g was created, d was edited.
  const merged = mergeFirstPage(l, { notes: [note('g', 12), note('d', 11), note('f', 9), note('c', 6)], next: 'p1' });
  assert.deepEqual(ids(merged), ['g', 'd', 'f', 'c', 'b']);
  // Below the page's last row the page says nothing: those rows stay as they were.
  assert.deepEqual(ids(mergeFirstPage(l, { notes: [note('g', 12), note('f', 9)], next: 'p1' })), ['g', 'f', 'e', 'd', 'c', 'b']);
  assert.equal(merged.next, 'c5', 'paging continues after the last loaded row');
  assert.deepEqual(mergeFirstPage(EMPTY_LIST, { notes: [note('a', 1)], next: 'p1' }), { rows: [note('a', 1)], next: 'p1' });
  assert.deepEqual(ids(mergeFirstPage(l, { notes: [note('z', 1)], next: null })), ['z'], 'the whole list in one page');
});

test('a refresh of the rows on screen replaces only the rows whose summary changed', () => {
  const l: LoadedList = { rows: [note('e', 9), note('d', 8, { devices: { holding: 0, paired: 2 } }), note('c', 7)], next: 'more' };
  const fresh = [note('e', 9), note('d', 8, { devices: { holding: 2, paired: 2 } })];
  const { changed, gone } = changedSummaries(l, ['e', 'd', 'c'], fresh);
  assert.deepEqual(changed.map((n) => n.id), ['d'], 'only the devices count of d changed');
  assert.deepEqual(gone, ['c'], 'c is no longer listed by the host');
  const next = applySummaries(l, changed, gone);
  assert.deepEqual(ids(next), ['e', 'd']);
  assert.equal(next.rows[0], l.rows[0], 'an unchanged row keeps its identity');
  assert.deepEqual(next.rows[1].devices, { holding: 2, paired: 2 });
  assert.deepEqual(changedSummaries(l, ['e'], [note('e', 9)]), { changed: [], gone: [] }, 'nothing changed, nothing to apply');
});

test('the last loaded row, refreshed in place while more pages exist, stays loaded', () => {
  const l: LoadedList = { rows: [note('e', 9), note('d', 8)], next: 'after-d' };
  // Its devices count changed, nothing else: the next page starts after d, so d must stay.
  assert.deepEqual(ids(applySummaries(l, [note('d', 8, { devices: { holding: 1, paired: 1 } })])), ['e', 'd']);
});
