// What the renderer keeps for itself in IndexedDB (idb-keyval), never the notes themselves:
//  - drafts: every keystroke's state of the open note, written at once and deleted only when the
//    host has acknowledged a save of exactly that state. A crash of the host or a reload in the
//    middle of typing leaves the draft behind; the next start restores and saves it.
//  - UI state: selected note, open view, panel sizes.
// IndexedDB is per origin: the headless peer's UI lives at http://127.0.0.1:PORT, so give the
// peer a fixed --http port if drafts must survive a restart of the peer itself.

import { createStore, del, entries, get, set, type UseStore } from 'idb-keyval';

export interface Draft {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  /** `updated` of the note version this edit started from (the last one the host acknowledged). */
  readonly base: number;
  /** Increases with every keystroke of this note; a save acknowledges one revision. */
  readonly rev: number;
  /** When the draft was written (wall clock). */
  readonly at: number;
}

export type View = 'notes' | 'conflicts' | 'pairing' | 'trash' | 'debug';

export interface UiState {
  readonly selectedId: string | null;
  readonly view: View;
  /** Width of the notes sidebar, in CSS pixels. */
  readonly sidebarWidth: number;
}

export const DEFAULT_UI: UiState = { selectedId: null, view: 'notes', sidebarWidth: 320 };

// Two databases rather than two stores in one: idb-keyval creates its store only when it
// creates the database, so a second store in the same database would never exist.
let draftDb: UseStore | null = null;
let uiDb: UseStore | null = null;
const drafts = (): UseStore => (draftDb ??= createStore('lan-notes-drafts', 'drafts'));
const ui = (): UseStore => (uiDb ??= createStore('lan-notes-ui', 'state'));

/** Highest revision written per note in this page; IndexedDB runs our transactions in the order they were made. */
const latest = new Map<string, number>();
const listeners = new Set<() => void>();

function changed(): void {
  for (const l of listeners) l();
}

function warn(what: string, e: unknown): void {
  console.warn(`drafts: ${what} failed`, e);
}

/** Ids of notes with a draft not yet acknowledged by the host (the "pending" badge). */
export function pendingIds(): ReadonlySet<string> {
  return new Set(latest.keys());
}

export function onPendingChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Writes the draft now (fire and forget: the order of writes is kept by IndexedDB). */
export function writeDraft(d: Omit<Draft, 'at'>): Promise<void> {
  const had = latest.has(d.id);
  latest.set(d.id, d.rev);
  if (!had) changed();
  return set(d.id, { ...d, at: Date.now() } satisfies Draft, drafts()).catch((e) => warn('writing a draft', e));
}

/** The host saved revision `rev`: the draft goes unless a later keystroke already replaced it. */
export function draftSaved(id: string, rev: number): Promise<void> {
  if (latest.get(id) !== rev) return Promise.resolve();
  latest.delete(id);
  changed();
  return del(id, drafts()).catch((e) => warn('deleting a draft', e));
}

export function discardDraft(id: string): Promise<void> {
  if (latest.delete(id)) changed();
  return del(id, drafts()).catch((e) => warn('deleting a draft', e));
}

export async function readDraft(id: string): Promise<Draft | undefined> {
  try {
    return await get<Draft>(id, drafts());
  } catch (e) {
    warn('reading a draft', e);
    return undefined;
  }
}

/** Every draft left behind (by a crash, a reload, a closed tab), oldest first. */
export async function leftoverDrafts(): Promise<Draft[]> {
  try {
    const all = (await entries<string, Draft>(drafts())).map(([, d]) => d).filter(isDraft);
    for (const d of all) if (!latest.has(d.id)) latest.set(d.id, d.rev);
    if (all.length > 0) changed();
    return all.sort((a, b) => a.at - b.at);
  } catch (e) {
    warn('listing drafts', e);
    return [];
  }
}

function isDraft(d: unknown): d is Draft {
  const x = d as Draft;
  return !!x && typeof x.id === 'string' && typeof x.title === 'string' && typeof x.body === 'string' && typeof x.rev === 'number';
}

export async function loadUiState(): Promise<UiState> {
  try {
    const saved = await get<Partial<UiState>>('ui', ui());
    return { ...DEFAULT_UI, ...(saved ?? {}) };
  } catch (e) {
    warn('reading UI state', e);
    return DEFAULT_UI;
  }
}

let uiTimer: ReturnType<typeof setTimeout> | null = null;
let uiPending: UiState | null = null;

/** Saves the UI state, coalescing bursts (dragging a splitter) into one write. */
export function saveUiState(state: UiState): void {
  uiPending = state;
  uiTimer ??= setTimeout(() => {
    uiTimer = null;
    const s = uiPending;
    uiPending = null;
    if (s) set('ui', s, ui()).catch((e) => warn('writing UI state', e));
  }, 200);
}
