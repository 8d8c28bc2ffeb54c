// The application shell: top navigation, the notes view (sidebar list + editor), the other views,
// global shortcuts, and the live wiring to the host. The notes list is loaded page by page as it
// scrolls (never all at once); a notes-changed event fetches the summaries of the notes it names
// and moves only those rows (list-model.ts); every sync-state event replaces the sync state and
// refreshes the rows on screen (a session may have proven that another device holds them). The
// only door to the host is `api` (window.notesApi, the NotesApi contract of app/api.ts).

import { useCallback, useEffect, useMemo, useRef, useState, type CSSProperties } from 'react';
import type { Note, NoteSummary, NotesApi, SearchHit, SyncProgress, SyncState } from '../app/api.ts';
import { appendPage, applySummaries, changedSummaries, EMPTY_LIST, mergeFirstPage, type LoadedList } from './list-model.ts';
import { ConflictsView } from './components/ConflictsView.tsx';
import { DebugPanel } from './components/DebugPanel.tsx';
import { MarkdownMenu } from './components/MarkdownMenu.tsx';
import { NoteEditor, type NoteChange, type NoteEditorHandle } from './components/NoteEditor.tsx';
import { NotesList, type Badge, type ListItem } from './components/NotesList.tsx';
import { PairingView } from './components/PairingView.tsx';
import { ShortcutsDialog } from './components/ShortcutsDialog.tsx';
import { Splitter } from './components/Splitter.tsx';
import { TrashView } from './components/TrashView.tsx';
import { DEFAULT_UI, discardDraft, draftSaved, leftoverDrafts, loadUiState, onPendingChange, pendingIds, saveUiState, type Draft, type UiState, type View } from './drafts.ts';
import { errorCode, errorMessage, peerName, plainExcerpt, progressText } from './format.ts';
import { throttle } from './throttle.ts';
import { isMac, matchShortcut } from './shortcuts.ts';

/** How long a note keeps its "updated on <device>" badge after an update arrived from a peer. */
const UPDATED_BADGE_MS = 30_000;
/** Rows on screen are refreshed at most this often on sync-state events (one follows every session). */
const SHOWN_ROWS_REFRESH_MS = 500;
const SIDEBAR_MIN = 220;
const SIDEBAR_MAX = 640;

const VIEWS: readonly { id: View; label: string }[] = [
  { id: 'notes', label: 'Notes' },
  { id: 'conflicts', label: 'Conflicts' },
  { id: 'pairing', label: 'Pairing' },
  { id: 'trash', label: 'Trash' },
  { id: 'debug', label: 'Debug' },
];

interface Fatal {
  readonly title: string;
  readonly detail: string;
}

function fatalOf(e: unknown): Fatal {
  const code = errorCode(e);
  if (code === 'E_UNAUTHORIZED') {
    return {
      title: 'This page needs its access link',
      detail: 'Open the "ui" link that npm run peer printed when it started (it ends in #token=…). The token is kept for this tab only.',
    };
  }
  if (code === 'E_NETWORK' || code === 'E_TIMEOUT') return { title: 'Cannot reach the notes host', detail: `${errorMessage(e)}. Is it still running?` };
  return { title: 'The notes could not be loaded', detail: errorMessage(e) };
}

/** Rows per request: a page of the list or of search hits. */
const PAGE = 200;
/** Rows per request when the view already reached the last loaded row (scrolling far, fast). */
const BIG_PAGE = 1000;
/** Events arrive in bursts (a sync session): their ids are fetched together after this pause. */
const EVENT_BATCH_MS = 16;

/** A draft left by a crash or reload for a note that is not open: save it now, so nothing typed is lost. */
async function saveLeftover(api: NotesApi, d: Draft): Promise<void> {
  try {
    const note = await api.getNote(d.id);
    const changes: { title?: string; body?: string } = {};
    if (d.title !== note.title) changes.title = d.title;
    if (d.body !== note.body) changes.body = d.body;
    if (Object.keys(changes).length > 0) await api.saveNote(d.id, changes);
    await draftSaved(d.id, d.rev);
  } catch (e) {
    if (errorCode(e) !== 'E_NOT_FOUND') throw e;
    // The note is gone from this host (another vault?): keep the text as a new note.
    await api.createNote({ title: d.title, body: d.body });
    await discardDraft(d.id);
  }
}

