// Initial sync: a new device joins a vault of `notes` notes (title, ~2 KB body, created: three
// keys each) and pulls everything by anti-entropy, compared side by side, in the same run, with
// a raw TCP copy of the same bytes (the encoded records) over loopback.
//
// The vault's existing peer is a SyncNode in a child process (forked from this file with
// --initial-sync-source), so the sender and the receiver each have an event loop and a core, as
// two laptops would. The same child also serves the raw copy: a net server that writes the
// encoded records in one go to whoever connects. The joiner runs in this process: SyncNode.start
// with the invite code, real libp2p over TCP on 127.0.0.1 (pnet, noise, yamux), mDNS off,
// a fresh SQLite file. "Done" is the first change event after which the joiner's Merkle root
// equals the source's (no polling).
//
// Bytes on the wire are counted at the TCP level: node:diagnostics_channel reports every socket
// this process opens ('net.client.socket') or accepts ('net.server.socket'); during the join the
// only one is the joiner's connection to the source, and its bytesRead + bytesWritten are the
// TCP payload both ways (every libp2p layer included: pnet, noise, yamux, multistream, identify,
// gossipsub, the anti-entropy frames; IP and TCP headers are not). libp2p 2.x has no byte
// metrics of its own without a metrics implementation, and this needs no change to the engine.
//
// Four figures: the raw copy (median of 5, interleaved before and after the join); the raw copy
// followed by the local work any receiver must do (decode + merge into a fresh SQLite store with
// the notes index), once in write order (note by note, ~1 MiB per commit, the cheapest order)
// and once in the order a session delivers records (key order, in as many commits as the join
// used), so the join's cost splits into store work, arrival order and the network; and the join
// itself.

import { fork, type ChildProcess } from 'node:child_process';
import dc from 'node:diagnostics_channel';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { ByteReader } from '../engine/core/bytes.ts';
import { encodeRecord, leafHash, readRecord, type KeyRecord } from '../engine/core/codec.ts';
import type { KeyState } from '../engine/core/record.ts';
import { noteKey, notesIndexer } from '../engine/notes.ts';
import { Replica, type Write } from '../engine/replica.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { SyncNode } from '../engine/sync-node.ts';

export interface InitialSyncRow {
  method: string;
  notes: number;
  records: number;
  MB: number;
  ms: number;
  /** TCP payload bytes, both directions. */
  wireBytes: number;
  /** Time relative to the raw TCP copy (the target for the join: <= 2x). */
  xCopy: number;
  /** Time relative to the raw copy followed by the local store work, in write order. */
  xCopyMerge: number | null;
  /** Time relative to the floor: raw SQLite + FTS5 insert of the same rows in one transaction. */
  xFloor: number;
  /** Bytes relative to the raw TCP copy (the target for the join: <= 2x). */
  xBytes: number;
  /** Commits the records were merged in. */
  commits: number;
  /** The join only: SyncNode.start returned; the first records were merged (ms from start). */
  startMs: number | null;
  firstRecordMs: number | null;
  /** The join only: the anti-entropy session's own message bytes (both ways) and duration. */
  sessionBytes: number | null;
  sessionMs: number | null;
  /** The join only: the joiner's JS heap at its highest after a merge, over its heap before (MB). */
  heapGrowthMB: number | null;
}

// ---- the source peer (child process) ----------------------------------------------------------

type ToSource = { type: 'start'; dataDir: string; rawFile: string } | { type: 'stop' };
type FromSource =
  | { type: 'started'; code: string; rawPort: number; root: string; keys: number }
  | { type: 'error'; message: string };

