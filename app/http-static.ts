// Serves the built UI from one directory for GET/HEAD of every non-/api path. Only regular files
// that really lie inside that directory are served: `..` and dot segments are refused after
// decoding (so %2e%2e and %2f cannot smuggle them), and symlinks are resolved and must stay inside.

import { createReadStream, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CONTENT_TYPES as TYPES } from './content-types.ts';
import { HttpError } from './http-errors.ts';


/**
 * The UI loads only its own files and talks only to this server: no inline script, no eval, no
 * third-party anything, and no page may frame it (clickjacking). Exactly what the built UI
 * (dist/renderer) needs and nothing more:
 *  - script-src 'self': bridge.js and the app bundle; no inline script, no eval.
 *  - style-src 'self': the bundled CSS file. No 'unsafe-inline' and no nonce: CodeMirror, the one
 *    part that makes styles at run time, is mounted in a shadow root, where it adopts a
 *    constructed stylesheet (script-made CSSOM, not governed by style-src) instead of adding a
 *    <style> element (renderer/components/MarkdownEditor.tsx). React's style props are CSSOM too.
 *  - connect-src 'self': the API and its event stream.
 *  - img-src 'self': nothing today (the QR code is inline SVG elements); keeps a favicon possible.
 *    No data:/blob:, no fonts, no manifest: the UI uses none.
 */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const notFound = (): HttpError => new HttpError(404, 'E_NOT_FOUND', 'no such file');

export class StaticFiles {
  private readonly root: Promise<string>;

  constructor(dir: string) {
    // Resolved once: every served path is compared against the real root.
    this.root = realpath(dir);
  }

  async serve(pathname: string, req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<void> {
    const root = await this.root;
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      throw new HttpError(400, 'E_INVALID_PATH', 'malformed percent-encoding in the path');
    }
    if (decoded.includes('\0') || decoded.includes('\\')) throw notFound();
    const segments = decoded.split('/').filter((s) => s !== '');
    // Also refuses dotfiles (.env, .git): nothing the UI build serves starts with a dot.
    if (segments.some((s) => s.startsWith('.'))) throw notFound();
    let { file, info } = await this.inside(root, join(root, ...segments));
    if (info.isDirectory()) ({ file, info } = await this.inside(root, join(file, 'index.html')));
    if (!info.isFile()) throw notFound();
    res.writeHead(200, {
      ...headers,
      'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': String(info.size),
      'Content-Security-Policy': UI_CSP,
      // The UI changes with every build and is read from disk; revalidate rather than go stale.
      'Cache-Control': 'no-cache',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(createReadStream(file), res);
  }

  /** The real path of `candidate` and its stats, if it exists and lies inside `root` after resolving symlinks. */
  private async inside(root: string, candidate: string): Promise<{ file: string; info: Stats }> {
    try {
      const file = await realpath(candidate);
      if (file !== root && !file.startsWith(root + sep)) throw notFound();
      return { file, info: await stat(file) };
    } catch {
      // Missing, unreadable, or outside: the same answer, so probing learns nothing.
      throw notFound();
    }
  }
}
