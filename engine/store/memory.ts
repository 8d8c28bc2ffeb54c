// In-memory Storage for tests, simulation and benchmarks (up to ~1M keys). Records are kept as
// their encoded bytes, decoded on get, so a million keys cost bytes rather than object graphs.
//
// This file also holds what both stores share: batch validation and search-word extraction.
// SqliteStore imports them from here so the two implementations cannot drift apart.

import { randomBytes } from 'node:crypto';
import { compareStamps, type Stamp } from '../core/clock.ts';
import { decodeRecord, encodeRecord, HASH_BYTES, isDeviceId, knownEncoding, leafHash, validateKey, validateValue, type StoredRecord, type StoredSnapshot } from '../core/codec.ts';
import { StoreError, ValidationError } from '../core/errors.ts';
import { MAX_CONTEXT_DEVICES, MAX_RECORD_BYTES, MAX_VERSIONS } from '../core/limits.ts';
import { compareDots, stampOf, type KeyState, type Version } from '../core/record.ts';
import type { Change, CommitBatch, DocEntry, DocPosition, DocQuery, HistoryEntry, HistoryPrune, SearchHit, Storage, VersionContext, Watermark } from './store.ts';

// ---------------------------------------------------------------------------------------------
// Shared validation

export interface PreparedPut {
  readonly key: string;
  /** codec.encodeRecord of the put. */
  readonly bytes: Uint8Array;
  readonly hash: Uint8Array;
}

export interface PreparedBatch {
  readonly puts: readonly PreparedPut[];
  readonly docs: readonly DocEntry[];
  readonly clock: Stamp | undefined;
  readonly cursors: readonly { readonly replica: string; readonly seq: number }[];
  readonly watermarks: readonly Watermark[];
  readonly history: readonly HistoryEntry[];
  readonly prune: readonly HistoryPrune[];
  readonly contexts: readonly VersionContext[];
}

const MAX_TICK = 0xffff_ffff;

function invalid(message: string, details: Record<string, unknown> = {}): ValidationError {
  return new ValidationError('E_INVALID_RECORD', message, details);
}

function isCount(n: unknown, max = Number.MAX_SAFE_INTEGER): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= max;
}

function isWellFormedString(s: unknown): s is string {
  // A lone surrogate would be silently replaced when encoded as UTF-8, so what is read back would
  // differ from what was written (and from what other replicas hash).
  return typeof s === 'string' && s.isWellFormed();
}

export function validateReplicaId(id: unknown): string {
  if (typeof id !== 'string' || !isDeviceId(id)) throw invalid(`a replica id must be 16 lowercase hex characters, got ${JSON.stringify(id)}`);
  return id;
}

function checkVersion(key: string, context: KeyState['context'], v: Version): void {
  if (v === null || typeof v !== 'object') throw invalid(`record ${key}: a version must be an object`);
  if (!Object.hasOwn(context, v.device)) throw invalid(`record ${key}: version device ${String(v.device)} is not in the context`);
  if (!isCount(v.counter) || v.counter < 1 || v.counter > context[v.device]) throw invalid(`record ${key}: version counter outside its context`);
  if (!isCount(v.wall) || !isCount(v.tick, MAX_TICK)) throw invalid(`record ${key}: version stamp out of range`);
  validateValue(v.value);
  if (v.value !== null && !v.value.isWellFormed()) throw new ValidationError('E_INVALID_VALUE', `record ${key}: value is not well-formed Unicode`);
}

/** Everything decodeRecord would refuse, plus what encodeRecord would silently mangle. */
function checkState(key: string, state: KeyState): void {
  if (state === null || typeof state !== 'object' || state.context === null || typeof state.context !== 'object' || !Array.isArray(state.versions)) {
    throw invalid(`record ${key}: a state needs a context object and a versions array`);
  }
  const devices = Object.keys(state.context);
  if (devices.length > MAX_CONTEXT_DEVICES) throw invalid(`record ${key}: ${devices.length} devices in context; the limit is ${MAX_CONTEXT_DEVICES}`);
  for (const d of devices) {
    if (!isDeviceId(d)) throw invalid(`record ${key}: context device ${JSON.stringify(d)} is not a device id`);
    const c = state.context[d];
    if (!isCount(c) || c < 1) throw invalid(`record ${key}: context counter of ${d} must be a positive integer`);
  }
  const versions = state.versions;
  if (versions.length > MAX_VERSIONS) throw invalid(`record ${key}: ${versions.length} versions; the limit is ${MAX_VERSIONS}`);
  let textUnits = 0;
  for (let i = 0; i < versions.length; i++) {
    const v = versions[i];
    checkVersion(key, state.context, v);
    textUnits += v.value?.length ?? 0;
    for (let j = 0; j < i; j++) {
      if (versions[j].device === v.device && versions[j].counter === v.counter) throw invalid(`record ${key}: duplicate version`);
    }
    // Winner first is the canonical order every replica encodes and hashes.
    if (i > 0 && compareStamps(stampOf(versions[i - 1]), stampOf(v)) < 0) throw invalid(`record ${key}: versions are not sorted winner first`);
  }
  // UTF-16 length is a lower bound of the UTF-8 size: refuse hopeless records before encoding them.
  if (textUnits > MAX_RECORD_BYTES) throw tooLarge(key, textUnits);
}

