// Fuzzing every decoder and validator that sees bytes or values from outside: anti-entropy frames
// (decodeFrame, and live responder/initiator sessions over a Replica), gossip rumors, records,
// invite codes, REST routes (handlers called directly with a mutated request) and store commits.
// Inputs start from valid encodings and are mutated (bit flips, byte sets, inserts, deletes,
// truncations, duplicated slices, random bytes) by a seeded PRNG, so a run is reproducible.
//
// Each input ends as: accepted; rejected with the typed error the target documents; a crash (any
// other exception: a bug); or a hang (took longer than `hangMs`). Where a target holds state (the
// sessions' replicas, the REST host, the store), a refused input must leave that state unchanged.

import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { AntiEntropySession } from '../engine/core/anti-entropy.ts';
import { decodeRecord, encodeRecord, type KeyRecord } from '../engine/core/codec.ts';
import { EngineError, ProtocolError, ValidationError } from '../engine/core/errors.ts';
import { decodeInvite, encodeInvite } from '../engine/net/invite.ts';
import { Notes, notesIndexer } from '../engine/notes.ts';
import { decodeFrame, type Mode } from '../engine/core/protocol.ts';
import { statesEqual } from '../engine/core/record.ts';
import { Replica } from '../engine/replica.ts';
import { decodeRumor, encodeRumor } from '../engine/core/rumor.ts';
import { MemoryStore } from '../engine/store/memory.ts';
import type { CommitBatch } from '../engine/store/store.ts';
import { Host } from '../app/host.ts';
import { toErrorResponse } from '../app/http-errors.ts';
import { ROUTES, type RouteContext } from '../app/http-routes.ts';

export interface FuzzRow {
  target: string;
  inputs: number;
  accepted: number;
  rejected: number;
  crashes: number;
  hangs: number;
  /** Refused inputs that changed state anyway (stateful targets only). */
  stateChanged: number;
  maxMs: string;
  seconds: string;
}

export interface FuzzFinding {
  target: string;
  kind: 'crash' | 'hang' | 'state';
  error: string;
  inputHex: string;
}

export interface FuzzReport {
  rows: FuzzRow[];
  findings: FuzzFinding[];
}

export interface FuzzOptions {
  /** Inputs over all targets. */
  readonly total: number;
  readonly seed?: number;
  /** Per-input time over which an input counts as a hang. */
  readonly hangMs?: number;
  /** Findings kept per target and kind. */
  readonly keep?: number;
  readonly progress?: (s: string) => void;
}

// ---- PRNG and mutation ----------------------------------------------------------------------------

class Rng {
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  float(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)];
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(0, 255);
    return out;
  }
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x3f, 0x40, 0xc0];

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** 1-4 random edits of a copy of `base`; occasionally bytes of a random length instead. */
export function mutateBytes(rng: Rng, base: Uint8Array): Uint8Array {
  if (rng.float() < 0.02) return rng.bytes(rng.int(0, 64));
  let b: Uint8Array = base.slice();
  for (let n = rng.int(1, 4); n > 0; n--) {
    const at = b.length === 0 ? 0 : rng.int(0, b.length - 1);
    switch (rng.int(0, 7)) {
      case 0: if (b.length) b[at] ^= 1 << rng.int(0, 7); break;
      case 1: if (b.length) b[at] = rng.int(0, 255); break;
      case 2: if (b.length) b[at] = rng.pick(INTERESTING); break;
      case 3: b = concat([b.subarray(0, at), rng.bytes(rng.int(1, 8)), b.subarray(at)]); break;
      case 4: b = concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.int(1, 8)))]); break;
      case 5: b = b.slice(0, rng.int(0, b.length)); break;
      case 6: {
        const end = Math.min(b.length, at + rng.int(1, 32));
        b = concat([b.subarray(0, end), b.subarray(at, end), b.subarray(end)]);
        break;
      }
      default: if (b.length) b[at] = (b[at] + rng.pick([1, -1, 16, -16, 128])) & 0xff;
    }
  }
  return b;
}

