// The host side of the API contract: what both the Electron main process and the headless peer
// run. It turns engine objects into the plain DTOs of app/api.ts and engine errors into ApiErrors.
// Sync (libp2p) is optional so the same host serves an offline vault.

import type { ApiEvent, DeviceHold, DeviceSelf, ExportFile, ForgetResult, HistoryVersion, ImportReport, Invite, Note, NotesApi, NotesPage, NoteSummary, NoteSync, PageOptions, PairingState, SaveFields, SearchHit, SearchPage, SessionSummary, SyncState, TextField } from './api.ts';
import { decodeNotesCursor, decodeSearchCursor, encodeNotesCursor, encodeSearchCursor, MAX_PAGE, pageLimit } from './list-cursor.ts';
import { checkImportBatch } from './markdown-batch.ts';
import { importBatch } from '../engine/markdown/importer.ts';
import { exportFiles } from '../engine/markdown/vault-folder.ts';
import { EngineError, ValidationError } from '../engine/core/errors.ts';
import { logger } from '../engine/log.ts';
import { Notes, parseNoteKey, validateNoteId } from '../engine/notes.ts';
import type { DocEntry } from '../engine/store/store.ts';

/** What a host needs from the sync layer (engine/sync-node.ts implements it). */
export interface SyncControl {
  state(): SyncState;
  invite(): Invite;
  join(code: string): Promise<SyncState>;
  addPeer(address: string): Promise<void>;
  onState(listener: () => void): () => void;
  syncNow(): Promise<SessionSummary[]>;
  setDeviceName(name: string): Promise<DeviceSelf>;
  forgetDevice(peerId: string): Promise<ForgetResult>;
  /** Every paired device's hold on a note (E_NOT_FOUND when there is no such note). */
  noteSync(id: string): DeviceHold[];
  /** Of the paired devices, how many are proven to hold a note whose keys last changed at `noteSeq`. */
  devicesHolding(noteSeq: number): { holding: number; paired: number };
  readonly pairing: {
    state(): PairingState;
    start(mode: 'invite' | 'join'): Promise<PairingState>;
    request(peerId: string): Promise<PairingState>;
    answer(peerId: string, accept: boolean): Promise<PairingState>;
    stop(): Promise<PairingState>;
  };
}

const EXCERPT = 160;
const STATE_EVENT_MS = 250;
const log = logger('host');

const NO_DEVICES = Object.freeze({ holding: 0, paired: 0 });

export class Host implements NotesApi {
  readonly notes: Notes;
  private readonly sync: SyncControl | null;
  private readonly listeners = new Set<(e: ApiEvent) => void>();
  private readonly unsubscribe: (() => void)[] = [];
  private stateTimer: NodeJS.Timeout | null = null;

  constructor(notes: Notes, sync: SyncControl | null = null) {
    this.notes = notes;
    this.sync = sync;
    this.unsubscribe.push(notes.replica.onChange((e) => {
      const ids = new Set<string>();
      for (const r of e.records) {
        const parsed = parseNoteKey(r.key);
        if (parsed) ids.add(parsed.id);
      }
      if (ids.size > 0) this.emit({ type: 'notes-changed', ids: [...ids], origin: e.origin });
    }));
    // Sync state changes in bursts (every rumor, every session): send at most a few per second.
    if (sync) {
      this.unsubscribe.push(sync.onState(() => {
        this.stateTimer ??= setTimeout(() => {
          this.stateTimer = null;
          this.emit({ type: 'sync-state', state: sync.state() });
        }, STATE_EVENT_MS);
      }));
    }
  }

  // A field, not a method: the host's methods are exactly the API operations.
  private readonly summary = (d: DocEntry): NoteSummary => {
    const devices = this.sync ? this.sync.devicesHolding(this.notes.lastChange(d.id)) : NO_DEVICES;
    return { id: d.id, title: d.title, excerpt: d.body.slice(0, EXCERPT), created: d.created, updated: d.updated, trashed: d.trashed, conflicted: d.conflicted, devices };
  };