function tooLarge(key: string, size: number): ValidationError {
  return new ValidationError('E_VALUE_TOO_LARGE', `record ${key} is at least ${size} bytes encoded; the limit is ${MAX_RECORD_BYTES}`, { size, limit: MAX_RECORD_BYTES });
}

function preparePut(put: CommitBatch['puts'][number]): PreparedPut {
  if (put === null || typeof put !== 'object') throw invalid('a put must be an object');
  const key = validateKey(put.key);
  // A state decoded from canonical bytes passed every check below when it was read (codec.ts).
  const known = knownEncoding({ key, state: put.state });
  if (known === undefined) checkState(key, put.state);
  const bytes = known ?? encodeRecord({ key, state: put.state });
  if (bytes.length > MAX_RECORD_BYTES) throw tooLarge(key, bytes.length);
  return { key, bytes, hash: leafHash(bytes) };
}

function prepareDoc(doc: DocEntry): DocEntry {
  if (doc === null || typeof doc !== 'object') throw invalid('a doc must be an object');
  const id = validateKey(doc.id);
  if (!id.isWellFormed()) throw invalid('a doc id must be well-formed Unicode');
  for (const field of ['title', 'body'] as const) {
    const text = doc[field];
    if (!isWellFormedString(text)) throw invalid(`doc ${id}: ${field} must be a well-formed string`);
    validateValue(text);
  }
  for (const field of ['updated', 'created'] as const) {
    if (!isCount(doc[field])) throw invalid(`doc ${id}: ${field} must be a non-negative integer (ms)`);
  }
  for (const field of ['trashed', 'conflicted'] as const) {
    if (typeof doc[field] !== 'boolean') throw invalid(`doc ${id}: ${field} must be a boolean`);
  }
  // A copy, so a caller mutating its object later cannot change what the store holds.
  return Object.freeze({
    id,
    title: doc.title,
    body: doc.body,
    updated: doc.updated,
    created: doc.created,
    trashed: doc.trashed,
    conflicted: doc.conflicted,
  });
}

function prepareClock(s: Stamp): Stamp {
  if (s === null || typeof s !== 'object' || !isCount(s.wall) || !isCount(s.counter, MAX_TICK) || !isDeviceId(s.device)) {
    throw invalid('clock must be a stamp { wall, counter, device }');
  }
  return Object.freeze({ wall: s.wall, counter: s.counter, device: s.device });
}

/**
 * Checks and encodes a whole batch, throwing ValidationError on the first problem. Stores call it
 * before touching their state, so an invalid batch changes nothing.
 */