const ODD_CHARS = ['', '-', ' ', '\n', '0', 'O', 'I', 'L', 'U', 'z', '\u00e9', '\ud800', '\u0000', '"', '\\', '{', '}', '[', ']', ',', ':', '1e999', 'null', 'true', '\ufeff'];

export function mutateString(rng: Rng, base: string): string {
  let s = base;
  for (let n = rng.int(1, 4); n > 0; n--) {
    const at = rng.int(0, s.length);
    switch (rng.int(0, 5)) {
      case 0: s = s.slice(0, at) + rng.pick(ODD_CHARS) + s.slice(at + 1); break;
      case 1: s = s.slice(0, at) + rng.pick(ODD_CHARS) + s.slice(at); break;
      case 2: s = s.slice(0, at) + s.slice(at + rng.int(1, 6)); break;
      case 3: s = s.slice(0, at); break;
      case 4: s = s.slice(0, at) + String.fromCharCode(rng.int(0, 0xffff)) + s.slice(at + 1); break;
      default: s = at % 2 ? s.toLowerCase() : s + s.slice(at, at + rng.int(1, 16));
    }
  }
  return s;
}

const ODD_VALUES: unknown[] = [undefined, null, -1, 0, 1, 1.5, Number.NaN, Infinity, -Infinity, 2 ** 53, 2 ** 32, 0xffff_ffff + 1, '', 'x', 'zz', '\ud800', 'aaaaaaaaaaaaaaaa', 'AAAAAAAAAAAAAAAA', {}, [], [1], true, false, 'x'.repeat(70_000)];

/** Replaces, deletes or duplicates one random node of a JSON-like value (a deep copy). */
function mutateValue(rng: Rng, base: unknown): unknown {
  const copy = structuredClone(base);
  const slots: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object' || depth > 6) return;
    if (Array.isArray(v)) v.forEach((x, i) => { slots.push({ parent: v, key: i }); walk(x, depth + 1); });
    else for (const k of Object.keys(v)) { slots.push({ parent: v as Record<string, unknown>, key: k }); walk((v as Record<string, unknown>)[k], depth + 1); }
  };
  walk(copy, 0);
  if (slots.length === 0) return rng.pick(ODD_VALUES);
  for (let n = rng.int(1, 2); n > 0; n--) {
    const { parent, key } = rng.pick(slots);
    const p = parent as Record<string | number, unknown>;
    const r = rng.int(0, 5);
    if (r === 0 && Array.isArray(parent)) parent.splice(key as number, 1);
    else if (r === 1 && Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(parent[key as number]));
    else if (r === 2 && !Array.isArray(parent)) delete p[key];
    else if (r === 3 && typeof p[key] === 'string') p[key] = mutateString(rng, p[key] as string);
    else if (r === 4 && typeof p[key] === 'number') p[key] = (p[key] as number) + rng.pick([1, -1, 0.5, 2 ** 32, -(2 ** 53)]);
    else p[key] = rng.pick(ODD_VALUES);
  }
  return copy;
}

function hex(b: Uint8Array, max = 256): string {
  const h = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  return h.length > max * 2 ? `${h.slice(0, max * 2)}... (${b.length} bytes)` : h;
}

// ---- the harness ---------------------------------------------------------------------------------

type Outcome = 'accepted' | 'rejected' | { crash: unknown } | { state: string };

