// Who may talk to the API server. Three independent checks, because each stops a different
// attacker:
//  - Host header: a web page on evil.example can rebind its DNS name to 127.0.0.1 and then talk
//    to us as "same origin" (DNS rebinding). Its requests still say `Host: evil.example`, so only
//    names that cannot be rebound are accepted: IP literals, `localhost`, and the bound name.
//  - Origin header: a browser sends it with cross-origin requests (and CORS preflights); a page
//    from anywhere but this server must not drive the API, whatever else it knows.
//  - Bearer token: everything else on the machine (other users, other apps, a browser tab that
//    found the port) lacks the token, which lives in a 0600 file (app/token.ts).

import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-errors.ts';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

/** The host name in Host-header form: IPv6 literals in brackets, lower case. */
function hostForm(name: string): string {
  const lower = name.toLowerCase();
  return isIP(lower) === 6 ? `[${lower}]` : lower;
}

function isLoopback(name: string): boolean {
  return LOOPBACK_NAMES.has(name) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

export class Guard {
  private readonly bound: string;
  private readonly port: number;
  private readonly tokenDigest: Buffer;

  constructor(boundHost: string, port: number, token: string) {
    this.bound = hostForm(boundHost);
    this.port = port;
    this.tokenDigest = digest(token);
  }

  /** Refuses a Host header naming anything but this server (DNS rebinding). Returns it lower-cased. */
  checkHost(req: IncomingMessage): string {
    const raw = req.headers.host;
    const m = raw === undefined ? null : /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(raw);
    if (!m) throw new HttpError(403, 'E_FORBIDDEN_HOST', 'missing or malformed Host header');
    const name = m[1].toLowerCase();
    const port = m[2] === undefined ? 80 : Number(m[2]);
    if (port !== this.port || !this.allowsName(name)) {
      throw new HttpError(403, 'E_FORBIDDEN_HOST', `this server does not answer to the host name ${JSON.stringify(raw)}`);
    }
    return `${name}:${port}`;
  }

  /** Refuses requests made by a page from another origin (including `Origin: null`). */
  checkOrigin(req: IncomingMessage, host: string): void {
    const origin = req.headers.origin;
    if (origin === undefined) return;
    const own = [`http://${host}`];
    if (this.port === 80) own.push(`http://${host.slice(0, -':80'.length)}`);
    if (!own.includes(origin.toLowerCase())) {
      throw new HttpError(403, 'E_FORBIDDEN_ORIGIN', 'requests from another origin are refused');
    }
  }

  /** Requires `Authorization: Bearer <token>`, compared in constant time. */
  checkToken(req: IncomingMessage): void {
    const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    // Comparing fixed-size digests keeps the time independent of where, and whether the length,
    // differs.
    if (!m || !timingSafeEqual(digest(m[1]), this.tokenDigest)) {
      throw new HttpError(401, 'E_UNAUTHORIZED', 'a valid API token is required (Authorization: Bearer <token>)', {
        'WWW-Authenticate': 'Bearer realm="lan-notes"',
      });
    }
  }

  private allowsName(name: string): boolean {
    if (name === this.bound) return true;
    if (isLoopback(this.bound)) return isLoopback(name);
    // Bound to every interface: any address of this machine may be used, and an IP literal
    // cannot be rebound by DNS.
    if (WILDCARDS.has(this.bound)) return name === 'localhost' || isIP(name.replace(/^\[|\]$/g, '')) !== 0;
    return false;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
