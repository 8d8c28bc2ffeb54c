// At most one call per interval, for refreshes driven by bursts of events (a sync-state event
// follows every session, up to 4 a second): the first call runs at once, calls during the pause
// are folded into one run at its end, so the last event is never dropped.

export interface Throttled {
  (): void;
  /** Drops a run that is waiting (the caller is going away). */
  cancel(): void;
}

export function throttle(run: () => void, ms: number): Throttled {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let waiting = false;
  const pause = (): void => {
    timer = setTimeout(() => {
      timer = null;
      if (!waiting) return;
      waiting = false;
      run();
      pause();
    }, ms);
  };
  const call = (): void => {
    if (timer !== null) {
      waiting = true;
      return;
    }
    run();
    pause();
  };
  call.cancel = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    waiting = false;
  };
  return call;
}
