// Trashed notes, newest first, each with "Restore". Trashing is a synced write like any other,
// so a note trashed on one device shows up here on all of them. Paged: the first page, then
// "Show more"; a change refetches the first page and keeps what was loaded below it.

import { useEffect, useState } from 'react';
import type { NotesApi } from '../../app/api.ts';
import { appendPage, mergeFirstPage, type LoadedList } from '../list-model.ts';
import { dateTime, errorMessage, firstLine, plainExcerpt, timeAgo } from '../format.ts';

const PAGE = 200;

interface Props {
  readonly api: NotesApi;
  readonly version: number;
  readonly onRestored: (id: string) => void;
}

export function TrashView({ api, version, onRestored }: Props) {
  const [list, setList] = useState<LoadedList | null>(null);
  const notes = list?.rows ?? null;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api.notesPage({ trashed: true, limit: PAGE }).then((page) => {
      if (!live) return;
      setList((l) => (l === null ? { rows: page.notes, next: page.next } : mergeFirstPage(l, page)));
      setError(null);
    }).catch((e) => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [api, version]);

  const restore = async (id: string): Promise<void> => {
    setBusy(id);
    try {
      await api.restoreNote(id);
      setList((l) => (l === null ? null : { rows: l.rows.filter((x) => x.id !== id), next: l.next }));
      onRestored(id);
    } catch (e) {
      setError(`Could not restore: ${errorMessage(e)}`);
    } finally {
      setBusy(null);
    }
  };

  const showMore = async (): Promise<void> => {
    const cursor = list?.next;
    if (!cursor) return;
    setBusy('more');
    try {
      const page = await api.notesPage({ trashed: true, limit: PAGE, cursor });
      setList((l) => (l !== null && l.next === cursor ? appendPage(l, page) : l));
    } catch (e) {
      setError(`Could not load more: ${errorMessage(e)}`);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="panel trash-view" aria-labelledby="trash-heading" data-testid="trash-view">
      <header className="panel-header">
        <h1 id="trash-heading">Trash</h1>
        <p className="muted">Notes moved to the trash on any of your devices. Restoring one brings it back everywhere.</p>
      </header>
      {error && <p className="error" role="alert">{error}</p>}
      {notes === null && !error && <p className="muted">Loading…</p>}
      {notes?.length === 0 && <p className="empty-state" data-testid="trash-empty">The trash is empty.</p>}
      {notes && notes.length > 0 && (
        <ul className="trash-list">
          {notes.map((n) => (
            <li key={n.id} className="card trash-item" data-testid="trash-item" data-note-id={n.id}>
              <div>
                <div className="note-item-title">{n.title.trim() || firstLine(n.excerpt) || 'Untitled'}</div>
                <div className="muted small trash-excerpt">{plainExcerpt(n.excerpt)}</div>
                <time className="muted small" title={dateTime(n.updated)}>Changed {timeAgo(n.updated)}</time>
              </div>
              <button type="button" className="btn" data-testid="restore-button" disabled={busy === n.id} onClick={() => void restore(n.id)}>Restore</button>
            </li>
          ))}
        </ul>
      )}
      {list?.next && <button type="button" className="btn" data-testid="trash-more" disabled={busy === 'more'} onClick={() => void showMore()}>Show more</button>}
    </section>
  );
}