export function validateBatch(batch: CommitBatch): PreparedBatch {
  if (batch === null || typeof batch !== 'object' || !Array.isArray(batch.puts)) throw invalid('a batch needs a puts array');
  if (batch.docs !== undefined && !Array.isArray(batch.docs)) throw invalid('batch docs must be an array');
  if (batch.cursors !== undefined && !Array.isArray(batch.cursors)) throw invalid('batch cursors must be an array');
  const puts = batch.puts.map(preparePut);
  const docs = (batch.docs ?? []).map(prepareDoc);
  const clock = batch.clock === undefined ? undefined : prepareClock(batch.clock);
  const cursors = (batch.cursors ?? []).map((c) => {
    if (c === null || typeof c !== 'object' || !isCount(c.seq)) throw invalid('a cursor needs a non-negative integer seq');
    return { replica: validateReplicaId(c.replica), seq: c.seq };
  });
  if (batch.watermarks !== undefined && !Array.isArray(batch.watermarks)) throw invalid('batch watermarks must be an array');
  const watermarks = (batch.watermarks ?? []).map(prepareWatermark);
  if (batch.history !== undefined && !Array.isArray(batch.history)) throw invalid('batch history must be an array');
  if (batch.prune !== undefined && !Array.isArray(batch.prune)) throw invalid('batch prune must be an array');
  const history = (batch.history ?? []).map(prepareHistory);
  const prune = (batch.prune ?? []).map((p) => {
    if (p === null || typeof p !== 'object' || !isCount(p.keep) || !isCount(p.before)) throw invalid('a prune needs a key, keep and before');
    if (!Array.isArray(p.current)) throw invalid('a prune needs the current dots');
    return { key: validateKey(p.key), keep: p.keep, before: p.before, current: p.current.map((d: { device: string; counter: number }) => prepareDot(d, p.key)) };
  });
  if (batch.contexts !== undefined && !Array.isArray(batch.contexts)) throw invalid('batch contexts must be an array');
  const contexts = (batch.contexts ?? []).map((c) => {
    if (c === null || typeof c !== 'object' || c.context === null || typeof c.context !== 'object') throw invalid('a version context needs a context');
    const key = validateKey(c.key);
    const dot = prepareDot(c, key);
    const context: Record<string, number> = {};
    for (const [d, n] of Object.entries(c.context)) {
      if (!isDeviceId(d) || !isCount(n) || n < 1) throw invalid(`version context of ${key}: bad entry`);
      context[d] = n;
    }
    return Object.freeze({ key, device: dot.device, counter: dot.counter, context: Object.freeze(context) });
  });
  return { puts, docs, clock, cursors, watermarks, history, prune, contexts };
}

function prepareDot(d: { device: string; counter: number }, key: string): { device: string; counter: number } {
  if (d === null || typeof d !== 'object' || !isDeviceId(d.device) || !isCount(d.counter) || d.counter < 1) throw invalid(`${key}: bad dot`);
  return Object.freeze({ device: d.device, counter: d.counter });
}

export function encodeContext(c: Readonly<Record<string, number>>): string {
  return Object.keys(c).sort().map((d) => `${d}.${c[d]}`).join(',');
}

export function decodeContext(s: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of decodeDots(s)) out[d.device] = d.counter;
  return out;
}

function prepareHistory(h: HistoryEntry): HistoryEntry {
  if (h === null || typeof h !== 'object' || !Array.isArray(h.supersededBy)) throw invalid('a history entry needs supersededBy');
  const key = validateKey(h.key);
  if (!isDeviceId(h.device) || !isCount(h.counter) || h.counter < 1 || !isCount(h.wall) || !isCount(h.tick, MAX_TICK) || !isCount(h.at)) {
    throw invalid(`history entry of ${key}: bad dot or stamp`);
  }
  validateValue(h.value);
  const supersededBy = h.supersededBy.map((d) => {
    if (d === null || typeof d !== 'object' || !isDeviceId(d.device) || !isCount(d.counter) || d.counter < 1) throw invalid(`history entry of ${key}: bad supersededBy`);
    return Object.freeze({ device: d.device, counter: d.counter });
  }).sort(compareDots);
  return Object.freeze({ key, device: h.device, counter: h.counter, wall: h.wall, tick: h.tick, value: h.value, supersededBy: Object.freeze(supersededBy), at: h.at });
}

/** Newest first: by `at`, then by dot (descending), the order both stores return. */
export function newestHistoryFirst(a: HistoryEntry, b: HistoryEntry): number {
  return b.at - a.at || compareDots(b, a);
}

export function encodeDots(dots: readonly { device: string; counter: number }[]): string {
  return dots.map((d) => `${d.device}.${d.counter}`).join(',');
}

export function decodeDots(s: string): { device: string; counter: number }[] {
  if (s === '') return [];
  return s.split(',').map((item) => {
    const [device, counter] = item.split('.');
    return { device, counter: Number(counter) };
  });
}

/** Non-negative integer from an optional caller argument; anything else is a caller bug. */
export function countArg(name: string, n: number | undefined, fallback: number): number {
  if (n === undefined) return fallback;
  if (typeof n !== 'number' || Number.isNaN(n) || n < 0) throw invalid(`${name} must be a non-negative number`);
  return Math.min(Math.floor(n), Number.MAX_SAFE_INTEGER);
}