class Tally {
  readonly row: FuzzRow;
  private readonly started = performance.now();
  private max = 0;
  private readonly report: FuzzReport;
  private readonly hangMs: number;
  private readonly keep: number;
  constructor(target: string, report: FuzzReport, hangMs: number, keep: number) {
    this.report = report;
    this.hangMs = hangMs;
    this.keep = keep;
    this.row = { target, inputs: 0, accepted: 0, rejected: 0, crashes: 0, hangs: 0, stateChanged: 0, maxMs: '0', seconds: '0' };
    report.rows.push(this.row);
  }
  record(outcome: Outcome, ms: number, input: () => string): void {
    const row = this.row;
    row.inputs++;
    if (ms > this.max) this.max = ms;
    if (ms > this.hangMs) {
      row.hangs++;
      this.find('hang', `took ${ms.toFixed(1)} ms`, input);
    }
    if (outcome === 'accepted') row.accepted++;
    else if (outcome === 'rejected') row.rejected++;
    else if ('crash' in outcome) {
      row.crashes++;
      const e = outcome.crash;
      this.find('crash', e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 4).join('\n')}` : String(e), input);
    } else {
      row.rejected++;
      row.stateChanged++;
      this.find('state', outcome.state, input);
    }
  }
  private find(kind: FuzzFinding['kind'], error: string, input: () => string): void {
    if (this.report.findings.filter((f) => f.target === this.row.target && f.kind === kind).length >= this.keep) return;
    this.report.findings.push({ target: this.row.target, kind, error, inputHex: input() });
  }
  done(): void {
    this.row.maxMs = this.max.toFixed(1);
    this.row.seconds = ((performance.now() - this.started) / 1000).toFixed(1);
  }
}

/** Runs `count` inputs through a synchronous target. */
function runSync<T>(tally: Tally, count: number, gen: () => T, run: (input: T) => Outcome, show: (input: T) => string): void {
  for (let i = 0; i < count; i++) {
    const input = gen();
    const t0 = performance.now();
    let outcome: Outcome;
    try {
      outcome = run(input);
    } catch (e) {
      outcome = { crash: e };
    }
    tally.record(outcome, performance.now() - t0, () => show(input));
  }
  tally.done();
}

const typed = (cls: typeof EngineError) => (e: unknown): Outcome => (e instanceof cls ? 'rejected' : { crash: e });

// ---- fixtures --------------------------------------------------------------------------------------

const DEV_A = 'a1a1a1a1a1a1a1a1';
const DEV_B = 'b2b2b2b2b2b2b2b2';
const VAULT = '0123456789abcdef';

interface Snapshot {
  readonly id: string;
  readonly puts: KeyRecord[];
  readonly clock: CommitBatch['clock'];
}

function snapshot(r: Replica): Snapshot {
  const puts: KeyRecord[] = [];
  for (const [key] of r.storage.scanHashes()) puts.push({ key, state: r.storage.get(key)! });
  return { id: r.replicaId, puts, clock: r.storage.clock() ?? undefined };
}

function restore(s: Snapshot): Replica {
  const store = new MemoryStore(s.id);
  if (s.puts.length > 0) store.commit({ puts: s.puts, clock: s.clock });
  return Replica.open(store);
}

/** Two replicas that share some notes, differ in others, and hold a conflict or two. */
function fixturePair(): { a: Snapshot; b: Snapshot } {
  let t = 1_700_000_000_000;
  const now = (): number => (t += 7);
  const a = Replica.open(new MemoryStore(DEV_A), { now, indexer: notesIndexer });
  const b = Replica.open(new MemoryStore(DEV_B), { now, indexer: notesIndexer });
  const na = new Notes(a);
  const nb = new Notes(b);
  for (let i = 0; i < 30; i++) na.create({ title: `shared ${i}`, body: `body ${i} `.repeat(i) }, `s${i}`);
  b.apply(a.changesSince(0, 1000).map((c) => ({ key: c.key, state: a.get(c.key)! })));
  for (let i = 0; i < 6; i++) na.create({ title: `only a ${i}` }, `a${i}`);
  for (let i = 0; i < 6; i++) nb.create({ title: `only b ${i}`, body: '\u00e9\u4e2d' }, `b${i}`);
  for (let i = 0; i < 3; i++) {
    na.save(`s${i}`, { title: `a's edit ${i}` });
    nb.save(`s${i}`, { title: `b's edit ${i}` });
  }
  na.trash('s5');
  return { a: snapshot(a), b: snapshot(b) };
}

interface Event {
  readonly to: 'a' | 'b';
  readonly frame: Uint8Array;
  readonly hello: boolean;
}

interface Transcript {
  readonly mode: Mode;
  readonly width: number;
  readonly salt: Uint8Array;
  readonly events: Event[];
}

