// When to run anti-entropy: on every new connection, and every interval (jittered) with one
// random connected peer. A peer whose sessions fail is backed off exponentially, so a broken or
// incompatible peer costs a session every few minutes, not every tick. Timers and randomness are
// injected so tests can drive it.

export interface SchedulerOptions {
  readonly intervalMs?: number;
  /** Fraction of the interval added or removed at random, so peers do not tick in lockstep. */
  readonly jitter?: number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  readonly connectedPeers: () => readonly string[];
  /**
   * Runs one session with the peer; resolves true when it ended well, 'busy' when the peer was
   * already in a session with us (not a failure: no backoff). Never rejects.
   */
  readonly runSession: (peer: string) => Promise<boolean | 'busy'>;
  readonly isBusy: (peer: string) => boolean;
  readonly random?: () => number;
  readonly now?: () => number;
  readonly setTimer?: (fn: () => void, ms: number) => unknown;
  readonly clearTimer?: (handle: unknown) => void;
}

interface Backoff {
  failures: number;
  until: number;
}

export class Scheduler {
  private readonly opts: Required<SchedulerOptions>;
  private readonly backoff = new Map<string, Backoff>();
  private timer: unknown = null;
  private running = false;

  constructor(opts: SchedulerOptions) {
    this.opts = {
      intervalMs: 10_000, jitter: 0.2, backoffBaseMs: 5_000, backoffMaxMs: 5 * 60_000,
      random: Math.random, now: Date.now,
      // Unref'd: a pending sync tick must never keep a stopping process alive.
      setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
      clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
      ...opts,
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) this.opts.clearTimer(this.timer);
    this.timer = null;
  }

  /** A new connection: reconcile now, unless that peer is backing off or already syncing. */
  peerConnected(peer: string): void {
    void this.trigger(peer);
  }

  /** Runs a session with `peer` now if allowed; resolves whether one ran and ended well. */
  async trigger(peer: string): Promise<boolean> {
    if (!this.running || this.opts.isBusy(peer)) return false;
    const b = this.backoff.get(peer);
    if (b && b.until > this.opts.now()) return false;
    const result = await this.opts.runSession(peer);
    if (result === 'busy') return false;
    const ok = result;
    if (ok) this.backoff.delete(peer);
    else {
      const failures = (b?.failures ?? 0) + 1;
      const delay = Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** (failures - 1));
      this.backoff.set(peer, { failures, until: this.opts.now() + delay });
    }
    return ok;
  }

  /** Milliseconds until `peer` may be tried again (0 when not backing off). */
  backoffMs(peer: string): number {
    return Math.max(0, (this.backoff.get(peer)?.until ?? 0) - this.opts.now());
  }

  private arm(): void {
    if (!this.running) return;
    const { intervalMs, jitter, random } = this.opts;
    const delay = intervalMs * (1 - jitter + 2 * jitter * random());
    this.timer = this.opts.setTimer(() => {
      this.timer = null;
      void this.tick().finally(() => this.arm());
    }, delay);
  }

  private async tick(): Promise<void> {
    const now = this.opts.now();
    const candidates = this.opts.connectedPeers().filter((p) => !this.opts.isBusy(p) && (this.backoff.get(p)?.until ?? 0) <= now);
    if (candidates.length === 0) return;
    const peer = candidates[Math.floor(this.opts.random() * candidates.length)];
    await this.trigger(peer);
  }
}