/** The keyset position of a query, checked; `after` together with `offset` is a caller bug. */
export function afterArg(query: DocQuery): DocPosition | undefined {
  const a = query.after;
  if (a === undefined) return undefined;
  if (a === null || typeof a !== 'object' || !isCount(a.updated) || typeof a.id !== 'string' || !a.id.isWellFormed()) {
    throw new ValidationError('E_INVALID_VALUE', 'after must be a position {updated: ms, id: text}');
  }
  if (query.offset !== undefined && query.offset !== 0) throw new ValidationError('E_INVALID_VALUE', 'after and offset cannot be combined');
  return { updated: a.updated, id: a.id };
}

function prepareWatermark(w: Watermark): Watermark {
  if (w === null || typeof w !== 'object' || !isCount(w.seq) || !isCount(w.at)) throw invalid('a watermark needs a non-negative integer seq and at');
  if (typeof w.peer !== 'string' || w.peer.length === 0 || w.peer.length > 128) throw invalid('a watermark needs the peer id of a device');
  return { peer: w.peer, replica: validateReplicaId(w.replica), seq: w.seq, at: w.at };
}

/** The key range [from, to) of the keys that start with `prefix`, for "WHERE key >= ? AND key < ?". */
export function prefixRange(prefix: string): { from: string; to: string } {
  if (typeof prefix !== 'string' || prefix.length === 0) throw invalid('a key prefix must be a non-empty string');
  const last = prefix.charCodeAt(prefix.length - 1);
  if (last >= 0xd800) throw invalid('a key prefix must end with a character below U+D800');
  return { from: prefix, to: prefix.slice(0, -1) + String.fromCharCode(last + 1) };
}

export function seqArg(after: number): number {
  if (typeof after !== 'number' || Number.isNaN(after)) throw invalid('after must be a sequence number');
  return after;
}

export function closedError(): StoreError {
  return new StoreError('E_STORE_CLOSED', 'the store is closed');
}

// ---------------------------------------------------------------------------------------------
// Shared search words

/** Tokens as FTS5's unicode61 tokenizer sees them: letters/digits, with their combining marks. */
const WORD_RE = /[\p{L}\p{N}\p{Co}][\p{L}\p{N}\p{M}\p{Co}]*/gu;
/** A pasted paragraph is not a query; past this many words the rest are ignored. */
export const MAX_QUERY_WORDS = 32;

/** Case- and accent-insensitive form, as unicode61 with remove_diacritics folds tokens. */
export function foldWord(w: string): string {
  return w.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '');
}

/** The words of user search text, folded; punctuation, quotes and operators are just separators. */
export function searchWords(text: string): string[] {
  if (typeof text !== 'string') return [];
  const words: string[] = [];
  for (const m of text.matchAll(WORD_RE)) {
    const w = foldWord(m[0]);
    if (w.length > 0 && !words.includes(w)) words.push(w);
    if (words.length === MAX_QUERY_WORDS) break;
  }
  return words;
}

// ---------------------------------------------------------------------------------------------
// MemoryStore

interface Entry {
  seq: number;
  /**
   * Leaf hash (HASH_BYTES) then the encoded record, one char per byte. A one-byte string lives on
   * the V8 heap at ~1 byte per byte, while a small Uint8Array costs an ArrayBuffer and a backing
   * store each: at 1M keys the store holds ~280 MB instead of ~410 MB.
   */
  bin: string;
}

const SNIPPET_CHARS = 120;

export class MemoryStore implements Storage {
  readonly replicaId: string;
  private readonly records = new Map<string, Entry>();
  // Change log in seq order. Rewriting a key leaves its older entry behind; readers skip entries
  // whose seq is no longer the key's, and compact() drops them once they outnumber live ones.
  private logSeq: number[] = [];
  private logKey: string[] = [];
  private lastSeq = 0;
  private lastClock: Stamp | null = null;
  private readonly cursors = new Map<string, number>();
  private readonly marks = new Map<string, Watermark>();
  private readonly docs = new Map<string, DocEntry>();
  private readonly kept = new Map<string, HistoryEntry[]>();
  private readonly versionContexts = new Map<string, Map<string, VersionContext>>();
  // Every doc in list order, rebuilt on the first read after a commit that changed docs.
  private sorted: DocEntry[] | null = null;
  private closed = false;

