// Notes whose title or body has concurrent versions (two devices edited offline). Each kept
// version is shown side by side with its device and time; "Keep this one" resolves the field
// with that text, or the user edits a merged text and resolves with it.

import { useEffect, useState } from 'react';
import type { ConflictVersion, Note, NotesApi, SyncState, TextField } from '../../app/api.ts';
import { dateTime, errorMessage, shortId } from '../format.ts';

interface Props {
  readonly api: NotesApi;
  /** Bumped on every notes-changed event: refetch. */
  readonly version: number;
  readonly focusId: string | null;
  /** To name the devices: our replica id, and each peer's. */
  readonly sync: SyncState | null;
  readonly onOpenNote: (id: string) => void;
}

export function ConflictsView({ api, version, focusId, sync, onOpenNote }: Props) {
  const deviceName = (device: string): string => {
    if (device === sync?.replicaId) return 'This device';
    const peer = sync?.peers.find((p) => p.replica === device);
    return peer ? peer.name ?? `Peer ${shortId(peer.id, 4)}` : `Device ${shortId(device, 4)}`;
  };
  const [notes, setNotes] = useState<Note[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api.conflicts().then((n) => {
      if (!live) return;
      // The note the user came from first.
      setNotes([...n].sort((a, b) => Number(b.id === focusId) - Number(a.id === focusId) || b.updated - a.updated));
      setError(null);
    }).catch((e) => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [api, version, focusId]);

  return (
    <section className="panel conflicts-view" aria-labelledby="conflicts-heading" data-testid="conflicts-view">
      <header className="panel-header">
        <h1 id="conflicts-heading">Conflicts</h1>
        <p className="muted">
          When two devices change the same note without seeing each other&apos;s change, both versions are kept. Pick one, or merge them.
        </p>
      </header>
      {error && <p className="error" role="alert">Could not load conflicts: {error}</p>}
      {notes === null && !error && <p className="muted">Loading…</p>}
      {notes?.length === 0 && <p className="empty-state" data-testid="conflicts-empty">No conflicts. Every note has one version.</p>}
      {notes?.map((note) => (
        <article key={note.id} className="conflict-note card" data-testid="conflict-note" data-note-id={note.id} aria-label={`Conflicts in ${note.title || 'Untitled'}`}>
          <header className="conflict-note-header">
            <h2>{note.title || 'Untitled'}</h2>
            <button type="button" className="btn subtle" onClick={() => onOpenNote(note.id)}>Open note</button>
          </header>
          {(['title', 'body'] as const).map((field) => {
            const versions = note.conflicts[field];
            return versions && versions.length > 1 ? (
              <FieldConflict key={`${field}-${note.updated}`} api={api} note={note} field={field} versions={versions} deviceName={deviceName} />
            ) : null;
          })}
        </article>
      ))}
    </section>
  );
}

function FieldConflict({ api, note, field, versions, deviceName }: { api: NotesApi; note: Note; field: TextField; versions: readonly ConflictVersion[]; deviceName: (device: string) => string }) {
  const texts = versions.map((v) => v.value ?? '');
  // The host's 3-way merge with only the overlapping regions marked, where it knows the common
  // ancestor; otherwise every version one after the other.
  const [merged, setMerged] = useState(() => note.merged?.[field] ?? (field === 'title' ? [...new Set(texts)].join(' / ') : [...new Set(texts)].join('\n\n')));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [merging, setMerging] = useState(false);

  const resolve = async (value: string): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await api.resolve(note.id, field, value);
      // The notes-changed event refetches the list; this field's conflict disappears from it.
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  };

  const id = `merge-${note.id}-${field}`;
  return (
    <section className="field-conflict" data-testid="field-conflict" data-field={field} aria-label={`${field === 'title' ? 'Title' : 'Body'}: ${versions.length} versions`}>
      <h3>{field === 'title' ? 'Title' : 'Body'} <span className="muted">· {versions.length} versions</span></h3>
      <div className="versions">
        {versions.map((v, i) => (
          <div key={`${v.device}-${v.wall}-${i}`} className="version card" data-testid="conflict-version" data-device={v.device}>
            <div className="version-meta">
              <span className="device" title={`device ${v.device}`} data-testid="conflict-device">{deviceName(v.device)}</span>
              <time className="muted" dateTime={new Date(v.wall).toISOString()}>{dateTime(v.wall)}</time>
              {i === 0 && <span className="badge badge-shown" title="The version the note shows until you resolve">shown</span>}
            </div>
            <pre className={`version-text ${field}`} data-testid="conflict-version-text">{v.value ?? <em className="muted">(deleted)</em>}</pre>
            <button type="button" className="btn primary" data-testid="keep-version" disabled={busy} onClick={() => void resolve(v.value ?? '')}>
              Keep this one
            </button>
          </div>
        ))}
      </div>
      {merging ? (
        <div className="merge">
          <label htmlFor={id}>Merged {field}</label>
          {field === 'title' ? (
            <input id={id} className="input" data-testid="merge-text" value={merged} onChange={(e) => setMerged(e.target.value)} />
          ) : (
            <textarea id={id} className="input" data-testid="merge-text" rows={Math.min(16, Math.max(4, merged.split('\n').length + 1))} value={merged} onChange={(e) => setMerged(e.target.value)} />
          )}
          <div className="row">
            <button type="button" className="btn primary" data-testid="resolve-merged" disabled={busy} onClick={() => void resolve(merged)}>Resolve with this text</button>
            <button type="button" className="btn subtle" onClick={() => setMerging(false)}>Cancel</button>
          </div>
        </div>
      ) : (
        <button type="button" className="btn" data-testid="merge-button" onClick={() => setMerging(true)}>Merge by hand…</button>
      )}
      {error && <p className="error" role="alert" data-testid="resolve-error">Could not resolve: {error}</p>}
    </section>
  );
}
