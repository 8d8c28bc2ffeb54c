// The open note: title input, Markdown editor, autosave with its visible state, and the banners
// for a pending conflict or a restored draft. Mounted per note (key = note id).

import { forwardRef, useEffect, useImperativeHandle, useRef, useState } from 'react';
import type { Note, NotesApi, TextField } from '../../app/api.ts';
import { Autosaver, type Fields, type SaveState } from '../autosave.ts';
import { discardDraft, readDraft } from '../drafts.ts';
import { clockTime, dateTime, errorMessage, timeAgo } from '../format.ts';
import { HistoryView } from './HistoryView.tsx';
import { MarkdownEditor, type MarkdownEditorHandle } from './MarkdownEditor.tsx';
import { NoteDevices } from './NoteDevices.tsx';

export interface NoteChange {
  readonly ids: readonly string[];
  readonly seq: number;
}

export interface NoteEditorHandle {
  focusTitle(): void;
  focusBody(): void;
  /** Saves what is typed now; resolves when the host answered (or failed). */
  flush(): Promise<void>;
}

interface Props {
  readonly api: NotesApi;
  readonly id: string;
  /** The note as the host just returned it (a note created this moment): shown without a fetch. */
  readonly initial?: Note | null;
  readonly change: NoteChange | null;
  readonly onTrashed: (id: string) => void;
  readonly onOpenConflicts: (id: string) => void;
  readonly onError: (message: string) => void;
  /** This device's id (names its own versions in the history). */
  readonly self?: string | null;
  /** Counts sync-state events: a session may have proven that another device holds this note. */
  readonly syncSeq?: number;
}

interface Restored {
  readonly at: number;
  /** The host's text that the restored draft replaced, when the note had changed since the draft began. */
  readonly replaced: Fields | null;
}

const SAVED: SaveState = { status: 'saved', error: null, savedAt: null, durable: true };