/**
 * "Local": no peer is known to have this version yet. Peers get local writes by gossip while a
 * topic peer is connected, and everything up to the last successful anti-entropy session.
 */
function sharedUpTo(sync: SyncState | null): number {
  if (!sync) return -Infinity;
  if (sync.gossip.topicPeers > 0 && sync.peers.some((p) => p.lastSession?.ok)) return Infinity;
  let t = -Infinity;
  for (const p of sync.peers) if (p.lastSession?.ok) t = Math.max(t, p.lastSession.startedAt + p.lastSession.durationMs);
  return t;
}

/**
 * The device a note that just arrived came from. Events do not name their origin device: with
 * exactly one device connected it can only be that one; otherwise null ("another device").
 */
function arrivedFrom(sync: SyncState | null): string | null {
  const connected = sync?.peers.filter((p) => p.connected) ?? [];
  return connected.length === 1 ? connected[0].name : null;
}

/** A large incoming transfer (a device joining, a laptop back after a week): a bar with records, MB and time left. */
function TransferProgress({ progress, peers }: { progress: SyncProgress; peers: SyncState['peers'] }) {
  const text = progressText(progress);
  return (
    <div className="sync-progress" data-testid="sync-progress" role="group" aria-label="Sync progress">
      <span className="small">Receiving notes from {peerName(peers, progress.peer)}</span>
      <progress max={Math.max(1, progress.recordsTotal)} value={progress.recordsDone} aria-label={`Receiving from ${peerName(peers, progress.peer)}: ${text}`} />
      <span className="small" data-testid="sync-progress-text">{text}</span>
    </div>
  );
}

