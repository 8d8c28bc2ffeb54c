// Autosave for the open note: every edit is written to the draft store at once and sent to the
// host ~300 ms after the last keystroke. Saves of one note run one at a time; a save sends only
// the fields that differ from what the host last acknowledged (the host writes only what
// changed, so an untouched title never becomes a conflict). Every save carries `base`, the
// host's `rev` of the text it was typed on, so an edit made on another device meanwhile is kept.
// A remote change that arrives while something typed is unsaved is merged into the editor
// (renderer/merge.ts); if the two overlap, the typing stays and the host keeps both versions
// (a conflict). The draft is deleted only when the host acknowledged exactly the revision it holds.

import type { Note, NotesApi } from '../app/api.ts';
import { draftSaved, writeDraft } from './drafts.ts';
import { errorCode, errorMessage } from './format.ts';
import { mergeEdits } from './merge.ts';

export type SaveStatus = 'saved' | 'pending' | 'saving' | 'error';

export interface SaveState {
  readonly status: SaveStatus;
  readonly error: string | null;
  /** When the host last acknowledged a save of this note in this session. */
  readonly savedAt: number | null;
  /**
   * Everything typed so far would survive a reload or crash: it is in the IndexedDB draft or
   * acknowledged by the host. False only for the few milliseconds a draft write takes.
   */
  readonly durable: boolean;
}

export interface Fields {
  readonly title: string;
  readonly body: string;
}

export interface AutosaverOptions {
  readonly delayMs?: number;
  readonly onState: (state: SaveState) => void;
  /** The host's answer to a save: the note as stored (conflicts included). */
  readonly onSaved: (note: Note) => void;
  /** The editor's text changed because the host's answer carried a merged remote change. */
  readonly onMerged?: (fields: Fields) => void;
  /**
   * Asked right before a remote change is applied to the editor's text (replacing it or merged
   * into the typing): the editor reports any input it has on screen but not yet reported
   * (through edit()), so what follows starts from it.
   */
  readonly beforeMerge?: () => void;
}

const RETRY_MS = [1000, 2000, 5000, 10_000, 30_000];

export class Autosaver {
  readonly id: string;
  private readonly api: NotesApi;
  private readonly delayMs: number;
  private readonly opts: AutosaverOptions;
  private current: Fields;
  /** The host's text the editor's text was typed on (the merge base for remote changes). */
  private acked: Fields;
  /** The host's rev of `acked`: the `base` of the next save. */
  private hostRev: string;
  /** A remote change arrived while a save was on its way: reload once that save is answered. */
  private remoteWhileSaving = false;
  private base: number;
  private rev: number;
  private ackedRev: number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private chain: Promise<void> = Promise.resolve();
  private saving = false;
  private failures = 0;
  private disposed = false;
  private durableRev: number;
  private state: SaveState = { status: 'saved', error: null, savedAt: null, durable: true };

  constructor(api: NotesApi, note: Note, opts: AutosaverOptions, startRev = 0) {
    this.api = api;
    this.id = note.id;
    this.opts = opts;
    this.delayMs = opts.delayMs ?? 300;
    this.current = { title: note.title, body: note.body };
    this.acked = this.current;
    this.hostRev = note.rev;
    this.base = note.updated;
    this.rev = startRev;
    this.ackedRev = startRev;
    this.durableRev = startRev;
  }

  fields(): Fields {
    return this.current;
  }

  /** Unsaved edits exist, or a save is on its way. */
  dirty(): boolean {
    return this.saving || this.rev !== this.ackedRev;
  }

  edit(fields: Partial<Fields>): void {
    if (this.disposed) return;
    const next = { ...this.current, ...fields };
    if (next.title === this.current.title && next.body === this.current.body) return;
    this.current = next;
    this.rev += 1;
    const rev = this.rev;
    void writeDraft({ id: this.id, title: next.title, body: next.body, base: this.base, rev }).then(() => this.markDurable(rev));
    this.setState(this.saving ? { durable: false } : { status: 'pending', error: null, durable: false });
    this.schedule(this.delayMs);
  }

  /** Saves now (switching notes, leaving the page); resolves when the host answered. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return this.save();
  }

  /**
   * A newer version of the note arrived (another device, another window). With nothing typed
   * unsaved it replaces the editor's text; otherwise it is merged into the typing (3-way, base =
   * what the host last acknowledged). Returns whether the editor's text changed.
   */
  applyRemote(note: Note): boolean {
    if (this.disposed) return false;
    if (this.saving) {
      // The save's answer is newer than what we hold; the caller asks again after it.
      this.remoteWhileSaving = true;
      return false;
    }
    // A keystroke on screen but not reported yet makes the text dirty: read it first, or the
    // remote text would replace it (and the editor would put it back in the wrong place).
    this.opts.beforeMerge?.();
    if (!this.dirty()) {
      const changed = note.title !== this.current.title || note.body !== this.current.body;
      this.current = { title: note.title, body: note.body };
      this.acked = this.current;
      this.hostRev = note.rev;
      this.base = note.updated;
      return changed;
    }
    return this.absorb(note, this.acked).changed;
  }

