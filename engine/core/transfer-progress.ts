// Progress of a large transfer as the user sees it (R-PROG-1): only transfers worth a progress
// bar are reported, and the time left is extrapolated from the byte rate so far.

import type { TransferProgress } from './anti-entropy.ts';
import type { SyncProgress } from './sync-state.ts';

/** A transfer is reported when it moves more than this many records... */
export const PROGRESS_MIN_RECORDS = 1_000;
/** ...or more than this many bytes. */
export const PROGRESS_MIN_BYTES = 5 * 1024 * 1024;

export function reportable(p: TransferProgress): boolean {
  return p.recordsTotal > PROGRESS_MIN_RECORDS || p.bytesTotal > PROGRESS_MIN_BYTES;
}

/** The progress to show, `elapsedMs` after the transfer's first frame arrived. */
export function progressOf(peer: string, p: TransferProgress, elapsedMs: number): SyncProgress {
  const left = p.bytesTotal - p.bytesDone;
  const etaMs = p.complete || left <= 0 ? 0 : p.bytesDone > 0 && elapsedMs > 0 ? Math.round((elapsedMs * left) / p.bytesDone) : null;
  return { peer, recordsDone: p.recordsDone, recordsTotal: p.recordsTotal, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, etaMs };
}
