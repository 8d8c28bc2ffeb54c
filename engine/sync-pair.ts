// Runs one anti-entropy session between two replicas in the same process, passing frames
// directly. The simulation, the tests and the benchmarks use it; the libp2p layer does the same
// over a stream. Cursors are saved only when both sides completed.

import { randomBytes } from 'node:crypto';
import { AntiEntropySession, type SessionOptions, type SessionStats } from './core/anti-entropy.ts';
import type { EngineError } from './core/errors.ts';
import { SALT_BYTES } from './core/protocol.ts';
import type { Replica } from './replica.ts';

export interface PairResult {
  readonly ok: boolean;
  readonly initiator: SessionStats;
  readonly responder: SessionStats;
  readonly error: EngineError | null;
}

export interface PairOptions extends Partial<SessionOptions> {
  /** Lets a test drop, corrupt or count frames on the way; return null to drop one. */
  readonly wire?: (frame: Uint8Array, from: 'initiator' | 'responder') => Uint8Array | null;
  readonly maxMessages?: number;
}

export function syncPair(a: Replica, b: Replica, opts: PairOptions = {}): PairResult {
  const { session: init, frames } = AntiEntropySession.initiate(a, {
    ...opts,
    salt: opts.salt ?? randomBytes(SALT_BYTES),
    peerReplica: opts.peerReplica ?? b.replicaId,
  });
  const resp = AntiEntropySession.respond(b, opts);
  let toResponder = frames;
  let messages = 0;
  const maxMessages = opts.maxMessages ?? 64;
  while (init.status === 'open' || resp.status === 'open') {
    if (++messages > maxMessages) break;
    const toInitiator: Uint8Array[] = [];
    for (const f of toResponder) {
      const frame = opts.wire ? opts.wire(f, 'initiator') : f;
      if (frame !== null && resp.status === 'open') toInitiator.push(...resp.receive(frame));
    }
    toResponder = [];
    for (const f of toInitiator) {
      const frame = opts.wire ? opts.wire(f, 'responder') : f;
      if (frame !== null && init.status === 'open') toResponder.push(...init.receive(frame));
    }
    if (toResponder.length === 0 && toInitiator.length === 0) break;
  }
  const ok = init.status === 'done' && resp.status === 'done';
  if (ok) {
    const ca = init.cursor;
    const cb = resp.cursor;
    if (ca) a.saveCursor(ca.replica, ca.seq);
    if (cb) b.saveCursor(cb.replica, cb.seq);
  }
  return { ok, initiator: init.stats, responder: resp.stats, error: init.error ?? resp.error ?? (ok ? null : null) };
}