async function sourceMain(): Promise<void> {
  const send = (m: FromSource): void => void process.send!(m);
  let node: SyncNode | null = null;
  let server: net.Server | null = null;
  process.on('message', (raw) => {
    const m = raw as ToSource;
    void (async () => {
      try {
        if (m.type === 'start') {
          const bytes = readFileSync(m.rawFile);
          node = await SyncNode.start({ dataDir: m.dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, antiEntropyIntervalMs: 3_600_000 });
          server = net.createServer((socket) => {
            socket.on('error', () => undefined);
            socket.end(bytes);
          });
          await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
          const { code } = node.invite();
          const root = node.replica.tree.node([]);
          send({ type: 'started', code, rawPort: (server.address() as net.AddressInfo).port, root: Buffer.from(root.digest).toString('hex'), keys: root.count });
        } else if (m.type === 'stop') {
          server?.close();
          await node?.stop();
          process.exit(0);
        }
      } catch (e) {
        send({ type: 'error', message: (e as Error).stack ?? String(e) });
      }
    })();
  });
  process.on('disconnect', () => void (node?.stop() ?? Promise.resolve()).finally(() => process.exit(0)));
}

if (import.meta.main && process.argv.includes('--initial-sync-source')) void sourceMain();

// ---- the dataset ----------------------------------------------------------------------------

/** Deterministic pseudo-random text (mulberry32), so every run syncs the same vault. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function vocabulary(rand: () => number, size: number): string[] {
  const letters = 'etaoinshrdlucmfwypvbgkjqxz';
  return Array.from({ length: size }, () => {
    const len = 2 + Math.floor(rand() * 9);
    let w = '';
    for (let i = 0; i < len; i++) w += letters[Math.floor(rand() ** 1.5 * letters.length)];
    return w;
  });
}

function text(rand: () => number, words: readonly string[], chars: number): string {
  let s = '';
  while (s.length < chars) {
    s += words[Math.floor(rand() ** 2 * words.length)];
    s += rand() < 0.08 ? '.\n' : ' ';
  }
  return s.slice(0, chars);
}

/** Writes the vault into a fresh store at `file`; returns the encoded records (what a joiner must receive). */
function buildVault(file: string, notes: number, bodyChars: number): { raw: Buffer; records: number } {
  const rand = prng(0x5eed);
  const words = vocabulary(rand, 4000);
  const store = SqliteStore.open(file);
  const chunks: Uint8Array[] = [];
  let records = 0;
  try {
    const replica = Replica.open(store, { indexer: notesIndexer });
    const batch = 500;
    for (let start = 0; start < notes; start += batch) {
      const writes: Write[] = [];
      for (let i = start; i < Math.min(notes, start + batch); i++) {
        const id = `n${i.toString(36).padStart(6, '0')}`;
        writes.push(
          { key: noteKey(id, 'title'), value: text(rand, words, 20 + Math.floor(rand() * 40)) },
          { key: noteKey(id, 'body'), value: text(rand, words, bodyChars) },
          { key: noteKey(id, 'created'), value: String(1_700_000_000_000 + i * 60_000) },
        );
      }
      for (const rec of replica.write(writes)) {
        chunks.push(encodeRecord(rec));
        records++;
      }
    }
  } finally {
    store.close();
  }
  return { raw: Buffer.concat(chunks), records };
}

// ---- measurements -----------------------------------------------------------------------------

function rawCopy(port: number, keep: boolean): Promise<{ ms: number; bytes: number; data: Buffer | null }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const parts: Buffer[] = [];
    let bytes = 0;
    const socket = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => socket.destroy(new Error('raw copy timed out after 60 s')), 60_000);
    socket.on('data', (d: Buffer) => {
      bytes += d.length;
      if (keep) parts.push(d);
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('end', () => {
      const ms = performance.now() - t0;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ms, bytes, data: keep ? Buffer.concat(parts) : null });
    });
  });
}

/**
 * Decodes the raw records and merges them into a fresh store: in the order they were written
 * (note by note), ~1 MiB per commit; or in the order a session delivers them (key order, so a
 * note's fields stay together) in `commits` equal commits. Sorting is not timed.
 */
