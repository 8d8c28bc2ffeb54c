// The headless peer's progress line on stderr for a large transfer (SyncState.progress): one
// line when it starts, at most one a second while it runs, and always the last one, so a log
// shows where a long join stood and that it finished.

import type { SyncProgress } from './api.ts';

export function progressLine(p: SyncProgress): string {
  const mb = (n: number) => (n / (1024 * 1024)).toFixed(1);
  const eta = p.etaMs === null ? 'ETA unknown' : p.recordsDone === p.recordsTotal ? 'done' : `ETA ${Math.ceil(p.etaMs / 1000)} s`;
  return `sync progress from ${p.peer}: ${p.recordsDone}/${p.recordsTotal} records, ${mb(p.bytesDone)}/${mb(p.bytesTotal)} MB, ${eta}`;
}

/** A listener for SyncNode.onProgress that writes through `write`, rate-limited per peer. */
export function progressPrinter(write: (line: string) => void, now: () => number = Date.now, everyMs = 1_000): (p: SyncProgress) => void {
  const last = new Map<string, number>();
  return (p) => {
    const done = p.recordsDone === p.recordsTotal;
    const t = now();
    const prev = last.get(p.peer);
    if (!done && prev !== undefined && t - prev < everyMs) return;
    if (done) last.delete(p.peer);
    else last.set(p.peer, t);
    write(progressLine(p));
  };
}