function transcript(pair: { a: Snapshot; b: Snapshot }, mode: Mode, width: number, salt: Uint8Array): Transcript {
  const a = restore(pair.a);
  const b = restore(pair.b);
  const init = AntiEntropySession.initiate(a, { mode, salt, width });
  const resp = AntiEntropySession.respond(b);
  const events: Event[] = [];
  let toB = init.frames.map((frame) => ({ to: 'b' as const, frame, hello: true }));
  for (let round = 0; round < 100 && toB.length > 0; round++) {
    const toA: Event[] = [];
    for (const e of toB) {
      events.push(e);
      for (const frame of resp.receive(e.frame)) toA.push({ to: 'a', frame, hello: false });
    }
    toB = [];
    for (const e of toA) {
      events.push(e);
      if (init.session.status !== 'open') break;
      for (const frame of init.session.receive(e.frame)) toB.push({ to: 'b', frame, hello: false });
    }
  }
  if (init.session.status !== 'done') throw new Error(`fixture session ${mode}/${width} ended ${init.session.status}: ${init.session.error?.message}`);
  return { mode, width, salt, events };
}

function stateOf(r: Replica): string {
  return `${hex(r.tree.root().digest)}/${r.tree.size}/${r.seq()}`;
}

// ---- targets -----------------------------------------------------------------------------------

function fuzzFrames(tally: Tally, rng: Rng, count: number, transcripts: Transcript[]): void {
  const bases = transcripts.flatMap((t) => t.events.map((e) => ({ frame: e.frame, width: e.hello ? null : t.width })));
  runSync(tally, count, () => {
    const b = rng.pick(bases);
    // Mostly the frame's own width; sometimes the wrong one, or a hello decode of a step.
    const width = rng.float() < 0.85 ? b.width : rng.pick([null, 2, 4, 8, 16]);
    return { frame: mutateBytes(rng, b.frame), width };
  }, ({ frame, width }) => {
    try {
      decodeFrame(frame, width);
      return 'accepted';
    } catch (e) {
      return typed(ProtocolError)(e);
    }
  }, ({ frame, width }) => `width=${width} ${hex(frame)}`);
}

/** Replays a transcript to a fresh session up to a random frame, then feeds that frame mutated. */
function fuzzSession(tally: Tally, rng: Rng, count: number, transcripts: Transcript[], pair: { a: Snapshot; b: Snapshot }, side: 'a' | 'b'): void {
  let replica = restore(pair[side]);
  const base = stateOf(replica);
  runSync(tally, count, () => {
    const t = rng.pick(transcripts);
    const mine = t.events.filter((e) => e.to === side);
    const k = rng.int(0, mine.length - 1);
    return { t, prefix: mine.slice(0, k), frame: mutateBytes(rng, mine[k].frame) };
  }, ({ t, prefix, frame }) => {
    if (stateOf(replica) !== base) replica = restore(pair[side]);
    const session = side === 'a' ? AntiEntropySession.initiate(replica, { mode: t.mode, salt: t.salt, width: t.width }).session : AntiEntropySession.respond(replica);
    for (const e of prefix) {
      session.receive(e.frame);
      if (session.status !== 'open') return 'accepted'; // the prefix finished the session: nothing left to fuzz
    }
    const before = stateOf(replica);
    session.receive(frame);
    if (session.status !== 'failed') return 'accepted';
    if (!(session.error instanceof ProtocolError)) return { crash: session.error };
    const after = stateOf(replica);
    return after === before ? 'rejected' : { state: `refused frame changed the replica: ${before} -> ${after}` };
  }, ({ t, prefix, frame }) => `mode=${t.mode} width=${t.width} after ${prefix.length} frames: ${hex(frame)}`);
}

function fuzzRumors(tally: Tally, rng: Rng, count: number, records: KeyRecord[]): void {
  const bases: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const recs = Array.from({ length: rng.int(0, 6) }, () => rng.pick(records));
    const notices = Array.from({ length: rng.int(0, 3) }, () => ({ key: rng.pick(records).key, device: rng.pick([DEV_A, DEV_B]), counter: rng.int(1, 1 << 20) }));
    bases.push(encodeRumor({ vault: VAULT, records: recs, notices }));
  }
  runSync(tally, count, () => mutateBytes(rng, rng.pick(bases)), (bytes) => {
    try {
      decodeRumor(bytes, VAULT);
      return 'accepted';
    } catch (e) {
      return typed(ProtocolError)(e);
    }
  }, (b) => hex(b));
}

