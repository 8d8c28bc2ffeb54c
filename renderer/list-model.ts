// The notes list the sidebar holds: a loaded prefix of the host's list (newest first), grown page
// by page, and kept current by notes-changed events without refetching it. Pure functions over
// arrays, so they are tested without a browser (test/list-model.test.ts).
//
// The invariant: `rows` is exactly the host's list down to its last row, in the host's order
// (updated newest first, then id), as far as events have told us. A note that sorts below the
// last loaded row is not placed: the next page (keyset cursor after that row) brings it.

import type { NoteSummary } from '../app/api.ts';

export interface LoadedList {
  readonly rows: readonly NoteSummary[];
  /** Cursor of the next page; null once the end of the list is loaded. */
  readonly next: string | null;
}

export const EMPTY_LIST: LoadedList = { rows: [], next: null };

/** The host's list order: newest first, ties by id ascending (engine/store listDocs). */
export function listOrder(a: NoteSummary, b: NoteSummary): number {
  return b.updated - a.updated || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Where `row` goes in sorted `rows` (binary search); rows.length if it sorts after all. */
function insertionIndex(rows: readonly NoteSummary[], row: NoteSummary): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (listOrder(rows[mid], row) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Appends the next page. A row already held (it moved) is taken from its old place. */
export function appendPage(list: LoadedList, page: { notes: readonly NoteSummary[]; next: string | null }): LoadedList {
  const incoming = new Set(page.notes.map((n) => n.id));
  const kept = list.rows.some((r) => incoming.has(r.id)) ? list.rows.filter((r) => !incoming.has(r.id)) : list.rows;
  return { rows: [...kept, ...page.notes], next: page.next };
}

/**
 * Applies fresh summaries of the notes an event named: each leaves its old place and, when it is
 * live (not trashed) and sorts within the loaded range, takes its new one. `gone` are ids named
 * by the event that the host no longer lists (no summary came back).
 */
export function applySummaries(list: LoadedList, summaries: readonly NoteSummary[], gone: readonly string[] = []): LoadedList {
  const named = new Set([...summaries.map((s) => s.id), ...gone]);
  if (named.size === 0) return list;
  const rows = list.rows.filter((r) => !named.has(r.id));
  // The boundary is the last loaded row as loaded (the next page starts after it), even when that
  // row is among the named ones: a row re-placed at its old place must not fall into the gap
  // between the remaining rows and the next page, which would never bring it back.
  const last = list.rows.at(-1);
  for (const s of summaries) {
    if (s.trashed) continue;
    // Below the last loaded row, with pages still to come: that page will bring it.
    if (list.next !== null && (last === undefined || listOrder(s, last) > 0)) continue;
    rows.splice(insertionIndex(rows, s), 0, s);
  }
  return { rows, next: list.next };
}

/**
 * Merges a freshly fetched first page (after the event stream may have missed events): the page
 * replaces every loaded row down to its own last row; rows below it are kept.
 */
export function mergeFirstPage(list: LoadedList, page: { notes: readonly NoteSummary[]; next: string | null }): LoadedList {
  if (page.next === null) return { rows: [...page.notes], next: null };
  const last = page.notes.at(-1);
  if (last === undefined) return { rows: [], next: null };
  const ids = new Set(page.notes.map((n) => n.id));
  const below = list.rows.filter((r) => !ids.has(r.id) && listOrder(r, last) > 0);
  // Nothing loaded below the page: continue paging from the page's own cursor.
  return below.length === 0 ? { rows: [...page.notes], next: page.next } : { rows: [...page.notes, ...below], next: list.next };
}

/** Whether two summaries of one note show the same thing (the devices count included). */
function sameSummary(a: NoteSummary, b: NoteSummary): boolean {
  return a.title === b.title && a.excerpt === b.excerpt && a.updated === b.updated && a.created === b.created && a.trashed === b.trashed &&
    a.conflicted === b.conflicted && a.devices.holding === b.devices.holding && a.devices.paired === b.devices.paired;
}

/**
 * Of fresh summaries asked for `asked` (the rows on screen), those that differ from the loaded
 * row, and the asked ids the host no longer lists: a refresh after a sync session, where usually
 * nothing but a devices count changed, replaces only those rows (the others keep their identity).
 */
export function changedSummaries(list: LoadedList, asked: readonly string[], fresh: readonly NoteSummary[]): { changed: NoteSummary[]; gone: string[] } {
  // One pass over the rows with a set of the few asked ids: no map of every loaded row per refresh.
  const wanted = new Set(asked);
  const loaded = new Map<string, NoteSummary>();
  for (const r of list.rows) if (wanted.has(r.id)) loaded.set(r.id, r);
  const found = new Set(fresh.map((n) => n.id));
  const changed = fresh.filter((n) => {
    const row = loaded.get(n.id);
    return row === undefined || !sameSummary(row, n);
  });
  return { changed, gone: asked.filter((id) => !found.has(id) && loaded.has(id)) };
}
