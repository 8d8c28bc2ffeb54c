// Keeps paired devices connected: on start every remembered device is dialed at its known
// addresses; a device that is away is retried with backoff (1 s, 2 s, 4 s ...) and at least once
// a minute. Each failed round records why (engine/core/doctor.ts) in the devices table, from the
// error the dial actually produced.

import { dialFailureReason, notSeenReason, reason, redialDelayMs, worse, type DoctorReason } from '../core/doctor.ts';
import { EngineError } from '../core/errors.ts';
import { logger } from '../log.ts';
import type { DeviceBook } from './devices.ts';
import type { P2PNode } from './p2p.ts';

const log = logger('redial');

export interface RedialerOptions {
  readonly book: DeviceBook;
  /** The current node (it is replaced when the device joins another vault). */
  readonly p2p: () => P2PNode;
  readonly now: () => number;
  /** Bound for one address's dial. Default 10 s. */
  readonly dialTimeoutMs?: number;
}

export interface RedialStatus {
  /** Failed rounds since the device was last connected. */
  readonly failures: number;
  /** Rounds tried since start (a positive signal for "it did try"). */
  readonly attempts: number;
  /** When the next round is due (ms since the epoch), or null while connected or not scheduled. */
  readonly nextAt: number | null;
}

export class Redialer {
  private readonly opts: RedialerOptions;
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  private readonly failures = new Map<string, number>();
  private readonly attempts = new Map<string, number>();
  private readonly inFlight = new Set<string>();
  private running = false;

  constructor(opts: RedialerOptions) {
    this.opts = opts;
  }

  start(): void {
    this.running = true;
    for (const d of this.opts.book.list()) this.schedule(d.peerId, 0);
  }

  stop(): void {
    this.running = false;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  connected(peer: string): void {
    const t = this.timers.get(peer);
    if (t) clearTimeout(t.timer);
    this.timers.delete(peer);
    this.failures.delete(peer);
  }

  /** A paired device went away: try again soon, then back off. */
  disconnected(peer: string): void {
    if (this.opts.book.has(peer)) this.schedule(peer, redialDelayMs(0));
  }

  /** A device was forgotten: stop trying. */
  forget(peer: string): void {
    this.connected(peer);
    this.attempts.delete(peer);
  }

  status(peer: string): RedialStatus {
    return { failures: this.failures.get(peer) ?? 0, attempts: this.attempts.get(peer) ?? 0, nextAt: this.timers.get(peer)?.at ?? null };
  }

  private schedule(peer: string, delayMs: number): void {
    if (!this.running) return;
    const old = this.timers.get(peer);
    if (old) clearTimeout(old.timer);
    const timer = setTimeout(() => {
      this.timers.delete(peer);
      void this.attempt(peer);
    }, delayMs);
    timer.unref();
    this.timers.set(peer, { timer, at: this.opts.now() + delayMs });
  }

  private connectedTo(peer: string): boolean {
    return this.opts.p2p().connectedPeers().some((p) => p.peerId === peer);
  }

  private async attempt(peer: string): Promise<void> {
    const device = this.opts.book.get(peer);
    if (!this.running || !device || this.inFlight.has(peer) || this.connectedTo(peer)) return;
    this.inFlight.add(peer);
    this.attempts.set(peer, (this.attempts.get(peer) ?? 0) + 1);
    let why: DoctorReason | null = null;
    try {
      const p2p = this.opts.p2p();
      if (device.addresses.length === 0) why = notSeenReason(p2p.mdns, this.opts.now());
      for (const addr of device.addresses) {
        try {
          await p2p.dial(`${addr}/p2p/${peer}`, AbortSignal.timeout(this.opts.dialTimeoutMs ?? 10_000));
          log.info('reconnected to a paired device', { peer, addr });
          return;
        } catch (err) {
          why = worse(why, this.classify(err));
          log.debug('redial failed', { peer, addr, err });
        }
      }
    } finally {
      this.inFlight.delete(peer);
    }
    if (!this.running || this.connectedTo(peer)) return;
    const failures = (this.failures.get(peer) ?? 0) + 1;
    this.failures.set(peer, failures);
    if (why) this.opts.book.failed(peer, why);
    this.schedule(peer, redialDelayMs(failures));
  }

  private classify(err: unknown): DoctorReason {
    const at = this.opts.now();
    if (!(err instanceof EngineError)) return dialFailureReason({ cause: String((err as Error)?.message ?? err), aborted: false, privateNetworkPassed: false }, at);
    const d = err.details as { cause?: unknown; aborted?: unknown; privateNetwork?: unknown };
    if (err.code !== 'E_DIAL_FAILED' || d.cause === undefined) {
      // Answered by another peer than the one remembered at that address, or not started.
      return err.code === 'E_DIAL_FAILED' ? { ...reason('dial-failed', at), message: `Could not connect: ${err.message}` } : reason('dial-failed', at);
    }
    return dialFailureReason({ cause: String(d.cause), aborted: d.aborted === true, privateNetworkPassed: d.privateNetwork === 'passed' }, at);
  }
}