export function App({ api }: { api: NotesApi }) {
  const [ready, setReady] = useState(false);
  const [fatal, setFatal] = useState<Fatal | null>(null);
  const [ui, setUiState] = useState<UiState>(DEFAULT_UI);
  const uiRef = useRef(ui);
  uiRef.current = ui;
  const [list, setList] = useState<LoadedList>(EMPTY_LIST);
  const listRef = useRef(list);
  listRef.current = list;
  const notes = list.rows;
  const [conflicted, setConflicted] = useState<ReadonlySet<string>>(new Set());
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [hitsNext, setHitsNext] = useState<string | null>(null);
  const [searchError, setSearchError] = useState<string | null>(null);
  const [sync, setSync] = useState<SyncState | null>(null);
  const [syncError, setSyncError] = useState<string | null>(null);
  /** Notes that just arrived from a peer: when, and from which device when that can be told. */
  const [arrived, setArrived] = useState<ReadonlyMap<string, { readonly at: number; readonly from: string | null }>>(new Map());
  const syncRef = useRef(sync);
  syncRef.current = sync;
  /** Counts sync-state events: the open note's footer refetches which devices hold it on each. */
  const [syncSeq, setSyncSeq] = useState(0);
  /** The ids of the list rows in the DOM (NotesList reports them). */
  const shownRows = useRef<readonly string[]>([]);
  const [pending, setPending] = useState<ReadonlySet<string>>(pendingIds);
  const [change, setChange] = useState<NoteChange | null>(null);
  const [version, setVersion] = useState(0);
  const [conflictFocus, setConflictFocus] = useState<string | null>(null);
  const [toast, setToast] = useState<string | null>(null);
  const [help, setHelp] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  const searchRef = useRef<HTMLInputElement>(null);
  const editorRef = useRef<NoteEditorHandle>(null);
  const focusAfterSwitch = useRef<'title' | 'body' | null>(null);
  /** A note just created here, handed to its editor so it opens without another round trip. */
  const created = useRef<Note | null>(null);

  const setUi = useCallback((patch: Partial<UiState>) => {
    setUiState((u) => {
      const next = { ...u, ...patch };
      saveUiState(next);
      return next;
    });
  }, []);

  const notify = useCallback((message: string) => setToast(message), []);
  useEffect(() => {
    if (!toast) return;
    const t = setTimeout(() => setToast(null), 6000);
    return () => clearTimeout(t);
  }, [toast]);

  /** Takes the current summaries of these notes: each row moves, appears or leaves by itself. */
  const refreshRows = useCallback(async (ids: readonly string[]) => {
    if (ids.length === 0) return;
    try {
      const fresh = await api.summaries(ids);
      const found = new Set(fresh.map((n) => n.id));
      setList((l) => applySummaries(l, fresh, ids.filter((id) => !found.has(id))));
      setConflicted((c) => {
        const next = new Set(c);
        for (const id of ids) next.delete(id);
        for (const n of fresh) if (n.conflicted && !n.trashed) next.add(n.id);
        return next.size === c.size && [...next].every((id) => c.has(id)) ? c : next;
      });
    } catch (e) {
      notify(`Could not refresh the notes: ${errorMessage(e)}`);
    }
  }, [api, notify]);

  /** The top of the list again (events may have been missed while the window was away). */
  const refreshList = useCallback(async () => {
    try {
      const [page, withConflicts] = await Promise.all([api.notesPage({ limit: PAGE }), api.conflicts()]);
      setList((l) => mergeFirstPage(l, page));
      setConflicted(new Set(withConflicts.filter((n) => !n.trashed).map((n) => n.id)));
    } catch (e) {
      notify(`Could not refresh the notes: ${errorMessage(e)}`);
    }
  }, [api, notify]);

  /**
   * Fresh summaries of the rows on screen, after a sync session: watermarks advance without a
   * notes-changed event, so "on N of M devices" would otherwise stay stale. Only rows that changed
   * are replaced; never the whole list (it may hold 100k rows).
   */
  const refreshShownRows = useCallback(async () => {
    const ids = shownRows.current;
    if (ids.length === 0) return;
    try {
      const fresh = await api.summaries(ids);
      setList((l) => {
        const { changed, gone } = changedSummaries(l, ids, fresh);
        return changed.length === 0 && gone.length === 0 ? l : applySummaries(l, changed, gone);
      });
    } catch {
      // Quietly: the next sync-state event tries again, and a toast per session would be noise.
    }
  }, [api]);

  // One page request at a time; asked again by the list while it stays near its end.
  const loadingMore = useRef<Promise<void> | null>(null);
  const loadMore = useCallback((atEnd = false): Promise<void> => {
    const cursor = listRef.current.next;
    if (cursor === null) return Promise.resolve();
    loadingMore.current ??= api.notesPage({ limit: atEnd ? BIG_PAGE : PAGE, cursor }).then((page) => {
      setList((l) => (l.next === cursor ? appendPage(l, page) : l));
    }, (e) => {
      pendingStep.current = 0;
      notify(`Could not load more notes: ${errorMessage(e)}`);
    }).finally(() => {
      loadingMore.current = null;
    });
    return loadingMore.current;
  }, [api, notify]);

  const refreshSync = useCallback(async () => {
    try {
      setSync(await api.syncState());
      setSyncError(null);
    } catch (e) {
      setSyncError(errorCode(e) === 'E_SYNC_OFF' ? 'Sync is off on this host: notes stay on this device.' : `Sync state unavailable: ${errorMessage(e)}`);
    }
  }, [api]);

  // Start: UI state and the first page of notes, then (not in the way of the first paint) leftover
  // drafts of notes that are not open, the conflict count and the sync state.
  useEffect(() => {
    let live = true;
    (async () => {
      const [saved, page, drafts] = await Promise.all([loadUiState(), api.notesPage({ limit: PAGE }), leftoverDrafts()]);
      const first = page.notes;
      // The note open last time may be far down the list: ask for it by id.
      let selectedId: string | null = first[0]?.id ?? null;
      if (saved.selectedId && (first.some((n) => n.id === saved.selectedId) || (await api.summaries([saved.selectedId])).some((n) => !n.trashed))) selectedId = saved.selectedId;
      if (!live) return;
      setUiState({ ...saved, selectedId, sidebarWidth: Math.min(SIDEBAR_MAX, Math.max(SIDEBAR_MIN, saved.sidebarWidth)) });
      setList({ rows: first, next: page.next });
      setReady(true);
      void refreshSync();
      api.conflicts().then((withConflicts) => live && setConflicted(new Set(withConflicts.filter((n) => !n.trashed).map((n) => n.id))), (e) => notify(`Could not count the conflicts: ${errorMessage(e)}`));
      // Saving a draft is a write like any other: its notes-changed event moves its row.
      for (const d of drafts) {
        if (d.id === selectedId) continue; // the editor restores it in place
        await saveLeftover(api, d).catch((e) => notify(`A draft could not be saved yet (kept on this device): ${errorMessage(e)}`));
      }
    })().catch((e) => live && setFatal(fatalOf(e)));
    return () => {
      live = false;
    };
  }, [api, notify, refreshSync]);

  // Live updates: only the notes an event names are fetched, coalesced over a burst of events.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const named = new Set<string>();
    const refreshShown = throttle(() => void refreshShownRows(), SHOWN_ROWS_REFRESH_MS);
    const unsubscribe = api.subscribe((ev) => {
      if (ev.type === 'sync-state') {
        setSync(ev.state);
        setSyncError(null);
        setSyncSeq((n) => n + 1);
        refreshShown();
        return;
      }
      setChange((c) => ({ ids: ev.ids, seq: (c?.seq ?? 0) + 1 }));
      setVersion((v) => v + 1);
      if (ev.origin === 'gossip' || ev.origin === 'anti-entropy') {
        const t = Date.now();
        const from = arrivedFrom(syncRef.current);
        setArrived((m) => {
          const next = new Map(m);
          for (const id of ev.ids) next.set(id, { at: t, from });
          return next;
        });
      }
      for (const id of ev.ids) named.add(id);
      timer ??= setTimeout(() => {
        timer = null;
        const ids = [...named];
        named.clear();
        // summaries() takes at most 1000 ids: a bigger burst refetches the top of the list.
        if (ids.length > 1000) void refreshList();
        else void refreshRows(ids);
      }, EVENT_BATCH_MS);
    });
    // Events sent while the stream was down are not replayed: refetch when the window comes back.
    const onFocus = (): void => {
      void refreshList();
      void refreshSync();
      setVersion((v) => v + 1);
    };
    window.addEventListener('focus', onFocus);
    return () => {
      unsubscribe();
      refreshShown.cancel();
      window.removeEventListener('focus', onFocus);
      if (timer) clearTimeout(timer);
    };
  }, [api, refreshList, refreshRows, refreshShownRows, refreshSync]);

  useEffect(() => onPendingChange(() => setPending(pendingIds())), []);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 10_000);
    return () => clearInterval(t);
  }, []);

  // Search as you type (FTS on the host), debounced, paged like the list; results follow note
  // changes too (the first page again).
  /** The query the shown hits are for: a page that arrives for another one is dropped. */
  const searchRun = useRef('');
  useEffect(() => {
    const q = query.trim();
    if (!q) {
      setHits(null);
      setHitsNext(null);
      setSearchError(null);
      searchRun.current = '';
      return;
    }
    let live = true;
    const t = setTimeout(() => {
      api.searchPage(q, { limit: PAGE }).then((page) => {
        if (!live) return;
        searchRun.current = q;
        setHits(page.hits);
        setHitsNext(page.next);
        setSearchError(null);
      }, (e) => live && setSearchError(errorMessage(e)));
    }, 120);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [api, query, version]);

  const searchingMore = useRef(false);
  const loadMoreHits = useCallback(() => {
    const q = searchRun.current;
    if (hitsNext === null || searchingMore.current || !q) return;
    searchingMore.current = true;
    api.searchPage(q, { limit: PAGE, cursor: hitsNext }).then((page) => {
      if (searchRun.current !== q) return;
      setHits((h) => {
        const shown = new Set((h ?? []).map((x) => x.id));
        return [...(h ?? []), ...page.hits.filter((x) => !shown.has(x.id))];
      });
      setHitsNext(page.next);
    }, (e) => setSearchError(errorMessage(e))).finally(() => {
      searchingMore.current = false;
    });
  }, [api, hitsNext]);

  const onRowsShown = useCallback((ids: readonly string[]) => {
    shownRows.current = ids;
  }, []);

  const byId = useMemo(() => new Map(notes.map((n) => [n.id, n])), [notes]);
  const shared = sharedUpTo(sync);
  // With no other device paired yet every note is local: a badge on each would only be noise.
  const hasPeers = (sync?.peers.length ?? 0) > 0;

  const badgesFor = useCallback((id: string): Badge[] => {
    const n = byId.get(id);
    const out: Badge[] = [];
    if (n?.conflicted) out.push({ kind: 'conflicted' });
    if (pending.has(id)) out.push({ kind: 'pending' });
    const a = arrived.get(id);
    if (a !== undefined && now - a.at < UPDATED_BADGE_MS) out.push({ kind: 'updated', from: a.from });
    else if (n && !pending.has(id) && hasPeers && n.updated > shared) out.push({ kind: 'local-only' });
    return out;
  }, [byId, pending, arrived, now, shared, hasPeers]);

  // Rows keep their identity across events (only the named ones are new objects), so with the
  // cache a change costs one new item, not one per loaded note. Badges are computed per visible row.
  const itemCache = useRef(new WeakMap<NoteSummary, ListItem>());
  const items: ListItem[] = useMemo(() => {
    if (hits) return hits.map((h) => ({ id: h.id, title: h.title, detail: h.snippet, updated: byId.get(h.id)?.updated ?? null, devices: byId.get(h.id)?.devices ?? null }));
    const cache = itemCache.current;
    return notes.map((n) => {
      let item = cache.get(n);
      if (item === undefined) {
        item = { id: n.id, title: n.title, detail: plainExcerpt(n.excerpt), updated: n.updated, devices: n.devices };
        cache.set(n, item);
      }
      return item;
    });
  }, [hits, notes, byId]);

  // Alt+Down past the last loaded row asked for the next page: step once it is in.
  const pendingStep = useRef(0);

  const select = useCallback((id: string, focus: 'title' | 'body' | null = null) => {
    // Already open: focus it now; otherwise once the new editor is mounted (effect below).
    if (id === uiRef.current.selectedId && uiRef.current.view === 'notes') {
      if (focus === 'title') editorRef.current?.focusTitle();
      else if (focus === 'body') editorRef.current?.focusBody();
      return;
    }
    focusAfterSwitch.current = focus;
    setUi({ selectedId: id, view: 'notes' });
  }, [setUi]);

  useEffect(() => {
    // The editor of a just-created note took it in its mount effect (children's effects run
    // first); reopening that note later must fetch it, never reuse this stale copy.
    created.current = null;
    const f = focusAfterSwitch.current;
    focusAfterSwitch.current = null;
    if (f === 'title') editorRef.current?.focusTitle();
    else if (f === 'body') editorRef.current?.focusBody();
  }, [ui.selectedId, ui.view]);

  const newNote = useCallback(async () => {
    try {
      await editorRef.current?.flush();
      const note = await api.createNote({});
      const summary: NoteSummary = { id: note.id, title: note.title, excerpt: '', created: note.created, updated: note.updated, trashed: false, conflicted: false, devices: { holding: 0, paired: 0 } };
      setList((l) => applySummaries(l, [summary]));
      created.current = note;
      setQuery('');
      select(note.id, 'title');
    } catch (e) {
      notify(`Could not create a note: ${errorMessage(e)}`);
    }
  }, [api, notify, select]);

  const hasMore = hits ? hitsNext !== null : list.next !== null;
  const step = useCallback((delta: number) => {
    if (items.length === 0) return;
    const i = items.findIndex((x) => x.id === ui.selectedId);
    // Past the last loaded row: load the next page, then step onto it (Alt+Down across pages).
    if (i >= 0 && i + delta >= items.length && !hits && hasMore) {
      pendingStep.current = delta;
      void loadMore();
      return;
    }
    const next = items[i < 0 ? 0 : Math.min(items.length - 1, Math.max(0, i + delta))];
    const active = document.activeElement;
    // Keep typing where you were: in the editor, the new note's editor takes the focus.
    const inEditor = active !== null && active.closest('.note-editor') !== null;
    if (next && next.id !== ui.selectedId) select(next.id, inEditor ? 'body' : null);
  }, [items, ui.selectedId, select, hits, hasMore, loadMore]);

  useEffect(() => {
    const delta = pendingStep.current;
    if (delta === 0) return;
    const i = items.findIndex((x) => x.id === ui.selectedId);
    if (i >= 0 && i + delta < items.length) {
      pendingStep.current = 0;
      step(delta);
    } else if (!hasMore) pendingStep.current = 0;
  }, [items, ui.selectedId, step, hasMore]);

  const onTrashed = useCallback((id: string) => {
    const i = items.findIndex((x) => x.id === id);
    const rest = items.filter((x) => x.id !== id);
    setList((l) => applySummaries(l, [], [id]));
    setUi({ selectedId: rest[Math.min(i, rest.length - 1)]?.id ?? null });
    notify('Moved to the trash. Restore it from Trash.');
  }, [items, setUi, notify]);

  // Global shortcuts, in the capture phase so they also work inside the editor.
  const keyState = useRef({ newNote, step, setUi, query });
  keyState.current = { newNote, step, setUi, query };
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (document.querySelector('dialog[open]')) return;
      const id = matchShortcut(e);
      if (!id) return;
      const s = keyState.current;
      const take = (): void => {
        e.preventDefault();
        e.stopPropagation();
      };
      switch (id) {
        case 'new-note':
          take();
          void s.newNote();
          break;
        case 'search': {
          take();
          // Focus at once when the box is on screen: the next keystrokes must land in it.
          const focusSearch = (): void => {
            searchRef.current?.focus();
            searchRef.current?.select();
          };
          if (searchRef.current) focusSearch();
          else {
            s.setUi({ view: 'notes' });
            requestAnimationFrame(focusSearch);
          }
          break;
        }
        case 'next-note':
        case 'prev-note':
          take();
          s.step(id === 'next-note' ? 1 : -1);
          break;
        case 'leave-search':
          if (e.composedPath().includes(searchRef.current as EventTarget)) {
            take();
            setQuery('');
            searchRef.current?.blur();
            document.querySelector<HTMLElement>('[data-testid="notes-list"]')?.focus();
          }
          break;
        case 'help':
          take();
          setHelp(true);
          break;
        default:
          take();
          s.setUi({ view: id.slice('view-'.length) as View });
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, []);

  if (fatal) {
    return (
      <main className="fatal" role="alert" data-testid="fatal-error">
        <h1>{fatal.title}</h1>
        <p>{fatal.detail}</p>
      </main>
    );
  }
  if (!ready) return <main className="loading" aria-busy="true"><p className="muted">Opening your notes…</p></main>;

  const conflictCount = conflicted.size;
  const connected = sync?.peers.filter((p) => p.connected).length ?? 0;
  const mod = isMac ? '⌘' : 'Ctrl';

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand" aria-hidden="true">LAN Notes</div>
        <nav aria-label="Views" className="views">
          {VIEWS.map((v) => (
            <button
              key={v.id}
              type="button"
              className="view-tab"
              aria-current={ui.view === v.id ? 'page' : undefined}
              data-testid={`nav-${v.id}`}
              onClick={() => {
                if (v.id === 'conflicts') setConflictFocus(null);
                setUi({ view: v.id });
              }}
            >
              {v.label}
              {v.id === 'conflicts' && conflictCount > 0 && <span className="count" data-testid="conflict-count" aria-label={`${conflictCount} notes with conflicts`}>{conflictCount}</span>}
            </button>
          ))}
        </nav>
        <div className="topbar-right">
          <MarkdownMenu api={api} onImported={() => void refreshList()} />
          <span className={`sync-status ${syncError ? 'off' : connected > 0 ? 'ok' : 'idle'}`} data-testid="sync-status" role="status">
            <span className="dot" aria-hidden="true" />
            {syncError ? 'Sync off' : sync ? (connected > 0 ? `${connected} device${connected === 1 ? '' : 's'} connected` : 'No devices connected') : 'Connecting…'}
          </span>
          <button type="button" className="btn subtle" data-testid="shortcuts-button" aria-keyshortcuts="?" onClick={() => setHelp(true)}>Shortcuts <kbd>?</kbd></button>
        </div>
      </header>
      {/* Always in the grid (a row of its own, empty and 0 high while no large transfer runs). */}
      <div className="sync-progress-row">{sync?.progress && <TransferProgress progress={sync.progress} peers={sync.peers} />}</div>

      {ui.view === 'notes' && (
        <main className="notes-layout" style={{ '--sidebar-width': `${ui.sidebarWidth}px` } as CSSProperties}>
          <aside className="sidebar" aria-label="Notes list">
            <div className="sidebar-top">
              <div role="search" className="search">
                <label htmlFor="search" className="visually-hidden">Search notes</label>
                <input
                  id="search"
                  ref={searchRef}
                  type="search"
                  className="input"
                  data-testid="search-input"
                  placeholder={`Search   ${mod}+K`}
                  value={query}
                  autoComplete="off"
                  aria-keyshortcuts={isMac ? 'Meta+K /' : 'Control+K /'}
                  onChange={(e) => setQuery(e.target.value)}
                  onKeyDown={(e) => {
                    if (e.key === 'ArrowDown' && !e.altKey && items[0]) {
                      e.preventDefault();
                      select(items[0].id);
                      document.querySelector<HTMLElement>('[data-testid="notes-list"]')?.focus();
                    } else if (e.key === 'Enter' && items[0]) {
                      select(items[0].id, 'body');
                    }
                  }}
                />
              </div>
              <button type="button" className="btn primary" data-testid="new-note" aria-keyshortcuts={isMac ? 'Meta+N Alt+N' : 'Control+N Alt+N'} onClick={() => void newNote()}>
                New
              </button>
            </div>
            {searchError && <p className="error small" role="alert">Search failed: {searchError}</p>}
            {hits && <p className="muted small list-caption" role="status" data-testid="search-count">{hits.length}{hitsNext !== null ? '+' : ''} {hits.length === 1 && hitsNext === null ? 'match' : 'matches'}</p>}
            <div className="list-area">
              <NotesList
                items={items}
                badgesFor={badgesFor}
                selectedId={ui.selectedId}
                label={hits ? 'Search results' : 'Notes, newest first'}
                emptyText={hits ? 'No note matches.' : 'No notes yet. Press Alt+N to write one.'}
                hasMore={hasMore}
                onNearEnd={hits ? loadMoreHits : loadMore}
                onSelect={(id) => select(id)}
                onOpen={(id) => select(id, 'body')}
                onRowsShown={onRowsShown}
              />
            </div>
            <footer className="sidebar-foot muted small">
              <span><kbd>Alt N</kbd> new</span>
              <span><kbd>{mod} K</kbd> search</span>
              <span><kbd>Alt ↑↓</kbd> switch</span>
            </footer>
          </aside>
          <Splitter width={ui.sidebarWidth} min={SIDEBAR_MIN} max={SIDEBAR_MAX} label="Resize the notes list" onChange={(w) => setUi({ sidebarWidth: w })} />
          {ui.selectedId ? (
            <NoteEditor
              key={ui.selectedId}
              ref={editorRef}
              api={api}
              id={ui.selectedId}
              initial={created.current}
              change={change}
              onTrashed={onTrashed}
              onOpenConflicts={(id) => {
                setConflictFocus(id);
                setUi({ view: 'conflicts' });
              }}
              onError={notify}
              self={sync?.replicaId ?? null}
              syncSeq={syncSeq}
            />
          ) : (
            <section className="note-editor empty" aria-label="Note">
              <div className="empty-state">
                <p>No note open.</p>
                <p className="muted">Press <kbd>Alt</kbd>+<kbd>N</kbd> or <kbd>{mod}</kbd>+<kbd>N</kbd> for a new note.</p>
              </div>
            </section>
          )}
        </main>
      )}
      {ui.view === 'conflicts' && (
        <main className="view-main">
          <ConflictsView api={api} version={version} focusId={conflictFocus} sync={sync} onOpenNote={(id) => select(id, 'body')} />
        </main>
      )}
      {ui.view === 'pairing' && <main className="view-main"><PairingView api={api} sync={sync} syncError={syncError} /></main>}
      {ui.view === 'trash' && <main className="view-main"><TrashView api={api} version={version} onRestored={(id) => void refreshRows([id])} /></main>}
      {ui.view === 'debug' && <main className="view-main"><DebugPanel api={api} sync={sync} syncError={syncError} onRefresh={() => void refreshSync()} /></main>}

      <div className="toast-region" role="status" aria-live="polite" data-testid="toast">{toast && <div className="toast">{toast}<button type="button" className="btn subtle" aria-label="Dismiss" onClick={() => setToast(null)}>×</button></div>}</div>
      <ShortcutsDialog open={help} onClose={() => setHelp(false)} />
    </div>
  );
}
