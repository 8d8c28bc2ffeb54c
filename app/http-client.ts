// NotesApi over the headless peer's HTTP API (app/http-routes.ts has the route table). Uses only
// fetch, streams and TextDecoder, so the same class runs in the browser UI and in Node 24 (tests,
// scripts). Events come from GET /api/events read as a fetch stream, not EventSource: EventSource
// cannot send the Authorization header, and a token in the URL would end up in logs and history.

import type { ApiError, ApiEvent, DeviceSelf, ExportFile, ForgetResult, HistoryVersion, ImportBatch, ImportReport, Invite, Note, NotesApi, NotesPage, NoteSummary, PageOptions, PairingState, SaveFields, SearchHit, SearchPage, SessionSummary, SyncState, TextField, NoteSync } from './api.ts';
import { DEFAULT_PAGE, MAX_PAGE } from './page-limits.ts';

/** Ids per summaries request: 200 ids of 64 characters still fit a request line. */
const SUMMARY_CHUNK = 200;
import { SseParser } from './sse-parser.ts';

/** A rejected call: `code` is the server's error code (app/http-errors.ts) or one of E_NETWORK, E_TIMEOUT, E_BAD_RESPONSE. */
export class ApiRequestError extends Error implements ApiError {
  readonly code: string;
  /** HTTP status, or null when no response arrived. */
  readonly status: number | null;
  constructor(code: string, message: string, status: number | null, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ApiRequestError';
    this.code = code;
    this.status = status;
  }
}

/** 'closed': unsubscribed; the stream is shut and no reconnect will follow. */
export type StreamStatus = 'open' | 'lost' | 'closed';

export interface HttpNotesApiOptions {
  /** e.g. http://127.0.0.1:41234; '' for same-origin relative URLs in the served UI. */
  readonly baseUrl: string;
  readonly token: string;
  /** Per-request limit (not the event stream). join() dials a peer, so this is generous. */
  readonly timeoutMs?: number;
  /** Event stream reconnect delays: the first retry waits about min, doubling up to max. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /**
   * A stream that delivers nothing (not even the server's 15 s heartbeat) for this long is
   * presumed dead (a laptop slept, a NAT forgot us) and reconnected.
   */
  readonly staleMs?: number;
  /**
   * Told when the event stream (re)opens or is lost. Events sent while it was lost are not
   * replayed: on 'open' after a 'lost', refetch what is shown.
   */
  readonly onStreamStatus?: (status: StreamStatus, error?: ApiRequestError) => void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function asApiError(e: unknown): ApiRequestError {
  if (e instanceof ApiRequestError) return e;
  if (e instanceof Error && e.name === 'TimeoutError') return new ApiRequestError('E_TIMEOUT', 'the notes host did not answer in time', null, e);
  const detail = e instanceof Error ? e.message : String(e);
  return new ApiRequestError('E_NETWORK', `cannot reach the notes host: ${detail}`, null, e);
}

/** The ApiError a non-2xx response carries, or a stand-in when its body is not one. */
async function responseError(res: Response): Promise<ApiRequestError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const err = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof err?.code === 'string' ? err.code : `E_HTTP_${res.status}`;
  const message = typeof err?.message === 'string' ? err.message : `HTTP ${res.status} ${res.statusText}`;
  return new ApiRequestError(code, message, res.status);
}

export class HttpNotesApi implements NotesApi {
  private readonly base: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly staleMs: number;
  private readonly onStreamStatus: (status: StreamStatus, error?: ApiRequestError) => void;

  constructor(opts: HttpNotesApiOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.retryMinMs = opts.retryMinMs ?? 500;
    this.retryMaxMs = opts.retryMaxMs ?? 15_000;
    this.staleMs = opts.staleMs ?? 45_000;
    this.onStreamStatus = opts.onStreamStatus ?? (() => {});
  }

  listNotes(opts: { trashed?: boolean } = {}): Promise<NoteSummary[]> {
    return this.call('GET', `/api/notes${opts.trashed ? '?trashed=1' : ''}`);
  }

