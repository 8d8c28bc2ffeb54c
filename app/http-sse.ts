// GET /api/events: NotesApi.subscribe() as server-sent events. One `data:` line of ApiEvent JSON
// per event. A comment line opens the stream (so the client knows it is subscribed before it
// relies on events) and another is sent every heartbeat, so proxies and NAT keep the connection
// and a client can tell a quiet stream from a dead one. The subscription ends with the connection.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { logger } from '../engine/log.ts';
import type { ApiEvent, NotesApi } from './api.ts';

const log = logger('http');

export const DEFAULT_HEARTBEAT_MS = 15_000;
/**
 * A client that stops reading must not make us buffer events forever. Past this much unsent
 * data the stream is dropped; the client reconnects and refetches what it shows.
 */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export function serveEvents(api: NotesApi, req: IncomingMessage, res: ServerResponse, headers: Record<string, string>, heartbeatMs: number): void {
  const send = (event: ApiEvent): void => {
    if (res.destroyed || res.writableEnded) return;
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      log.warn('event stream client is not reading; dropping the stream', { buffered: res.writableLength });
      res.destroy();
      return;
    }
    res.write(`data: ${JSON.stringify(event)}\n\n`);
  };
  // Subscribe before writing the head: if it throws, the caller still sends a JSON error.
  const unsubscribe = api.subscribe(send);
  const heartbeat = setInterval(() => {
    if (!res.destroyed && !res.writableEnded) res.write(': heartbeat\n\n');
  }, heartbeatMs);
  let open = true;
  const cleanup = (): void => {
    if (!open) return;
    open = false;
    clearInterval(heartbeat);
    unsubscribe();
  };
  // 'close' fires whichever side ends it: the client went away, or the server is closing.
  res.on('close', cleanup);
  req.on('error', cleanup);
  res.writeHead(200, {
    ...headers,
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    // Tells a reverse proxy (nginx) not to buffer the stream.
    'X-Accel-Buffering': 'no',
  });
  res.write(': connected\n\n');
}