function fuzzRecords(tally: Tally, rng: Rng, count: number, records: KeyRecord[]): void {
  const bases = records.map(encodeRecord);
  runSync(tally, count, () => mutateBytes(rng, rng.pick(bases)), (bytes) => {
    try {
      decodeRecord(bytes);
      return 'accepted';
    } catch (e) {
      return typed(ProtocolError)(e);
    }
  }, (b) => hex(b));
}

const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function base32(bytes: Uint8Array): string {
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  while (bits.length % 5) bits += '0';
  return bits.match(/.{5}/g)!.map((g) => B32[parseInt(g, 2)]).join('');
}

async function fuzzInvites(tally: Tally, rng: Rng, count: number): Promise<void> {
  const key = await generateKeyPair('Ed25519');
  const peerId = key.publicKey.toString();
  const addrs = ['/ip4/192.168.1.23/tcp/41234', '/ip6/fe80::1/tcp/41234', '/ip4/10.0.0.7/tcp/9000', '/dns4/laptop.local/tcp/9000'];
  const codes = [0, 1, 2, 4].map((n) => encodeInvite({ secret: new Uint8Array(32).map((_, i) => (i * 37 + n) & 0xff), peerId, addrs: addrs.slice(0, n) }));
  // The payloads behind the codes, so mutations can also carry a correct checksum and reach the parser.
  const payloads = codes.map((c) => {
    const clean = c.replaceAll('-', '');
    let bits = '';
    for (const ch of clean) bits += B32.indexOf(ch).toString(2).padStart(5, '0');
    const bytes = new Uint8Array(Math.floor(bits.length / 8)).map((_, i) => parseInt(bits.slice(i * 8, i * 8 + 8), 2));
    return bytes.subarray(0, bytes.length - 4);
  });
  runSync(tally, count, () => {
    if (rng.float() < 0.5) return mutateString(rng, rng.pick(codes));
    const payload = mutateBytes(rng, rng.pick(payloads));
    const sum = createHash('sha256').update(payload).digest().subarray(0, 4);
    return base32(concat([payload, sum]));
  }, (code) => {
    try {
      decodeInvite(code);
      return 'accepted';
    } catch (e) {
      return e instanceof ValidationError && e.code === 'E_INVALID_INVITE' ? 'rejected' : { crash: e };
    }
  }, (code) => hex(Buffer.from(code, 'utf8')));
}

