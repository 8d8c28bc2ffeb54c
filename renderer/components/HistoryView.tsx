// A note's version history: the superseded versions of its title and body kept on this device
// (newest first), each with the device that wrote it and when; the selected one is shown as a
// line diff against the current text, and "Restore this version" saves it as a normal edit (with
// its base, so nothing written elsewhere meanwhile is lost).

import { diffComm } from 'node-diff3';
import { useEffect, useState } from 'react';
import type { HistoryVersion, Note, NotesApi, TextField } from '../../app/api.ts';
import { dateTime, errorMessage, shortId, timeAgo } from '../format.ts';

interface Props {
  readonly api: NotesApi;
  readonly note: Note;
  /** This device's id, to name its own versions. */
  readonly self: string | null;
  readonly onRestore: (field: TextField, text: string) => void;
  readonly onClose: () => void;
}

export function HistoryView({ api, note, self, onRestore, onClose }: Props) {
  const [versions, setVersions] = useState<HistoryVersion[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api.history(note.id).then((h) => {
      if (!live) return;
      setVersions(h);
      setSelected((s) => s ?? (h[0] ? keyOf(h[0]) : null));
    }).catch((e) => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [api, note.id, note.updated]);

  const chosen = versions?.find((v) => keyOf(v) === selected) ?? null;
  const device = (d: string): string => (d === self ? 'This device' : `Device ${shortId(d, 4)}`);

  return (
    <section className="history-view" aria-label="Version history" data-testid="history-view">
      <header className="history-header">
        <h2>History</h2>
        <span className="muted">Earlier versions kept on this device (newest 200 per field, up to a year).</span>
        <button type="button" className="btn" data-testid="history-close" onClick={onClose}>Back to the note</button>
      </header>
      {error && <p role="alert" className="error">Could not load the history: {error}</p>}
      {versions !== null && versions.length === 0 && <p className="muted" data-testid="history-empty">No earlier versions yet.</p>}
      {versions !== null && versions.length > 0 && (
        <div className="history-body">
          <ol className="history-list" aria-label="Versions">
            {versions.map((v) => (
              <li key={keyOf(v)}>
                <button
                  type="button"
                  className="history-entry"
                  data-testid="history-entry"
                  aria-current={keyOf(v) === selected ? 'true' : undefined}
                  onClick={() => setSelected(keyOf(v))}
                >
                  <span className="badge">{v.field}</span>
                  <span className="history-excerpt">{excerpt(v.text)}</span>
                  <span className="muted" title={dateTime(v.time)}>{device(v.device)}, {timeAgo(v.time)}</span>
                </button>
              </li>
            ))}
          </ol>
          {chosen && (
            <div className="history-detail">
              <p className="muted">
                {chosen.field === 'title' ? 'Title' : 'Body'} written on {device(chosen.device)} {dateTime(chosen.time)}; replaced {dateTime(chosen.supersededAt)}.
                Lines only in this version are marked −, lines only in the current text +.
              </p>
              <pre className="history-diff" data-testid="history-diff">
                {diffLines(chosen.text, note[chosen.field]).map((l, i) => (
                  <span key={i} className={`diff-${l.kind}`}>{l.kind === 'old' ? '− ' : l.kind === 'new' ? '+ ' : '  '}{l.text}{'\n'}</span>
                ))}
              </pre>
              <button type="button" className="btn primary" data-testid="restore-version" onClick={() => onRestore(chosen.field, chosen.text)}>
                Restore this version
              </button>
            </div>
          )}
        </div>
      )}
    </section>
  );
}

function keyOf(v: HistoryVersion): string {
  return `${v.field}/${v.version}`;
}

function excerpt(text: string): string {
  const first = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return first.length > 60 ? `${first.slice(0, 60)}…` : first || '(empty)';
}

function diffLines(old: string, current: string): { kind: 'same' | 'old' | 'new'; text: string }[] {
  const out: { kind: 'same' | 'old' | 'new'; text: string }[] = [];
  for (const part of diffComm(old.split('\n'), current.split('\n'))) {
    if (part.common) out.push(...part.common.map((text) => ({ kind: 'same' as const, text })));
    else {
      out.push(...(part.buffer1 ?? []).map((text) => ({ kind: 'old' as const, text })));
      out.push(...(part.buffer2 ?? []).map((text) => ({ kind: 'new' as const, text })));
    }
  }
  return out;
}