export const NoteEditor = forwardRef<NoteEditorHandle, Props>(function NoteEditor({ api, id, initial, change, onTrashed, onOpenConflicts, onError, self = null, syncSeq = 0 }, ref) {
  const [note, setNote] = useState<Note | null>(null);
  const [fields, setFields] = useState<Fields>({ title: '', body: '' });
  const [loadError, setLoadError] = useState<string | null>(null);
  const [save, setSave] = useState<SaveState>(SAVED);
  const [restored, setRestored] = useState<Restored | null>(null);
  const [showHistory, setShowHistory] = useState(false);
  const saver = useRef<Autosaver | null>(null);
  const titleRef = useRef<HTMLInputElement>(null);
  const editorRef = useRef<MarkdownEditorHandle>(null);
  const wantFocus = useRef<'title' | 'body' | null>(null);
  /** Shows the saver's text after a remote change: the editor at once (see setValue), then state. */
  const show = (f: Fields): void => {
    editorRef.current?.setValue(f.body);
    // Read when React renders, not now: a key typed before that render is in the saver but not
    // in `f`, and rendering `f` would take it out of the editor again (and put it back after the
    // cursor once the typing's own render came).
    setFields(() => saver.current?.fields() ?? f);
  };

  useImperativeHandle(ref, () => ({
    focusTitle: () => (saver.current ? titleRef.current?.focus() : (wantFocus.current = 'title')),
    focusBody: () => (saver.current ? editorRef.current?.focus() : (wantFocus.current = 'body')),
    flush: () => saver.current?.flush() ?? Promise.resolve(),
  }), []);

  // Load the note and any draft left behind for it; a leftover draft is restored and saved.
  useEffect(() => {
    let live = true;
    let s: Autosaver | null = null;
    (async () => {
      const [n, draft] = await Promise.all([initial?.id === id ? initial : api.getNote(id), readDraft(id)]);
      if (!live) return;
      const reload = (saver: Autosaver): void => {
        api.getNote(id).then((fresh) => {
          if (!live) return;
          setNote(fresh);
          if (saver.applyRemote(fresh)) show(saver.fields());
        }).catch(() => undefined);
      };
      s = new Autosaver(api, n, {
        onState: (st) => live && setSave(st),
        onSaved: (saved) => {
          if (!live) return;
          setNote(saved);
          // A remote change came in while the save was on its way: read the note again.
          if (s?.takeRemoteWhileSaving()) reload(s);
        },
        onMerged: (f) => live && show(f),
        beforeMerge: () => editorRef.current?.flushInput(),
      }, draft?.rev ?? 0);
      saver.current = s;
      setNote(n);
      if (draft && (draft.title !== n.title || draft.body !== n.body)) {
        s.edit({ title: draft.title, body: draft.body });
        void s.flush();
        setRestored({ at: draft.at, replaced: draft.base !== n.updated ? { title: n.title, body: n.body } : null });
      } else if (draft) {
        void discardDraft(id);
      }
      setFields(s.fields());
    })().catch((e) => live && setLoadError(errorMessage(e)));
    const onHide = (): void => void s?.flush();
    window.addEventListener('pagehide', onHide);
    return () => {
      live = false;
      window.removeEventListener('pagehide', onHide);
      void s?.dispose();
      saver.current = null;
    };
    // `initial` counts only when the note opens: the editor is keyed by note id.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, id]);

  // A focus asked for while the note was loading: now the inputs are on screen (child effects,
  // which create the editor view, have run before this one).
  const loaded = note !== null;
  useEffect(() => {
    if (!loaded) return;
    const focus = wantFocus.current;
    wantFocus.current = null;
    if (focus === 'title') titleRef.current?.focus();
    else if (focus === 'body') editorRef.current?.focus();
  }, [loaded]);

  // Another device or window changed this note: shown at once, merged into unsaved typing.
  useEffect(() => {
    if (!change || !change.ids.includes(id)) return;
    let live = true;
    api.getNote(id).then((n) => {
      const s = saver.current;
      if (!live || !s) return;
      setNote(n);
      if (s.applyRemote(n)) show(s.fields());
    }).catch((e) => live && onError(`Could not reload the note: ${errorMessage(e)}`));
    return () => {
      live = false;
    };
  }, [api, id, change, onError]);

  const edit = (patch: Partial<Fields>): void => {
    setFields((f) => ({ ...f, ...patch }));
    saver.current?.edit(patch);
  };

  const trash = async (): Promise<void> => {
    try {
      await saver.current?.flush();
      await api.trashNote(id);
      onTrashed(id);
    } catch (e) {
      onError(`Could not move the note to the trash: ${errorMessage(e)}`);
    }
  };

  const restoreVersion = (field: TextField, text: string): void => {
    edit({ [field]: text });
    setShowHistory(false);
    void saver.current?.flush();
  };

  const undoRestore = (): void => {
    if (!restored?.replaced) return;
    edit(restored.replaced);
    setRestored(null);
  };

  if (loadError) {
    return (
      <section className="note-editor empty" aria-label="Note">
        <p role="alert" className="error">Could not open this note: {loadError}</p>
      </section>
    );
  }
  if (!note || !saver.current) return <section className="note-editor empty" aria-busy="true" aria-label="Note"><p className="muted">Opening…</p></section>;

  const conflictFields = (Object.keys(note.conflicts) as TextField[]).filter((f) => (note.conflicts[f]?.length ?? 0) > 1);

  return (
    <section className="note-editor" aria-label="Note">
      <div className="note-header">
        <label className="visually-hidden" htmlFor="note-title">Title</label>
        <input
          id="note-title"
          ref={titleRef}
          className="title-input"
          data-testid="title-input"
          placeholder="Untitled"
          value={fields.title}
          autoComplete="off"
          spellCheck
          onChange={(e) => edit({ title: e.target.value })}
          onKeyDown={(e) => {
            if (e.key === 'Enter' || (e.key === 'ArrowDown' && !e.altKey)) {
              e.preventDefault();
              editorRef.current?.focus();
            }
          }}
        />
        <div className="note-actions">
          <SaveIndicator state={save} />
          <button type="button" className="btn subtle" data-testid="history-button" aria-pressed={showHistory} onClick={() => setShowHistory((v) => !v)}>History</button>
          <button type="button" className="btn subtle" data-testid="trash-button" onClick={() => void trash()}>Move to trash</button>
        </div>
      </div>
      {conflictFields.length > 0 && (
        <div className="banner warn" role="status" data-testid="conflict-banner">
          <span>
            This note has conflicting versions of its {conflictFields.join(' and ')} from devices that edited it at the same time.
            You see the newest; the others are kept.
          </span>
          <button type="button" className="btn" data-testid="open-conflicts" onClick={() => onOpenConflicts(id)}>Compare and resolve</button>
        </div>
      )}
      {restored && (
        <div className="banner info" role="status" data-testid="restored-banner">
          <span>
            Restored unsaved changes from {clockTime(restored.at)} that had not reached the notes store.
            {restored.replaced && ' The note had also changed elsewhere since then.'}
          </span>
          {restored.replaced && <button type="button" className="btn" onClick={undoRestore}>Use the other version instead</button>}
          <button type="button" className="btn subtle" aria-label="Dismiss" onClick={() => setRestored(null)}>Dismiss</button>
        </div>
      )}
      {showHistory && <HistoryView api={api} note={{ ...note, title: fields.title, body: fields.body }} self={self} onRestore={restoreVersion} onClose={() => setShowHistory(false)} />}
      <div className="editor-area" hidden={showHistory}>
        <MarkdownEditor ref={editorRef} docKey={id} value={fields.body} onChange={(body) => edit({ body })} label="Note body (Markdown)" />
      </div>
      <footer className="note-meta muted">
        <span title={dateTime(note.created)}>Created {timeAgo(note.created)}</span>
        <span title={dateTime(note.updated)}>Updated {timeAgo(note.updated)}</span>
        <NoteDevices api={api} id={id} syncSeq={syncSeq} noteSeq={change?.ids.includes(id) ? change.seq : 0} />
      </footer>
    </section>
  );
});

function SaveIndicator({ state }: { state: SaveState }) {
  const text = {
    saved: state.savedAt ? 'Saved' : 'Saved',
    pending: 'Editing…',
    saving: 'Saving…',
    error: 'Not saved, kept here',
  }[state.status];
  return (
    <span
      className={`save-state ${state.status}`}
      data-testid="save-state"
      data-state={state.status}
      data-saved-at={state.savedAt ?? undefined}
      data-durable={state.durable}
      role="status"
      aria-live="polite"
      title={state.error ? `${state.error}. Your text is kept on this device and saved when the host answers.` : state.savedAt ? `Saved at ${clockTime(state.savedAt)}` : undefined}
    >
      <span className="dot" aria-hidden="true" />
      {text}
    </span>
  );
}
