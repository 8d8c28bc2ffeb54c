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

/** Highest revision written per note in this page (its draft is in IndexedDB or on its way there). */
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

/**
 * Per-note write queue. A keystroke's draft is written at once; while a write of that note is
 * still running, only the newest state waits for it (one transaction at a time per note, not one
 * per keystroke: typing in a 100 KB note must not queue megabytes of writes). The last operation
 * asked for is always the last one that lands, so a delete never races a write.
 */
type Op = { readonly kind: 'set'; readonly draft: Draft } | { readonly kind: 'del' };
interface Slot {
  running: boolean;
  next: Op | null;
  idle: Promise<void>;
}
const slots = new Map<string, Slot>();

function enqueue(id: string, op: Op): Promise<void> {
  let slot = slots.get(id);
  if (!slot) {
    slot = { running: false, next: null, idle: Promise.resolve() };
    slots.set(id, slot);
  }
  slot.next = op;
  if (!slot.running) slot.idle = run(id, slot);
  return slot.idle;
}

async function run(id: string, slot: Slot): Promise<void> {
  slot.running = true;
  while (slot.next) {
    const op = slot.next;
    slot.next = null;
    try {
      if (op.kind === 'set') await set(id, op.draft, drafts());
      else await del(id, drafts());
    } catch (e) {
      warn(op.kind === 'set' ? 'writing a draft' : 'deleting a draft', e);
    }
  }
  slot.running = false;
  if (slots.get(id) === slot) slots.delete(id);
}

/** Writes the draft now; resolves when it (or a newer state of the note) is in IndexedDB. */
export function writeDraft(d: Omit<Draft, 'at'>): Promise<void> {
  const had = latest.has(d.id);
  latest.set(d.id, d.rev);
  if (!had) changed();
  return enqueue(d.id, { kind: 'set', draft: { ...d, at: Date.now() } });
}

/** The host saved revision `rev`: the draft goes unless a later keystroke already replaced it. */
export function draftSaved(id: string, rev: number): Promise<void> {
  if (latest.get(id) !== rev) return Promise.resolve();
  latest.delete(id);
  changed();
  return enqueue(id, { kind: 'del' });
}

export function discardDraft(id: string): Promise<void> {
  if (latest.delete(id)) changed();
  return enqueue(id, { kind: 'del' });
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