  constructor(replicaId?: string) {
    this.replicaId = replicaId === undefined ? randomBytes(8).toString('hex') : validateReplicaId(replicaId);
  }

  private open(): void {
    if (this.closed) throw closedError();
  }

  get(key: string): KeyState | undefined {
    this.open();
    const e = this.records.get(key);
    return e === undefined ? undefined : decodeRecord(Buffer.from(e.bin.slice(HASH_BYTES), 'latin1')).state;
  }

  getMany(keys: readonly string[]): Map<string, KeyState> {
    const out = new Map<string, KeyState>();
    for (const key of keys) {
      const state = this.get(key);
      if (state !== undefined) out.set(key, state);
    }
    return out;
  }

  commit(batch: CommitBatch): Uint8Array[] {
    this.open();
    const b = validateBatch(batch);
    // Nothing below can throw, so the batch applies entirely or (above) not at all.
    for (const put of b.puts) {
      const seq = ++this.lastSeq;
      const bin = latin1(put.hash) + latin1(put.bytes);
      this.records.set(put.key, { seq, bin });
      this.logSeq.push(seq);
      this.logKey.push(put.key);
    }
    for (const doc of b.docs) this.docs.set(doc.id, doc);
    if (b.docs.length > 0) this.sorted = null;
    if (b.clock !== undefined) this.lastClock = b.clock;
    for (const c of b.cursors) this.cursors.set(c.replica, c.seq);
    for (const w of b.watermarks) this.marks.set(w.peer, w);
    for (const h of b.history) {
      const list = this.kept.get(h.key) ?? [];
      if (!list.some((e) => e.device === h.device && e.counter === h.counter)) list.push(h);
      this.kept.set(h.key, list);
    }
    for (const c of b.contexts) {
      const m = this.versionContexts.get(c.key) ?? new Map<string, VersionContext>();
      m.set(`${c.device}.${c.counter}`, c);
      this.versionContexts.set(c.key, m);
    }
    for (const p of b.prune) {
      const list = (this.kept.get(p.key) ?? []).sort(newestHistoryFirst).slice(0, p.keep).filter((e) => e.at >= p.before);
      if (list.length > 0) this.kept.set(p.key, list);
      else this.kept.delete(p.key);
      const m = this.versionContexts.get(p.key);
      if (m === undefined) continue;
      const live = new Set([...list, ...p.current].map((d) => `${d.device}.${d.counter}`));
      for (const k of [...m.keys()]) if (!live.has(k)) m.delete(k);
      if (m.size === 0) this.versionContexts.delete(p.key);
    }
    if (this.logSeq.length > 1024 && this.logSeq.length > 2 * this.records.size) this.compact();
    return b.puts.map((p) => p.hash);
  }

  private compact(): void {
    const seqs: number[] = [];
    const keys: string[] = [];
    for (let i = 0; i < this.logSeq.length; i++) {
      if (this.records.get(this.logKey[i])?.seq === this.logSeq[i]) {
        seqs.push(this.logSeq[i]);
        keys.push(this.logKey[i]);
      }
    }
    this.logSeq = seqs;
    this.logKey = keys;
  }

  seq(): number {
    this.open();
    return this.lastSeq;
  }

