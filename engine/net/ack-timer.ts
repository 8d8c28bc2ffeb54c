// Gossip acknowledgements (engine/PROTOCOL.md, R-HOLD-4). A device that accepted rumors from a
// peer runs one anti-entropy session with it once the rumors stop for `quietMs` (at most
// `maxWaitMs` after the first): after gossip delivered everything, the roots are equal, so that
// one round trip (~80 bytes) proves to both sides what the other holds. A burst of typing costs
// one session per peer, not one per keystroke. Timers are injected so tests can drive it.

export interface AckTimerOptions {
  readonly quietMs?: number;
  readonly maxWaitMs?: number;
  readonly fire: (peer: string) => void;
  readonly now?: () => number;
  readonly setTimer?: (fn: () => void, ms: number) => unknown;
  readonly clearTimer?: (handle: unknown) => void;
}

export class AckTimer {
  private readonly opts: Required<AckTimerOptions>;
  private readonly waiting = new Map<string, { readonly since: number; handle: unknown }>();

  constructor(opts: AckTimerOptions) {
    this.opts = {
      quietMs: 1_000, maxWaitMs: 5_000, now: Date.now,
      // Unref'd: a pending acknowledgement must never keep a stopping process alive.
      setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
      clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
      ...opts,
    };
  }

  /** Rumors from `peer` were accepted: (re)arm its acknowledgement. */
  heard(peer: string): void {
    const now = this.opts.now();
    const w = this.waiting.get(peer);
    if (w !== undefined) this.opts.clearTimer(w.handle);
    const since = w?.since ?? now;
    const delay = Math.max(0, Math.min(this.opts.quietMs, since + this.opts.maxWaitMs - now));
    const handle = this.opts.setTimer(() => {
      this.waiting.delete(peer);
      this.opts.fire(peer);
    }, delay);
    this.waiting.set(peer, { since, handle });
  }

  /** No acknowledgement for `peer` any more (a forgotten device). */
  forget(peer: string): void {
    const w = this.waiting.get(peer);
    if (w === undefined) return;
    this.opts.clearTimer(w.handle);
    this.waiting.delete(peer);
  }

  /** Pending acknowledgements, for tests and the debug panel. */
  get pending(): number {
    return this.waiting.size;
  }

  stop(): void {
    for (const w of this.waiting.values()) this.opts.clearTimer(w.handle);
    this.waiting.clear();
  }
}
