// Trashed notes, newest first, each with "Restore". Trashing is a synced write like any other,
// so a note trashed on one device shows up here on all of them.

import { useEffect, useState } from 'react';
import type { NoteSummary, NotesApi } from '../../app/api.ts';
import { dateTime, errorMessage, firstLine, plainExcerpt, timeAgo } from '../format.ts';

interface Props {
  readonly api: NotesApi;
  readonly version: number;
  readonly onRestored: (id: string) => void;
}

export function TrashView({ api, version, onRestored }: Props) {
  const [notes, setNotes] = useState<NoteSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api.listNotes({ trashed: true }).then((n) => {
      if (!live) return;
      setNotes([...n].sort((a, b) => b.updated - a.updated));
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
      setNotes((n) => n?.filter((x) => x.id !== id) ?? null);
      onRestored(id);
    } catch (e) {
      setError(`Could not restore: ${errorMessage(e)}`);
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
    </section>
  );
}