  notesPage(opts: { trashed?: boolean } & PageOptions = {}): Promise<NotesPage> {
    const q = new URLSearchParams();
    if (opts.trashed) q.set('trashed', '1');
    q.set('limit', String(opts.limit ?? DEFAULT_PAGE));
    if (opts.cursor !== undefined) q.set('cursor', opts.cursor);
    return this.call('GET', `/api/notes?${q}`);
  }

  async summaries(ids: readonly string[]): Promise<NoteSummary[]> {
    if (ids.length > MAX_PAGE) throw new ApiRequestError('E_INVALID_LIMIT', `at most ${MAX_PAGE} ids at once`, null);
    // A request line stays far below the server's 16 KB header limit: 1000 ids of 16 characters
    // would not, so they go in chunks, answered in the order asked.
    const unique = [...new Set(ids)];
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += SUMMARY_CHUNK) chunks.push(unique.slice(i, i + SUMMARY_CHUNK));
    if (chunks.length === 0) chunks.push([]);
    const parts = await Promise.all(chunks.map((c) => this.call<NoteSummary[]>('GET', `/api/notes/summaries?ids=${c.map(encodeURIComponent).join(',')}`)));
    return parts.flat();
  }

  searchPage(text: string, opts: PageOptions = {}): Promise<SearchPage> {
    const q = new URLSearchParams({ q: text, limit: String(opts.limit ?? DEFAULT_PAGE) });
    if (opts.cursor !== undefined) q.set('cursor', opts.cursor);
    return this.call('GET', `/api/search?${q}`);
  }

  getNote(id: string): Promise<Note> {
    return this.call('GET', note(id));
  }

  noteSync(id: string): Promise<NoteSync> {
    return this.call('GET', `${note(id)}/sync`);
  }

  createNote(fields: { title?: string; body?: string } = {}): Promise<Note> {
    return this.call('POST', '/api/notes', fields);
  }

  saveNote(id: string, fields: SaveFields): Promise<Note> {
    return this.call('PUT', note(id), fields);
  }

  history(id: string): Promise<HistoryVersion[]> {
    return this.call('GET', `${note(id)}/history`);
  }

  trashNote(id: string): Promise<Note> {
    return this.call('POST', `${note(id)}/trash`);
  }

  restoreNote(id: string): Promise<Note> {
    return this.call('POST', `${note(id)}/restore`);
  }

  search(text: string): Promise<SearchHit[]> {
    return this.call('GET', `/api/search?q=${encodeURIComponent(text)}`);
  }

  conflicts(): Promise<Note[]> {
    return this.call('GET', '/api/conflicts');
  }

  resolve(id: string, field: TextField, value: string): Promise<Note> {
    return this.call('POST', `${note(id)}/resolve`, { field, value });
  }

  invite(): Promise<Invite> {
    return this.call('POST', '/api/invite');
  }

  join(code: string): Promise<SyncState> {
    return this.call('POST', '/api/join', { code });
  }

  async addPeer(address: string): Promise<void> {
    await this.call('POST', '/api/peers', { address });
  }

  syncState(): Promise<SyncState> {
    return this.call('GET', '/api/sync');
  }

  syncNow(): Promise<SessionSummary[]> {
    return this.call('POST', '/api/sync/now');
  }

  renameDevice(name: string): Promise<DeviceSelf> {
    return this.call('PUT', '/api/device', { name });
  }

  forgetDevice(peerId: string): Promise<ForgetResult> {
    return this.call('POST', `/api/devices/${encodeURIComponent(peerId)}/forget`);
  }

  pairingState(): Promise<PairingState> {
    return this.call('GET', '/api/pairing');
  }

  startPairing(mode: 'invite' | 'join'): Promise<PairingState> {
    return this.call('POST', '/api/pairing/start', { mode });
  }

  requestPairing(peerId: string): Promise<PairingState> {
    return this.call('POST', '/api/pairing/request', { peerId });
  }

  answerPairing(peerId: string, accept: boolean): Promise<PairingState> {
    return this.call('POST', '/api/pairing/answer', { peerId, accept });
  }

  stopPairing(): Promise<PairingState> {
    return this.call('POST', '/api/pairing/stop');
  }

  importMarkdown(batch: ImportBatch): Promise<ImportReport> {
    return this.call('POST', '/api/import', batch);
  }

  exportMarkdown(opts: { trash?: boolean } = {}): Promise<ExportFile[]> {
    return this.call('GET', `/api/export${opts.trash ? '?trash=1' : ''}`);
  }

  subscribe(listener: (event: ApiEvent) => void): () => void {
    const stop = new AbortController();
    void this.streamLoop(listener, stop.signal);
    return () => stop.abort();
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await this.callOnce<T>(method, path, body);
    } catch (e) {
      // A kept-alive connection the server closed just as we reused it fails before the request
      // reached the host. A GET changes nothing, so it is safe to send once more on a fresh one;
      // a write is never repeated (it may have been applied).
      if (method !== 'GET' || !(e instanceof ApiRequestError) || e.code !== 'E_NETWORK') throw e;
      return this.callOnce<T>(method, path, body);
    }
  }

  private async callOnce<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      const res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        cache: 'no-store',
      });
      if (!res.ok) throw await responseError(res);
      if (res.status === 204) return undefined as T;
      try {
        return (await res.json()) as T;
      } catch (e) {
        if (e instanceof Error && e.name === 'TimeoutError') throw e;
        throw new ApiRequestError('E_BAD_RESPONSE', 'the notes host sent a response that is not JSON', res.status, e);
      }
    } catch (e) {
      throw asApiError(e);
    }
  }

  /** Keeps one event stream open until `signal` aborts, reconnecting with jittered backoff. */
  private async streamLoop(listener: (event: ApiEvent) => void, signal: AbortSignal): Promise<void> {
    try {
      await this.reconnecting(listener, signal);
    } finally {
      this.onStreamStatus('closed');
    }
  }

  private async reconnecting(listener: (event: ApiEvent) => void, signal: AbortSignal): Promise<void> {
    let delay = this.retryMinMs;
    while (!signal.aborted) {
      let error: ApiRequestError;
      try {
        await this.readStream(listener, signal, () => {
          delay = this.retryMinMs;
          this.onStreamStatus('open');
        });
        error = new ApiRequestError('E_NETWORK', 'the event stream ended', null);
      } catch (e) {
        error = asApiError(e);
      }
      if (signal.aborted) return;
      // A wrong token or a refused origin will not fix itself in a second.
      if (error.status === 401 || error.status === 403) delay = this.retryMaxMs;
      this.onStreamStatus('lost', error);
      await sleep(delay * (0.5 + Math.random() / 2), signal);
      delay = Math.min(delay * 2, this.retryMaxMs);
    }
  }

  private async readStream(listener: (event: ApiEvent) => void, signal: AbortSignal, opened: () => void): Promise<void> {
    const stale = new AbortController();
    let timer = setTimeout(() => stale.abort(), this.staleMs);
    const touch = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => stale.abort(), this.staleMs);
    };
    try {
      const res = await fetch(`${this.base}/api/events`, {
        headers: { Authorization: `Bearer ${this.token}`, Accept: 'text/event-stream' },
        signal: AbortSignal.any([signal, stale.signal]),
        cache: 'no-store',
      });
      if (!res.ok) throw await responseError(res);
      if (res.body === null) throw new ApiRequestError('E_BAD_RESPONSE', 'the event stream has no body', res.status);
      // The server subscribes before it answers, so from here on no event is missed.
      opened();
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      const parser = new SseParser();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        touch();
        for (const msg of parser.push(decoder.decode(value, { stream: true }))) deliver(listener, msg.data);
      }
    } catch (e) {
      if (stale.signal.aborted && !signal.aborted) throw new ApiRequestError('E_TIMEOUT', `no data on the event stream for ${this.staleMs} ms`, null, e);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}

function note(id: string): string {
  return `/api/notes/${encodeURIComponent(id)}`;
}

function deliver(listener: (event: ApiEvent) => void, data: string): void {
  let event: ApiEvent;
  try {
    event = JSON.parse(data) as ApiEvent;
  } catch {
    console.warn('notes event stream: skipping an event that is not JSON');
    return;
  }
  // A throwing listener is the UI's bug; it must not tear down the stream for everyone else.
  try {
    listener(event);
  } catch (e) {
    console.error('notes event listener failed', e);
  }
}
