// The application shell: top navigation, the notes view (sidebar list + editor), the other views,
// global shortcuts, and the live wiring to the host: every notes-changed event refetches what is
// shown, every sync-state event replaces the sync state. The only door to the host is `api`
// (window.notesApi, the NotesApi contract of app/api.ts).

import { useCallback, useEffect, useMemo, useRef, useState, type CSSProperties } from 'react';
import type { Note, NoteSummary, NotesApi, SearchHit, SyncState } from '../app/api.ts';
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
import { errorCode, errorMessage, plainExcerpt } from './format.ts';
import { isMac, matchShortcut } from './shortcuts.ts';

/** How long a note keeps its "synced" badge after an update arrived from a peer. */
const SYNCED_BADGE_MS = 30_000;
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

const byNewest = (a: NoteSummary, b: NoteSummary): number => b.updated - a.updated || a.id.localeCompare(b.id);

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

export function App({ api }: { api: NotesApi }) {
  const [ready, setReady] = useState(false);
  const [fatal, setFatal] = useState<Fatal | null>(null);
  const [ui, setUiState] = useState<UiState>(DEFAULT_UI);
  const uiRef = useRef(ui);
  uiRef.current = ui;
  const [notes, setNotes] = useState<NoteSummary[]>([]);
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [searchError, setSearchError] = useState<string | null>(null);
  const [sync, setSync] = useState<SyncState | null>(null);
  const [syncError, setSyncError] = useState<string | null>(null);
  const [synced, setSynced] = useState<ReadonlyMap<string, number>>(new Map());
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

  const refreshList = useCallback(async () => {
    try {
      setNotes((await api.listNotes()).sort(byNewest));
    } catch (e) {
      notify(`Could not refresh the notes: ${errorMessage(e)}`);
    }
  }, [api, notify]);

  const refreshSync = useCallback(async () => {
    try {
      setSync(await api.syncState());
      setSyncError(null);
    } catch (e) {
      setSyncError(errorCode(e) === 'E_SYNC_OFF' ? 'Sync is off on this host: notes stay on this device.' : `Sync state unavailable: ${errorMessage(e)}`);
    }
  }, [api]);

  // Start: UI state, notes, leftover drafts of notes that are not open, sync state.
  useEffect(() => {
    let live = true;
    (async () => {
      const [saved, list] = await Promise.all([loadUiState(), api.listNotes()]);
      const sorted = list.sort(byNewest);
      const selectedId = saved.selectedId && sorted.some((n) => n.id === saved.selectedId) ? saved.selectedId : sorted[0]?.id ?? null;
      for (const d of await leftoverDrafts()) {
        if (d.id === selectedId) continue; // the editor restores it in place
        await saveLeftover(api, d).catch((e) => notify(`A draft could not be saved yet (kept on this device): ${errorMessage(e)}`));
      }
      if (!live) return;
      setUiState({ ...saved, selectedId, sidebarWidth: Math.min(SIDEBAR_MAX, Math.max(SIDEBAR_MIN, saved.sidebarWidth)) });
      setNotes(sorted);
      setReady(true);
      void refreshSync();
      // Leftover drafts may have changed the list.
      void refreshList();
    })().catch((e) => live && setFatal(fatalOf(e)));
    return () => {
      live = false;
    };
  }, [api, notify, refreshList, refreshSync]);

  // Live updates: refetch what changed. The list refresh is coalesced over bursts of events.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const unsubscribe = api.subscribe((ev) => {
      if (ev.type === 'sync-state') {
        setSync(ev.state);
        setSyncError(null);
        return;
      }
      setChange((c) => ({ ids: ev.ids, seq: (c?.seq ?? 0) + 1 }));
      setVersion((v) => v + 1);
      if (ev.origin === 'gossip' || ev.origin === 'anti-entropy') {
        const t = Date.now();
        setSynced((m) => {
          const next = new Map(m);
          for (const id of ev.ids) next.set(id, t);
          return next;
        });
      }
      timer ??= setTimeout(() => {
        timer = null;
        void refreshList();
      }, 80);
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
      window.removeEventListener('focus', onFocus);
      if (timer) clearTimeout(timer);
    };
  }, [api, refreshList, refreshSync]);

  useEffect(() => onPendingChange(() => setPending(pendingIds())), []);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 10_000);
    return () => clearInterval(t);
  }, []);

  // Search as you type (FTS on the host), debounced; results follow note changes too.
  useEffect(() => {
    const q = query.trim();
    if (!q) {
      setHits(null);
      setSearchError(null);
      return;
    }
    let live = true;
    const t = setTimeout(() => {
      api.search(q).then((h) => {
        if (!live) return;
        setHits(h);
        setSearchError(null);
      }, (e) => live && setSearchError(errorMessage(e)));
    }, 120);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [api, query, version]);

  const byId = useMemo(() => new Map(notes.map((n) => [n.id, n])), [notes]);
  const shared = sharedUpTo(sync);
  // With no other device paired yet every note is local: a badge on each would only be noise.
  const hasPeers = (sync?.peers.length ?? 0) > 0;

  const badgesFor = useCallback((id: string): Badge[] => {
    const n = byId.get(id);
    const out: Badge[] = [];
    if (n?.conflicted) out.push('conflicted');
    if (pending.has(id)) out.push('pending');
    const at = synced.get(id);
    if (at !== undefined && now - at < SYNCED_BADGE_MS) out.push('synced');
    else if (n && !pending.has(id) && hasPeers && n.updated > shared) out.push('local-only');
    return out;
  }, [byId, pending, synced, now, shared, hasPeers]);

  const items: ListItem[] = useMemo(() => {
    if (hits) return hits.map((h) => ({ id: h.id, title: h.title, detail: h.snippet, updated: byId.get(h.id)?.updated ?? null, badges: badgesFor(h.id) }));
    return notes.map((n) => ({ id: n.id, title: n.title, detail: plainExcerpt(n.excerpt), updated: n.updated, badges: badgesFor(n.id) }));
  }, [hits, notes, byId, badgesFor]);

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
      const summary: NoteSummary = { id: note.id, title: note.title, excerpt: '', created: note.created, updated: note.updated, trashed: false, conflicted: false };
      setNotes((list) => [summary, ...list.filter((n) => n.id !== note.id)]);
      created.current = note;
      setQuery('');
      select(note.id, 'title');
    } catch (e) {
      notify(`Could not create a note: ${errorMessage(e)}`);
    }
  }, [api, notify, select]);

  const step = useCallback((delta: number) => {
    if (items.length === 0) return;
    const i = items.findIndex((x) => x.id === ui.selectedId);
    const next = items[i < 0 ? 0 : Math.min(items.length - 1, Math.max(0, i + delta))];
    const active = document.activeElement;
    // Keep typing where you were: in the editor, the new note's editor takes the focus.
    const inEditor = active !== null && active.closest('.note-editor') !== null;
    if (next && next.id !== ui.selectedId) select(next.id, inEditor ? 'body' : null);
  }, [items, ui.selectedId, select]);

  const onTrashed = useCallback((id: string) => {
    const i = items.findIndex((x) => x.id === id);
    const rest = items.filter((x) => x.id !== id);
    setNotes((list) => list.filter((n) => n.id !== id));
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

  const conflictCount = notes.filter((n) => n.conflicted).length;
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
            {hits && <p className="muted small list-caption" role="status" data-testid="search-count">{hits.length} {hits.length === 1 ? 'match' : 'matches'}</p>}
            <div className="list-area">
              <NotesList
                items={items}
                selectedId={ui.selectedId}
                label={hits ? 'Search results' : 'Notes, newest first'}
                emptyText={hits ? 'No note matches.' : 'No notes yet. Press Alt+N to write one.'}
                onSelect={(id) => select(id)}
                onOpen={(id) => select(id, 'body')}
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
      {ui.view === 'trash' && <main className="view-main"><TrashView api={api} version={version} onRestored={() => void refreshList()} /></main>}
      {ui.view === 'debug' && <main className="view-main"><DebugPanel api={api} sync={sync} syncError={syncError} onRefresh={() => void refreshSync()} /></main>}

      <div className="toast-region" role="status" aria-live="polite" data-testid="toast">{toast && <div className="toast">{toast}<button type="button" className="btn subtle" aria-label="Dismiss" onClick={() => setToast(null)}>×</button></div>}</div>
      <ShortcutsDialog open={help} onClose={() => setHelp(false)} />
    </div>
  );
}
