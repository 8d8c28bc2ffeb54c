// In-memory frame links for driving anti-entropy sessions through engine/net/ae-link.ts without
// a network: what a libp2p stream does for sessions, minus the bytes on a socket.

import type { FrameLink } from '../engine/net/ae-link.ts';

/** Two ends of an in-memory link; `drop` loses every frame after the first n from one side. */
export function linkPair(opts: { dropAfter?: number } = {}): [FrameLink, FrameLink] {
  const queues: Uint8Array[][] = [[], []];
  const waiters: (((f: Uint8Array | null) => void) | null)[] = [null, null];
  const closed = [false, false];
  let sent = 0;
  const end = (me: 0 | 1): FrameLink => ({
    async send(frame) {
      if (opts.dropAfter !== undefined && me === 0 && ++sent > opts.dropAfter) return;
      const other = 1 - me;
      const w = waiters[other];
      if (w) {
        waiters[other] = null;
        w(frame);
      } else queues[other].push(frame);
    },
    next(signal) {
      const q = queues[me];
      if (q.length > 0) return Promise.resolve(q.shift()!);
      if (closed[1 - me]) return Promise.resolve(null);
      return new Promise((resolve, reject) => {
        waiters[me] = resolve;
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    },
    async close() {
      closed[me] = true;
      const w = waiters[1 - me];
      if (w && queues[1 - me].length === 0) {
        waiters[1 - me] = null;
        w(null);
      }
    },
  });
  return [end(0), end(1)];
}
