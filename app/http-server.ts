// The headless peer's HTTP server: the NotesApi contract (app/api.ts) as JSON REST plus
// server-sent events, and optionally the built UI. The route table is in http-routes.ts; who may
// call is decided in http-guard.ts. Every request is checked in this order, and each refusal
// happens before the API is called, so a refused request changes nothing:
//   Host header (403) -> Origin header (403) -> /api: token (401) -> route (404) -> method (405)
//   -> body: Content-Type (415), size (413), JSON (400) -> arguments (400) -> the API call.
// Static files need no token (a browser navigation cannot send one) but pass the same Host and
// Origin checks; the UI then calls the API with the token it was given.

import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { logger } from '../engine/log.ts';
import type { NotesApi } from './api.ts';
import { HttpError, toErrorResponse } from './http-errors.ts';
import { Guard } from './http-guard.ts';
import { ROUTES, type Route, type RouteContext } from './http-routes.ts';
import { DEFAULT_HEARTBEAT_MS, serveEvents } from './http-sse.ts';
import { StaticFiles } from './http-static.ts';

const log = logger('http');

export interface ApiServerOptions {
  /** Interface to listen on; default 127.0.0.1 so nothing off this machine can connect. */
  readonly host?: string;
  /** 0 (default) lets the OS pick a free port; the chosen one is in the returned url. */
  readonly port?: number;
  /** The bearer token every /api request must carry (app/token.ts keeps it). */
  readonly token: string;
  /** Directory of the built UI, served for GET/HEAD of non-/api paths. */
  readonly staticDir?: string;
  /** Interval of the keep-alive comment on /api/events; tests shorten it. */
  readonly heartbeatMs?: number;
}

export interface ApiServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  /** Stops accepting, ends open connections (event streams included), resolves when closed. */
  close(): Promise<void>;
}

/** A token shorter than this would be guessable; app/token.ts makes 43-character ones. */
const MIN_TOKEN_CHARS = 16;

// Sent with every response: nothing here may be sniffed into another type, framed, embedded
// cross-origin, cached, or leak the URL onwards.
const COMMON_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
};
const API_HEADERS: Record<string, string> = {
  ...COMMON_HEADERS,
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
};

interface CompiledRoute {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly params: readonly string[];
}

function compile(route: Route): CompiledRoute {
  const params: string[] = [];
  const source = route.path.split('/').map((seg) => {
    if (!seg.startsWith(':')) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    params.push(seg.slice(1));
    return '([^/]+)';
  }).join('/');
  return { route, pattern: new RegExp(`^${source}$`), params };
}

const COMPILED = ROUTES.map(compile);

function findRoute(method: string, path: string): { route: Route; params: Record<string, string> } {
  const matching = COMPILED.map((c) => ({ c, m: c.pattern.exec(path) })).filter((x) => x.m !== null);
  if (matching.length === 0) throw new HttpError(404, 'E_NO_ROUTE', `no API route ${path}`);
  const hit = matching.find((x) => x.c.route.method === method);
  if (!hit) {
    const allow = [...new Set(matching.map((x) => x.c.route.method))].join(', ');
    throw new HttpError(405, 'E_METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; use ${allow}`, { Allow: allow });
  }
  const params: Record<string, string> = {};
  hit.c.params.forEach((name, i) => {
    try {
      params[name] = decodeURIComponent(hit.m![i + 1]);
    } catch {
      throw new HttpError(400, 'E_INVALID_KEY', `malformed percent-encoding in ${name}`);
    }
  });
  return { route: hit.c.route, params };
}

function sendJson(res: ServerResponse, status: number, json: unknown, headers: Record<string, string> = {}): void {
  if (status === 204 || json === undefined) {
    res.writeHead(status, { ...API_HEADERS, ...headers });
    res.end();
    return;
  }
  const body = Buffer.from(JSON.stringify(json), 'utf8');
  res.writeHead(status, { ...API_HEADERS, ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(body.length) });
  res.end(body);
}

/**
 * A JSON body from chunks, written as they come and paced by the socket. The first chunk is
 * awaited before the head goes out, so a failure up to then still gets a proper error reply;
 * after that, sendError can only cut the response off.
 */
async function sendJsonStream(res: ServerResponse, status: number, chunks: AsyncIterable<string>, headers: Record<string, string> = {}): Promise<void> {
  for await (const chunk of chunks) {
    if (!res.headersSent) res.writeHead(status, { ...API_HEADERS, ...headers, 'Content-Type': 'application/json; charset=utf-8' });
    // A client that went away never drains: stop reading the store for it.
    if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    if (res.destroyed) return;
  }
  res.end();
}

function sendError(req: IncomingMessage, res: ServerResponse, e: unknown): void {
  const r = toErrorResponse(e);
  // Without the query string: search text is note content and does not belong in a log.
  const path = (req.url ?? '').split('?')[0];
  if (r.expected) log.debug('request refused', { method: req.method, path, status: r.status, code: r.code });
  else log.error('request failed', { method: req.method, path, error: e, stack: e instanceof Error ? e.stack : String(e) });
  // Mid-stream (a static file that failed to read): the status is gone, only cutting it off is honest.
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, r.status, { error: { code: r.code, message: r.message } }, r.headers);
}

/** Host in URL form (IPv6 in brackets); a wildcard bind is reached through loopback. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIP(host) === 6 ? `[${host}]` : host;
}

export async function startApiServer(api: NotesApi, opts: ApiServerOptions): Promise<ApiServer> {
  if (typeof opts.token !== 'string' || opts.token.length < MIN_TOKEN_CHARS) {
    throw new TypeError(`the API token must be a string of at least ${MIN_TOKEN_CHARS} characters`);
  }
  const host = opts.host ?? '127.0.0.1';
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const files = opts.staticDir === undefined ? null : new StaticFiles(opts.staticDir);
  // Set once listening: the Host check needs the port the OS picked.
  let guard: Guard | null = null;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (guard === null) throw new HttpError(503, 'E_NOT_STARTED', 'the server is starting');
    const hostHeader = guard.checkHost(req);
    guard.checkOrigin(req, hostHeader);
    // Split by hand rather than with new URL(): no dot-segment normalization or `//host` surprises;
    // the static handler and the route patterns see exactly what was sent.
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const method = req.method ?? 'GET';
    if (path === '/api' || path.startsWith('/api/')) {
      guard.checkToken(req);
      const { route, params } = findRoute(method, path);
      const ctx: RouteContext = { api, req, res, params, query, events: () => serveEvents(api, req, res, COMMON_HEADERS, heartbeatMs) };
      const reply = await route.handle(ctx);
      if (reply?.stream) await sendJsonStream(res, reply.status, reply.stream, reply.headers);
      else if (reply !== null) sendJson(res, reply.status, reply.json, reply.headers);
      return;
    }
    if (files === null || !path.startsWith('/')) throw new HttpError(404, 'E_NOT_FOUND', 'not found');
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'E_METHOD_NOT_ALLOWED', 'only GET and HEAD are allowed here', { Allow: 'GET, HEAD' });
    await files.serve(path, req, res, COMMON_HEADERS);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => sendError(req, res, e));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log.error('server error', { error: e }));
  const port = (server.address() as AddressInfo).port;
  guard = new Guard(host, port, opts.token);
  const url = `http://${urlHost(host)}:${port}`;
  log.debug('API server listening', { url, static: opts.staticDir ?? null });

  let closing: Promise<void> | null = null;
  return {
    url,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        // Event streams never go idle, so close() alone would wait for every client to leave.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