function fuzzStore(tally: Tally, rng: Rng, count: number, pair: { a: Snapshot; b: Snapshot }): void {
  const src = restore(pair.a);
  const docs = notesIndexer(pair.a.puts.map((p) => p.key), (k) => src.get(k));
  const bases: CommitBatch[] = [];
  for (let i = 0; i < 30; i++) {
    const puts = Array.from({ length: rng.int(1, 4) }, () => rng.pick([...pair.a.puts, ...pair.b.puts]));
    bases.push({ puts: [...new Map(puts.map((p) => [p.key, p])).values()], docs: docs.slice(0, rng.int(0, 2)), clock: pair.b.clock, cursors: rng.float() < 0.5 ? [{ replica: DEV_B, seq: rng.int(0, 99) }] : undefined });
  }
  const plain = bases.map((b) => JSON.parse(JSON.stringify(b)) as CommitBatch);
  let store = new MemoryStore(DEV_A);
  const reset = (): void => {
    store = new MemoryStore(DEV_A);
    store.commit({ puts: pair.a.puts, clock: pair.a.clock });
  };
  reset();
  runSync(tally, count, () => mutateValue(rng, rng.pick(plain)) as CommitBatch, (batch) => {
    if (store.seq() !== pair.a.puts.length) reset();
    const seq = store.seq();
    const clock = JSON.stringify(store.clock());
    const keys = Array.isArray(batch?.puts) ? batch.puts.map((p) => (p !== null && typeof p === 'object' && typeof p.key === 'string' ? p.key : '')).filter(Boolean) : [];
    const before = keys.map((k) => store.get(k));
    try {
      store.commit(batch);
      return 'accepted';
    } catch (e) {
      if (!(e instanceof ValidationError)) return { crash: e };
      if (store.seq() !== seq || JSON.stringify(store.clock()) !== clock || keys.some((k, i) => !statesEqual(before[i], store.get(k)))) {
        return { state: 'a refused commit changed the store' };
      }
      return 'rejected';
    }
  }, (batch) => {
    const s = JSON.stringify(batch, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
    return hex(Buffer.from(s.length > 2000 ? `${s.slice(0, 2000)}...` : s, 'utf8'));
  });
}

interface RestInput {
  route: number;
  id: string;
  query: string;
  contentType: string | undefined;
  length: 'exact' | 'none' | 'chunked' | 'wrong';
  body: Buffer | null;
}

async function fuzzRest(tally: Tally, rng: Rng, count: number, pair: { a: Snapshot; b: Snapshot }): Promise<void> {
  const routes = ROUTES.map((r, i) => ({ r, i })).filter(({ r }) => r.path !== '/api/events');
  const noteIds = [...new Set(pair.a.puts.map((p) => p.key.split('/')[1]))];
  const bodies: Record<string, unknown[]> = {
    'POST /api/notes': [{ title: 'new', body: 'text' }, {}, { title: '' }],
    'PUT /api/notes/:id': [{ title: 'edited' }, { body: 'b', title: 't' }],
    'POST /api/notes/:id/resolve': [{ field: 'title', value: 'pick' }, { field: 'body', value: '' }],
    'POST /api/join': [{ code: 'ABCD-EFGH' }],
    'POST /api/peers': [{ address: '/ip4/127.0.0.1/tcp/1' }],
  };
  const queries = ['trashed=1', 'trashed=0', 'q=shared', 'q=only+a', 'q=%22', ''];
  let host: Host;
  let replica: Replica;
  const reset = (): void => {
    const store = new MemoryStore(DEV_A);
    store.commit({ puts: pair.a.puts, clock: pair.a.clock });
    replica = Replica.open(store, { indexer: notesIndexer });
    host = new Host(new Notes(replica));
  };
  reset();
  const gen = (): RestInput => {
    const { r, i } = rng.pick(routes);
    const shapes = bodies[`${r.method} ${r.path}`];
    let body: Buffer | null = null;
    if (shapes !== undefined || rng.float() < 0.2) {
      const base = JSON.stringify(shapes ? rng.pick(shapes) : {});
      const roll = rng.float();
      body = roll < 0.4 ? Buffer.from(JSON.stringify(mutateValue(rng, JSON.parse(base)) ?? null)) : roll < 0.8 ? Buffer.from(mutateBytes(rng, Buffer.from(base))) : Buffer.from(base);
    }
    return {
      route: i,
      id: rng.float() < 0.5 ? rng.pick(noteIds) : mutateString(rng, rng.pick(noteIds)),
      query: rng.float() < 0.5 ? rng.pick(queries) : mutateString(rng, rng.pick(queries)),
      contentType: rng.float() < 0.85 ? 'application/json' : rng.pick([undefined, 'text/plain', 'application/json; charset=latin1', 'application/json;charset="utf-8"', mutateString(rng, 'application/json')]),
      length: rng.pick(['exact', 'exact', 'exact', 'none', 'chunked', 'wrong'] as const),
      body,
    };
  };
  for (let n = 0; n < count; n++) {
    if (n % 2000 === 0) reset();
    const input = gen();
    const route = ROUTES[input.route];
    const headers: Record<string, string> = {};
    if (input.contentType !== undefined) headers['content-type'] = input.contentType;
    if (input.body !== null) {
      if (input.length === 'exact') headers['content-length'] = String(input.body.length);
      else if (input.length === 'chunked') headers['transfer-encoding'] = 'chunked';
      else if (input.length === 'wrong') headers['content-length'] = String(input.body.length + rng.int(-3, 3));
    }
    const req = Readable.from(input.body === null ? [] : [input.body]) as unknown as RouteContext['req'];
    (req as unknown as { headers: Record<string, string> }).headers = headers;
    const ctx: RouteContext = { api: host!, req, res: null as unknown as RouteContext['res'], params: { id: input.id }, query: new URLSearchParams(input.query), events: () => {} };
    const before = stateOf(replica!);
    const t0 = performance.now();
    let outcome: Outcome;
    try {
      await route.handle(ctx);
      outcome = 'accepted';
    } catch (e) {
      const after = stateOf(replica!);
      if (!toErrorResponse(e).expected) outcome = { crash: e };
      else outcome = after === before ? 'rejected' : { state: `refused request changed the replica: ${before} -> ${after}` };
    }
    tally.record(outcome, performance.now() - t0, () => `${route.method} ${route.path} id=${JSON.stringify(input.id)} ?${input.query} ${JSON.stringify(headers)} body=${input.body === null ? '-' : hex(input.body)}`);
  }
  tally.done();
}

// ---- entry points --------------------------------------------------------------------------------

/** Share of the total per target (the REST target is async and slower per input). */
const SHARES = { frames: 0.34, responder: 0.04, initiator: 0.04, rumors: 0.16, records: 0.16, invites: 0.12, store: 0.1, rest: 0.04 };

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const report: FuzzReport = { rows: [], findings: [] };
  const seed = opts.seed ?? 0xf022;
  const hangMs = opts.hangMs ?? 100;
  const keep = opts.keep ?? 3;
  const progress = opts.progress ?? ((): void => {});
  const n = (share: number): number => Math.max(1, Math.round(opts.total * share));
  const pair = fixturePair();
  const transcripts: Transcript[] = [];
  const modes: Mode[] = ['whole', 'merkle', 'recent', 'auto'];
  for (const mode of modes) for (const width of [4, 8]) transcripts.push(transcript(pair, mode, width, new Uint8Array(8).fill(width + modes.indexOf(mode))));
  const records = [...pair.a.puts, ...pair.b.puts];
  const step = async (name: string, share: number, run: (t: Tally, rng: Rng, count: number) => void | Promise<void>): Promise<void> => {
    progress(`  fuzz ${name}: ${n(share)} inputs\n`);
    await run(new Tally(name, report, hangMs, keep), new Rng(seed ^ (report.rows.length * 0x9e3779b9)), n(share));
  };
  await step('ae frames (decodeFrame)', SHARES.frames, (t, r, c) => fuzzFrames(t, r, c, transcripts));
  await step('ae session responder', SHARES.responder, (t, r, c) => fuzzSession(t, r, c, transcripts, pair, 'b'));
  await step('ae session initiator', SHARES.initiator, (t, r, c) => fuzzSession(t, r, c, transcripts, pair, 'a'));
  await step('gossip rumors (decodeRumor)', SHARES.rumors, (t, r, c) => fuzzRumors(t, r, c, records));
  await step('records (decodeRecord)', SHARES.records, (t, r, c) => fuzzRecords(t, r, c, records));
  await step('invite codes (decodeInvite)', SHARES.invites, (t, r, c) => fuzzInvites(t, r, c));
  await step('store commit (validateBatch)', SHARES.store, (t, r, c) => fuzzStore(t, r, c, pair));
  await step('REST routes (handlers)', SHARES.rest, (t, r, c) => fuzzRest(t, r, c, pair));
  return report;
}

/** Bench rows: one per target, plus a total. */
export async function fuzzRows(total: number, progress?: (s: string) => void): Promise<{ rows: FuzzRow[]; findings: FuzzFinding[] }> {
  const report = await runFuzz({ total, progress });
  const sum = (k: 'inputs' | 'accepted' | 'rejected' | 'crashes' | 'hangs' | 'stateChanged'): number => report.rows.reduce((s, r) => s + r[k], 0);
  const rows = [...report.rows, {
    target: 'total', inputs: sum('inputs'), accepted: sum('accepted'), rejected: sum('rejected'), crashes: sum('crashes'), hangs: sum('hangs'), stateChanged: sum('stateChanged'),
    maxMs: Math.max(...report.rows.map((r) => Number(r.maxMs))).toFixed(1),
    seconds: report.rows.reduce((s, r) => s + Number(r.seconds), 0).toFixed(1),
  }];
  return { rows, findings: report.findings };
}
