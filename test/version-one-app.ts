// Plays a device still running an app that speaks only anti-entropy protocol version 1, for the
// tests of R-VER-2: it refuses any other hello the way that app does (ERROR version, listing 1),
// and answers a version 1 hello with this app's responder, which speaks version 1 exactly.

import { ByteWriter } from '../engine/core/bytes.ts';
import { respondOver, type FrameLink, type SessionOutcome } from '../engine/net/ae-link.ts';
import type { Replica } from '../engine/replica.ts';

/** What that app sends for a hello of another version: ERROR code version, supported [1]. */
export function versionOneOnlyFault(): Uint8Array {
  return new ByteWriter().u8(1).u8(3).u8(0).u8(0).string('peer speaks anti-entropy protocol version 2; this app speaks 1').u8(1).u8(1).finish();
}

/** Serves one anti-entropy stream as that app would; returns 'refused' or the session's outcome. */
export async function serveAsVersionOne(r: Replica, link: FrameLink, signal: AbortSignal, hellos: number[] = []): Promise<'refused' | SessionOutcome> {
  const hello = await link.next(signal);
  if (hello === null) throw new Error('the stream closed before its hello');
  hellos.push(hello[0]);
  if (hello[0] !== 1) {
    await link.send(versionOneOnlyFault());
    await link.close();
    return 'refused';
  }
  let first: Uint8Array | null = hello;
  const replaying: FrameLink = {
    send: (f) => link.send(f),
    next: (s) => {
      if (first === null) return link.next(s);
      const f = first;
      first = null;
      return Promise.resolve(f);
    },
    close: () => link.close(),
  };
  return respondOver(r, replaying, signal);
}