  /** Detaches from the engine; listeners get no more events. */
  close(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    if (this.stateTimer) clearTimeout(this.stateTimer);
    this.listeners.clear();
  }

  async listNotes(opts: { trashed?: boolean } = {}): Promise<NoteSummary[]> {
    return this.notes.list({ trashed: opts.trashed === true }).map(this.summary);
  }

  async notesPage(opts: { trashed?: boolean } & PageOptions = {}): Promise<NotesPage> {
    const trashed = opts.trashed === true;
    const limit = pageLimit(opts.limit);
    const after = opts.cursor === undefined ? undefined : decodeNotesCursor(opts.cursor, trashed);
    // One row more than asked tells whether another page exists, without a second query.
    const docs = this.notes.list({ trashed, limit: limit + 1, after });
    const page = docs.slice(0, limit);
    const last = page.at(-1);
    return { notes: page.map(this.summary), next: docs.length > limit && last !== undefined ? encodeNotesCursor(trashed, last) : null };
  }

  async summaries(ids: readonly string[]): Promise<NoteSummary[]> {
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) throw new ValidationError('E_INVALID_VALUE', 'ids must be a list of note ids');
    if (ids.length > MAX_PAGE) throw new ValidationError('E_INVALID_LIMIT', `at most ${MAX_PAGE} ids at once`);
    return this.notes.docs([...new Set(ids)]).map(this.summary);
  }

  async searchPage(text: string, opts: PageOptions = {}): Promise<SearchPage> {
    if (typeof text !== 'string') throw new ValidationError('E_INVALID_VALUE', 'search text must be a string');
    const limit = pageLimit(opts.limit);
    const offset = opts.cursor === undefined ? 0 : decodeSearchCursor(opts.cursor, text);
    const hits = this.notes.search(text, limit + 1, offset);
    return { hits: hits.slice(0, limit), next: hits.length > limit ? encodeSearchCursor(text, offset + limit) : null };
  }

  async getNote(id: string): Promise<Note> {
    const note = this.notes.get(id);
    if (!note) throw new ValidationError('E_NOT_FOUND', `no note with id ${id}`, { id });
    return note;
  }

  async noteSync(id: string): Promise<NoteSync> {
    validateNoteId(id);
    if (this.sync) return { devices: this.sync.noteSync(id) };
    if (this.notes.lastChange(id) === 0) throw new ValidationError('E_NOT_FOUND', `no note with id ${id}`, { id });
    return { devices: [] };
  }

  async createNote(fields: { title?: string; body?: string } = {}): Promise<Note> {
    return this.notes.create(textFields(fields));
  }

  async saveNote(id: string, fields: SaveFields): Promise<Note> {
    const { base, ...rest } = (fields ?? {}) as SaveFields;
    if (base !== undefined && typeof base !== 'string') throw new ValidationError('E_INVALID_BASE', 'base must be the rev string of the note');
    return this.notes.save(id, textFields(rest), base);
  }

  async history(id: string): Promise<HistoryVersion[]> {
    return this.notes.history(id);
  }

  async trashNote(id: string): Promise<Note> {
    return this.notes.trash(id);
  }

  async restoreNote(id: string): Promise<Note> {
    return this.notes.restore(id);
  }

  async search(text: string): Promise<SearchHit[]> {
    if (typeof text !== 'string') throw new ValidationError('E_INVALID_VALUE', 'search text must be a string');
    return this.notes.search(text);
  }

  async conflicts(): Promise<Note[]> {
    return this.notes.conflicted();
  }

  async resolve(id: string, field: TextField, value: string): Promise<Note> {
    if (field !== 'title' && field !== 'body') throw new ValidationError('E_INVALID_VALUE', 'field must be "title" or "body"');
    if (typeof value !== 'string') throw new ValidationError('E_INVALID_VALUE', 'value must be a string');
    return this.notes.resolve(id, field, value);
  }

  async invite(): Promise<Invite> {
    return this.requireSync().invite();
  }

  async join(code: string): Promise<SyncState> {
    if (typeof code !== 'string') throw new ValidationError('E_INVALID_INVITE', 'an invite code is text');
    return this.requireSync().join(code);
  }

  async addPeer(address: string): Promise<void> {
    if (typeof address !== 'string') throw new ValidationError('E_INVALID_VALUE', 'a peer address is a multiaddr string');
    return this.requireSync().addPeer(address);
  }

  async syncState(): Promise<SyncState> {
    return this.requireSync().state();
  }

  async syncNow(): Promise<SessionSummary[]> {
    return this.requireSync().syncNow();
  }

  async renameDevice(name: string): Promise<DeviceSelf> {
    if (typeof name !== 'string') throw new ValidationError('E_INVALID_VALUE', 'a device name is text');
    return this.requireSync().setDeviceName(name);
  }

  async forgetDevice(peerId: string): Promise<ForgetResult> {
    if (typeof peerId !== 'string' || peerId.length === 0) throw new ValidationError('E_INVALID_VALUE', 'a device is named by its peer id');
    return this.requireSync().forgetDevice(peerId);
  }

  async pairingState(): Promise<PairingState> {
    return this.requireSync().pairing.state();
  }

  async startPairing(mode: 'invite' | 'join'): Promise<PairingState> {
    if (mode !== 'invite' && mode !== 'join') throw new ValidationError('E_INVALID_VALUE', 'mode must be "invite" or "join"');
    return this.requireSync().pairing.start(mode);
  }

  async requestPairing(peerId: string): Promise<PairingState> {
    if (typeof peerId !== 'string' || peerId.length === 0) throw new ValidationError('E_INVALID_VALUE', 'a device is named by its peer id');
    return this.requireSync().pairing.request(peerId);
  }

  async answerPairing(peerId: string, accept: boolean): Promise<PairingState> {
    if (typeof peerId !== 'string' || peerId.length === 0) throw new ValidationError('E_INVALID_VALUE', 'a device is named by its peer id');
    if (typeof accept !== 'boolean') throw new ValidationError('E_INVALID_VALUE', 'accept must be true or false');
    return this.requireSync().pairing.answer(peerId, accept);
  }

  async stopPairing(): Promise<PairingState> {
    return this.requireSync().pairing.stop();
  }

  async importMarkdown(batch: unknown): Promise<ImportReport> {
    const { root, files } = checkImportBatch(batch);
    return importBatch(this.notes, root, files);
  }

  async exportMarkdown(opts: { trash?: boolean } = {}): Promise<ExportFile[]> {
    if (opts === null || typeof opts !== 'object') throw new ValidationError('E_INVALID_VALUE', 'export options must be an object {trash?}');
    if (opts.trash !== undefined && typeof opts.trash !== 'boolean') throw new ValidationError('E_INVALID_VALUE', 'trash must be true or false');
    return exportFiles(this.notes, { trash: opts.trash === true });
  }

  subscribe(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: ApiEvent): void {
    for (const l of this.listeners) {
      // One failing subscriber (a broken stream) must not starve the others.
      try {
        l(event);
      } catch (e) {
        log.warn('event listener failed', { error: e });
      }
    }
  }

  private requireSync(): SyncControl {
    if (!this.sync) throw new EngineError('E_SYNC_OFF', 'sync is not running on this host');
    return this.sync;
  }
}

function textFields(fields: unknown): { title?: string; body?: string } {
  if (fields === null || typeof fields !== 'object') throw new ValidationError('E_INVALID_VALUE', 'note fields must be an object');
  const out: { title?: string; body?: string } = {};
  for (const [k, v] of Object.entries(fields)) {
    if (k !== 'title' && k !== 'body') throw new ValidationError('E_INVALID_VALUE', `unknown note field "${k}"`);
    if (typeof v !== 'string') throw new ValidationError('E_INVALID_VALUE', `${k} must be a string`);
    out[k] = v;
  }
  return out;
}