function applyLocally(data: Buffer, file: string, order: { byKey: false } | { byKey: true; commits: number }): number {
  const t0 = performance.now();
  const r = new ByteReader(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  const records: { rec: KeyRecord; end: number }[] = [];
  while (r.remaining > 0) records.push({ rec: readRecord(r), end: data.length - r.remaining });
  let sortMs = 0;
  const batches: KeyRecord[][] = [];
  if (order.byKey) {
    const t = performance.now();
    const sorted = records.map((x) => x.rec).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const size = Math.ceil(sorted.length / Math.max(1, order.commits));
    for (let i = 0; i < sorted.length; i += size) batches.push(sorted.slice(i, i + size));
    sortMs = performance.now() - t;
  } else {
    let batch: KeyRecord[] = [];
    let start = 0;
    for (const x of records) {
      batch.push(x.rec);
      if (x.end - start >= 1024 * 1024) {
        batches.push(batch);
        batch = [];
        start = x.end;
      }
    }
    if (batch.length > 0) batches.push(batch);
  }
  const store = SqliteStore.open(file);
  try {
    const replica = Replica.open(store, { indexer: notesIndexer });
    for (const b of batches) replica.apply(b, 'anti-entropy');
  } finally {
    store.close();
  }
  return performance.now() - t0 - sortMs;
}

/**
 * The floor: what SQLite alone takes to store the same rows, with nothing of ours around it. The
 * store's own schema (records with their indexes, docs with theirs, the FTS5 index), made by
 * SqliteStore.open on a fresh file, then filled through a bare connection with the same pragmas
 * (WAL, synchronous=FULL): every record row (key, encoded state, leaf hash, seq), every note's
 * doc row and its FTS5 row, in one transaction. Decoding, hashing and building the doc rows
 * happen before the clock starts.
 */
function floorInsert(data: Buffer, file: string): number {
  const r = new ByteReader(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  const rows: { key: string; bytes: Uint8Array; hash: Uint8Array }[] = [];
  const states = new Map<string, KeyState>();
  while (r.remaining > 0) {
    const start = data.length - r.remaining;
    const rec = readRecord(r);
    const bytes = new Uint8Array(data.buffer, data.byteOffset + start, data.length - r.remaining - start);
    rows.push({ key: rec.key, bytes, hash: leafHash(bytes) });
    states.set(rec.key, rec.state);
  }
  const docs = notesIndexer([...states.keys()], (key) => states.get(key));
  SqliteStore.open(file).close();
  const db = new DatabaseSync(file);
  try {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    const put = db.prepare('INSERT INTO records (key, state, hash, seq) VALUES (?, ?, ?, ?)');
    const doc = db.prepare('INSERT INTO docs (id, title, body, updated, created, trashed, conflicted) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const fts = db.prepare('INSERT INTO docs_fts (rowid, title, body) VALUES (?, ?, ?)');
    const t0 = performance.now();
    db.exec('BEGIN IMMEDIATE');
    rows.forEach((row, i) => put.run(row.key, row.bytes, row.hash, i + 1));
    for (const d of docs) {
      const { lastInsertRowid } = doc.run(d.id, d.title, d.body, d.updated, d.created, d.trashed ? 1 : 0, d.conflicted ? 1 : 0);
      if (!d.trashed) fts.run(lastInsertRowid, d.title, d.body);
    }
    db.exec('COMMIT');
    return performance.now() - t0;
  } finally {
    db.close();
  }
}

interface Source {
  readonly child: ChildProcess;
  readonly info: Extract<FromSource, { type: 'started' }>;
  stop(): Promise<void>;
}

async function startSource(dataDir: string, rawFile: string): Promise<Source> {
  const child = fork(fileURLToPath(import.meta.url), ['--initial-sync-source'], {
    execPath: process.execPath,
    env: { ...process.env, NOTES_LOG: process.env.NOTES_LOG ?? 'error' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ type: 'stop' } satisfies ToSource);
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(kill);
  };
  try {
    const info = await new Promise<Extract<FromSource, { type: 'started' }>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('source peer did not start within 60 s')), 60_000);
      child.once('message', (raw) => {
        clearTimeout(timer);
        const m = raw as FromSource;
        if (m.type === 'error') reject(new Error(`source peer: ${m.message}`));
        else resolve(m);
      });
      void exited.then(() => reject(new Error('source peer exited')));
      child.send({ type: 'start', dataDir, rawFile } satisfies ToSource);
    });
    return { child, info, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

interface JoinResult {
  ms: number;
  /** SyncNode.start returned (vault joined, store created, libp2p listening). */
  startMs: number;
  /** Commits (change events) the session's records arrived in. */
  commits: number;
  firstRecordMs: number;
  wireBytes: number;
  sessionBytes: number;
  sessionMs: number;
  heapGrowthMB: number;
}

async function joinAndWait(source: Source, dataDir: string, timeoutMs: number, log: (s: string) => void): Promise<JoinResult> {
  // Every TCP connection this process opens or accepts while joining is to or from the source
  // (the raw copies run before and after); normally there is exactly one, dialed by the joiner.
  const sockets: net.Socket[] = [];
  const onSocket = (m: unknown): void => void sockets.push((m as { socket: net.Socket }).socket);
  dc.subscribe('net.client.socket', onSocket);
  dc.subscribe('net.server.socket', onSocket);
  let node: SyncNode | null = null;
  try {
    (globalThis as { gc?: () => void }).gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    const t0 = performance.now();
    let firstRecordMs = NaN;
    let ms = NaN;
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    node = await SyncNode.start({ dataDir, join: source.info.code, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, antiEntropyIntervalMs: 3_600_000 });
    const startMs = performance.now() - t0;
    let commits = 0;
    const joiner = node;
    const check = (): void => {
      if (!Number.isNaN(ms)) return;
      if (Buffer.from(joiner.replica.tree.node([]).digest).toString('hex') === source.info.root) {
        ms = performance.now() - t0;
        resolveDone();
      }
    };
    joiner.replica.onChange((e) => {
      if (e.origin === 'anti-entropy') commits++;
      if (Number.isNaN(firstRecordMs)) firstRecordMs = performance.now() - t0;
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      check();
    });
    check();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const st = joiner.state();
        const sessions = st.sessions.map((x) => `${x.role} ${x.mode} ok=${x.ok} ${x.error ?? ''} ${x.durationMs} ms`).join('; ');
        reject(new Error(`the joiner did not get every note within ${timeoutMs} ms (${st.merkle.keys} of ${source.info.keys} keys; sessions: ${sessions || 'none'})`));
      }, timeoutMs);
    });
    await Promise.race([done, timedOut]);
    clearTimeout(timer);
    // The session's own figures arrive once both sides have closed the stream.
    const sessionDeadline = Date.now() + 10_000;
    while (joiner.state().sessions.length === 0 && Date.now() < sessionDeadline) await new Promise((r) => setTimeout(r, 20));
    // The session that carried the vault: the largest (others, such as an acknowledgement, are small).
    const s = joiner.state().sessions.reduce<ReturnType<SyncNode['state']>['sessions'][number] | undefined>((best, x) => (best === undefined || x.bytesReceived > best.bytesReceived ? x : best), undefined);
    if (sockets.length === 0) throw new Error('no TCP connection to the source was seen');
    if (sockets.length > 1) log(`  initial sync: ${sockets.length} connections during the join (a reconnect); bytes are their sum\n`);
    return {
      ms, startMs, commits, firstRecordMs, wireBytes: sockets.reduce((a, k) => a + k.bytesRead + k.bytesWritten, 0), heapGrowthMB: (heapPeak - heapBefore) / 1e6,
      sessionBytes: s ? s.bytesSent + s.bytesReceived : NaN, sessionMs: s ? s.durationMs : NaN,
    };
  } finally {
    dc.unsubscribe('net.client.socket', onSocket);
    dc.unsubscribe('net.server.socket', onSocket);
    await node?.stop();
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

export interface InitialSyncOptions {
  readonly notes?: number;
  readonly bodyChars?: number;
  readonly timeoutMs?: number;
}

export async function initialSyncRows(opts: InitialSyncOptions = {}, log: (s: string) => void = () => undefined): Promise<InitialSyncRow[]> {
  process.env.NOTES_LOG ??= 'warn';
  const notes = opts.notes ?? 10_000;
  const root = mkdtempSync(join(tmpdir(), 'notes-bench-initial-'));
  let source: Source | null = null;
  try {
    const srcDir = join(root, 'source');
    mkdirSync(srcDir);
    const t = performance.now();
    const { raw, records } = buildVault(join(srcDir, 'notes.db'), notes, opts.bodyChars ?? 2000);
    const rawFile = join(root, 'records.bin');
    writeFileSync(rawFile, raw);
    log(`  initial sync: built a vault of ${notes} notes (${records} records, ${(raw.length / 1e6).toFixed(1)} MB) in ${Math.round(performance.now() - t)} ms\n`);
    source = await startSource(srcDir, rawFile);
    if (source.info.keys !== records) throw new Error(`source holds ${source.info.keys} keys, expected ${records}`);

    const copies: number[] = [];
    const copy = async (): Promise<void> => {
      const c = await rawCopy(source!.info.rawPort, false);
      if (c.bytes !== raw.length) throw new Error(`raw copy moved ${c.bytes} bytes, expected ${raw.length}`);
      copies.push(c.ms);
    };
    await copy(); // warm-up, not counted
    copies.length = 0;
    for (let i = 0; i < 3; i++) await copy();
    const got = await rawCopy(source.info.rawPort, true);
    if (got.bytes !== raw.length) throw new Error(`raw copy moved ${got.bytes} bytes, expected ${raw.length}`);
    const megabyte = Math.ceil(raw.length / (1024 * 1024));
    const sqliteFloorMs = floorInsert(got.data!, join(root, 'sqlite-floor.db'));
    const floorMs = got.ms + applyLocally(got.data!, join(root, 'floor.db'), { byKey: false });
    log(`  initial sync: raw copy ${round(median(copies))} ms, raw SQLite + FTS5 insert ${Math.round(sqliteFloorMs)} ms, copy + merge ${Math.round(floorMs)} ms; joining...\n`);
    const profileFromUs = process.hrtime.bigint() / 1000n;
    const j = await joinAndWait(source, join(root, 'joiner'), opts.timeoutMs ?? 300_000, log);
    // Under --cpu-prof: the join's part of the profiles (bench/profile-layers.ts; same clock).
    if (process.execArgv.some((a) => a.startsWith('--cpu-prof'))) {
      log(`  initial sync: join profile window --from=${profileFromUs} --to=${process.hrtime.bigint() / 1000n}, joiner pid ${process.pid}\n`);
    }
    const keyOrderMs = got.ms + applyLocally(got.data!, join(root, 'key-order.db'), { byKey: true, commits: j.commits });
    for (let i = 0; i < 2; i++) await copy();
    const copyMs = median(copies);

    const base = { notes, records, MB: round(raw.length / 1e6, 2) };
    const none = { startMs: null, firstRecordMs: null, sessionBytes: null, sessionMs: null, heapGrowthMB: null };
    const ratios = (ms: number, bytes: number) => ({ xCopy: round(ms / copyMs), xCopyMerge: round(ms / floorMs, 2), xFloor: round(ms / sqliteFloorMs, 2), xBytes: round(bytes / raw.length, 3) });
    return [
      { method: 'floor: raw SQLite + FTS5 insert', ...base, ms: round(sqliteFloorMs), wireBytes: 0, ...ratios(sqliteFloorMs, 0), xCopy: round(sqliteFloorMs / copyMs), xCopyMerge: null, xBytes: 0, commits: 1, ...none },
      { method: 'raw TCP copy (median of 5)', ...base, ms: round(copyMs), wireBytes: raw.length, ...ratios(copyMs, raw.length), xCopyMerge: null, commits: 0, ...none },
      { method: 'raw copy + decode + merge, write order', ...base, ms: round(floorMs), wireBytes: raw.length, ...ratios(floorMs, raw.length), commits: megabyte, ...none },
      { method: 'raw copy + decode + merge, key order', ...base, ms: round(keyOrderMs), wireBytes: raw.length, ...ratios(keyOrderMs, raw.length), commits: j.commits, ...none },
      {
        method: 'join: libp2p + anti-entropy', ...base, ms: round(j.ms), wireBytes: j.wireBytes, ...ratios(j.ms, j.wireBytes), commits: j.commits,
        startMs: round(j.startMs), firstRecordMs: round(j.firstRecordMs), sessionBytes: j.sessionBytes, sessionMs: j.sessionMs, heapGrowthMB: round(j.heapGrowthMB),
      },
    ];
  } finally {
    await source?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