  /** Whether a remote change arrived during a save and the note should be read again. */
  takeRemoteWhileSaving(): boolean {
    const r = this.remoteWhileSaving;
    this.remoteWhileSaving = false;
    return r;
  }

  /**
   * Merges the host's `note` (derived from `from`) into the editor's text. Fields whose merge
   * overlaps keep the typing, and then the base stays where it was, so the next save makes the
   * host keep both versions (a conflict) instead of replacing the remote one.
   */
  private absorb(note: Note, from: Fields, force = false): { changed: boolean; overlap: boolean } {
    this.opts.beforeMerge?.();
    const next: { title: string; body: string } = { ...this.current };
    let overlap = false;
    for (const f of ['title', 'body'] as const) {
      // A conflicted field is resolved by the user in the conflicts view, not merged here.
      if (note.conflicts[f] || note[f] === from[f]) continue;
      const merged = mergeEdits(this.current[f], from[f], note[f]);
      if (merged === null) overlap = true;
      else next[f] = merged;
    }
    if (!overlap || force) {
      this.acked = { title: note.title, body: note.body };
      this.hostRev = note.rev;
      this.base = note.updated;
    }
    const changed = next.title !== this.current.title || next.body !== this.current.body;
    if (changed) this.edit(next);
    return { changed, overlap };
  }

  /** Flushes what is pending, then stops; the draft stays in IndexedDB until that save is acknowledged. */
  dispose(): Promise<void> {
    const done = this.dirty() ? this.flush() : Promise.resolve();
    this.disposed = true;
    return done;
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.save();
    }, ms);
  }

  private save(): Promise<void> {
    this.chain = this.chain.then(() => this.saveOnce());
    return this.chain;
  }

  private async saveOnce(): Promise<void> {
    const rev = this.rev;
    if (rev === this.ackedRev) return;
    const sent = this.current;
    const changes: { title?: string; body?: string; base?: string } = {};
    if (sent.title !== this.acked.title) changes.title = sent.title;
    if (sent.body !== this.acked.body) changes.body = sent.body;
    this.saving = true;
    this.setState({ status: 'saving', error: null });
    try {
      const note = Object.keys(changes).length > 0 ? await this.api.saveNote(this.id, { ...changes, base: this.hostRev }) : null;
      this.acked = sent;
      this.ackedRev = rev;
      this.markDurable(rev);
      if (note) this.base = note.updated;
      this.failures = 0;
      await draftSaved(this.id, rev);
      this.saving = false;
      if (note) {
        // The host may hold more than what was sent (a change from elsewhere it merged in):
        // merged into the typing, or (overlapping) kept by the host as a conflict.
        if (note.title === sent.title && note.body === sent.body) this.hostRev = note.rev;
        else if (this.absorb(note, sent).changed) this.opts.onMerged?.(this.current);
        this.opts.onSaved(note);
      }
      this.setState(this.rev === rev ? { status: 'saved', error: null, savedAt: Date.now() } : { status: 'pending', error: null, savedAt: Date.now() });
    } catch (e) {
      this.saving = false;
      if (errorCode(e) === 'E_STALE_BASE' && !this.disposed) {
        // This device wrote the note meanwhile (another window, a merge) and the edits overlap:
        // take its text as the new base, merging what does not overlap; where it does, the
        // typing wins (the replaced text stays in the note's History).
        try {
          const fresh = await this.api.getNote(this.id);
          if (this.absorb(fresh, this.acked, true).changed) this.opts.onMerged?.(this.current);
          this.schedule(0);
          return;
        } catch {
          // Fall through to the usual retry.
        }
      }
      const wait = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)];
      this.failures += 1;
      this.setState({ status: 'error', error: errorMessage(e) });
      // The draft is safe in IndexedDB; keep trying while the note is open.
      if (!this.disposed) this.schedule(wait);
    }
  }

  private markDurable(rev: number): void {
    if (rev <= this.durableRev) return;
    this.durableRev = rev;
    if (rev === this.rev && !this.state.durable) this.setState({ durable: true });
  }

  private setState(patch: Partial<SaveState>): void {
    const next = { ...this.state, ...patch };
    if ((Object.keys(next) as (keyof SaveState)[]).every((k) => next[k] === this.state[k])) return;
    this.state = next;
    this.opts.onState(next);
  }
}
