// Drives one anti-entropy session over a byte link (a libp2p stream in the app, a pipe in
// tests). The session decides everything; this only moves frames, enforces the deadline through
// the signal, and saves the cursor when the session ended well (R-CUR-1).

import { randomBytes } from 'node:crypto';
import { AntiEntropySession, type SessionOptions, type SessionStats, type TransferProgress } from '../core/anti-entropy.ts';
import { EngineError, ProtocolError } from '../core/errors.ts';
import { PROTOCOL_VERSION, SALT_BYTES, SUPPORTED_VERSIONS } from '../core/protocol.ts';
import type { Replica } from '../replica.ts';

/** A bidirectional link that moves whole frames (length-prefixed on the wire). */
export interface FrameLink {
  send(frame: Uint8Array): Promise<void>;
  /** The next frame, or null when the peer closed its side. */
  next(signal: AbortSignal): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

export interface SessionOutcome {
  readonly ok: boolean;
  readonly stats: SessionStats;
  readonly error: EngineError | null;
  readonly startedAt: number;
  readonly durationMs: number;
  /** The highest seq of our log the peer was proven to hold in this session (R-HOLD), or null. */
  readonly peerHolds: number | null;
}

/** Called after every frame received while a message of several frames is under way. */
export type ProgressListener = (progress: TransferProgress) => void;

async function pump(session: AntiEntropySession, link: FrameLink, first: Uint8Array[], signal: AbortSignal, onProgress?: ProgressListener): Promise<void> {
  for (const f of first) await link.send(f);
  while (session.status === 'open') {
    const frame = await link.next(signal);
    if (frame === null) throw new ProtocolError('E_PEER_ERROR', 'peer closed the stream before the session ended');
    const reply = session.answer(frame);
    if (session.progress !== null) onProgress?.(session.progress);
    for (const f of reply) await link.send(f);
  }
}

async function run(replica: Replica, session: AntiEntropySession, link: FrameLink, first: Uint8Array[], signal: AbortSignal, onProgress?: ProgressListener): Promise<SessionOutcome> {
  const startedAt = Date.now();
  const t0 = performance.now();
  let error: EngineError | null = null;
  try {
    await pump(session, link, first, signal, onProgress);
    error = session.error;
  } catch (e) {
    if (e instanceof EngineError) error = e;
    else if (signal.aborted) error = new ProtocolError('E_PEER_ERROR', `session aborted: ${String(signal.reason ?? 'timeout')}`);
    else error = new ProtocolError('E_PEER_ERROR', `session failed: ${(e as Error).message}`);
  } finally {
    await link.close().catch(() => undefined);
  }
  const ok = session.status === 'done' && error === null;
  const cursor = session.cursor;
  if (ok && cursor) replica.saveCursor(cursor.replica, cursor.seq);
  return { ok, stats: session.stats, error, startedAt, durationMs: Math.round(performance.now() - t0), peerHolds: session.peerHolds };
}

export function initiateOver(replica: Replica, link: FrameLink, opts: Partial<SessionOptions>, signal: AbortSignal, onProgress?: ProgressListener): Promise<SessionOutcome> {
  const { session, frames } = AntiEntropySession.initiate(replica, { ...opts, salt: opts.salt ?? randomBytes(SALT_BYTES) });
  return run(replica, session, link, frames, signal, onProgress);
}

export function respondOver(replica: Replica, link: FrameLink, signal: AbortSignal, onProgress?: ProgressListener): Promise<SessionOutcome> {
  return run(replica, AntiEntropySession.respond(replica), link, [], signal, onProgress);
}

/**
 * R-VER-2: when the peer refused the version a session was opened in and listed the versions it
 * speaks, the newest of them this app speaks too (older than the one tried), to open the next
 * session in; null for any other outcome.
 */
export function olderVersionOffered(outcome: SessionOutcome, tried: number = PROTOCOL_VERSION): number | null {
  const e = outcome.error;
  if (e?.code !== 'E_PROTOCOL_VERSION' || e.details.fault !== 'version' || !Array.isArray(e.details.supported)) return null;
  const offered = (e.details.supported as unknown[]).filter((v): v is number => typeof v === 'number' && v < tried && SUPPORTED_VERSIONS.includes(v));
  return offered.length === 0 ? null : Math.max(...offered);
}