  changesSince(after: number, limit: number): Change[] {
    this.open();
    const from = seqArg(after);
    const max = countArg('limit', limit, 0);
    const out: Change[] = [];
    // First log index with seq > after.
    let lo = 0;
    let hi = this.logSeq.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.logSeq[mid] <= from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.logSeq.length && out.length < max; i++) {
      const key = this.logKey[i];
      const seq = this.logSeq[i];
      if (this.records.get(key)?.seq === seq) out.push({ key, seq });
    }
    return out;
  }

  scanHashes(): Iterable<readonly [string, Uint8Array]> {
    this.open();
    return scan(this.records);
  }

  snapshot(): StoredSnapshot {
    this.open();
    // Entries are replaced, never changed, so holding today's is a snapshot.
    const entries = [...this.records].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const bytes = entries.reduce((n, [, e]) => n + e.bin.length - HASH_BYTES, 0);
    let open = true;
    function* records(): Generator<StoredRecord> {
      for (const [key, e] of entries) {
        if (!open) return;
        yield { key, encoded: Buffer.from(e.bin.slice(HASH_BYTES), 'latin1') };
      }
    }
    return { count: entries.length, bytes, records, close: () => void (open = false) };
  }

  clock(): Stamp | null {
    this.open();
    return this.lastClock;
  }

  cursor(replica: string): number | undefined {
    this.open();
    return this.cursors.get(replica);
  }

  watermarks(): Watermark[] {
    this.open();
    return [...this.marks.values()];
  }

  lastSeqUnder(prefix: string): number {
    this.open();
    const { from, to } = prefixRange(prefix);
    let max = 0;
    // Tests and benchmarks only: a scan is fine here; the SQLite store reads a key range.
    for (const [key, e] of this.records) if (key >= from && key < to && e.seq > max) max = e.seq;
    return max;
  }

  getDoc(id: string): DocEntry | undefined {
    this.open();
    return this.docs.get(id);
  }

  listDocs(query: DocQuery = {}): DocEntry[] {
    this.open();
    const offset = countArg('offset', query.offset, 0);
    const limit = countArg('limit', query.limit, Number.MAX_SAFE_INTEGER);
    const after = afterArg(query);
    this.sorted ??= [...this.docs.values()].sort(newestFirst);
    const sorted = this.sorted;
    // First index strictly after the position.
    let lo = 0;
    if (after !== undefined) {
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (newestFirst(sorted[mid], after) <= 0) lo = mid + 1;
        else hi = mid;
      }
    }
    const out: DocEntry[] = [];
    let skip = offset;
    for (let i = lo; i < sorted.length && out.length < limit; i++) {
      const d = sorted[i];
      // An omitted filter means no filter: e.g. every doc, live and trashed.
      if (query.trashed !== undefined && d.trashed !== query.trashed) continue;
      if (query.conflicted !== undefined && d.conflicted !== query.conflicted) continue;
      if (skip > 0) skip--;
      else out.push(d);
    }
    return out;
  }

  search(text: string, limit = 50, offset = 0): SearchHit[] {
    this.open();
    const words = searchWords(text);
    const max = countArg('limit', limit, 50);
    const skip = countArg('offset', offset, 0);
    if (words.length === 0 || max === 0) return [];
    const hits: { doc: DocEntry; inTitle: boolean; at: number }[] = [];
    for (const doc of this.docs.values()) {
      if (doc.trashed) continue;
      const title = tokens(doc.title);
      const body = tokens(doc.body);
      const matches = (w: string) => title.some((t) => t.word.startsWith(w)) || body.some((t) => t.word.startsWith(w));
      if (!words.every(matches)) continue;
      const inTitle = words.some((w) => title.some((t) => t.word.startsWith(w)));
      const first = body.find((t) => words.some((w) => t.word.startsWith(w)));
      hits.push({ doc, inTitle, at: first?.index ?? 0 });
    }
    // Not bm25, but the same intent: a word in the title says more than one in the body.
    hits.sort((a, b) => Number(b.inTitle) - Number(a.inTitle) || newestFirst(a.doc, b.doc));
    return hits.slice(skip, skip + max).map((h) => ({ id: h.doc.id, title: h.doc.title, snippet: snippet(h.doc.body, h.at) }));
  }

  history(key: string): HistoryEntry[] {
    this.open();
    return [...(this.kept.get(key) ?? [])].sort(newestHistoryFirst);
  }

  contexts(key: string): VersionContext[] {
    this.open();
    return [...(this.versionContexts.get(key)?.values() ?? [])];
  }

  close(): void {
    this.closed = true;
  }
}

function* scan(records: Map<string, Entry>): Iterable<readonly [string, Uint8Array]> {
  for (const [key, e] of records) yield [key, Buffer.from(e.bin.slice(0, HASH_BYTES), 'latin1')];
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

function newestFirst(a: DocPosition, b: DocPosition): number {
  return b.updated - a.updated || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function tokens(text: string): { word: string; index: number }[] {
  return Array.from(text.matchAll(WORD_RE), (m) => ({ word: foldWord(m[0]), index: m.index }));
}

function snippet(body: string, at: number): string {
  let start = Math.max(0, at - SNIPPET_CHARS / 3);
  let end = Math.min(body.length, start + SNIPPET_CHARS);
  // Never cut a surrogate pair in half.
  if (/[\uDC00-\uDFFF]/.test(body[start] ?? '')) start++;
  if (/[\uDC00-\uDFFF]/.test(body[end] ?? '')) end--;
  return (start > 0 ? '…' : '') + body.slice(start, end).trim() + (end < body.length ? '…' : '');
}
