// Serves the built renderer (dist/renderer) on app://notes/ for protocol.handle. Only GET/HEAD of
// files that lie inside that directory: the path is decoded first and `..`, dot segments,
// backslashes and NULs are refused, so %2e%2e or %2f cannot step outside. Every response carries
// the renderer's CSP as a header, and HTML pages also as a <meta> tag. Plain Node (the file reader is injected: main.ts passes fs.readFile, which
// Electron makes read inside app.asar), so tests run it without Electron.

import { extname, join, sep } from 'node:path';
import { CONTENT_TYPES as TYPES } from '../content-types.ts';
import { RENDERER_CSP, RENDERER_HOST, RENDERER_SCHEME } from './window-options.ts';


/** The file under `root` that an app://notes/ URL names, or null for anything else. */
export function rendererFile(root: string, url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== `${RENDERER_SCHEME}:` || u.host !== RENDERER_HOST) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '');
  // Also refuses dotfiles: nothing the UI build produces starts with a dot.
  if (segments.some((s) => s.startsWith('.'))) return null;
  if (segments.length === 0) segments.push('index.html');
  const file = join(root, ...segments);
  return file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : null;
}

const HEADERS = {
  'Content-Security-Policy': RENDERER_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/**
 * The CSP also as a <meta> tag in every HTML page, so the policy holds even if a Chromium or
 * Electron version ignored headers of custom-protocol responses. frame-ancestors is left out: it
 * only works as a header (the header still carries it).
 */
export const CSP_META = `<meta http-equiv="Content-Security-Policy" content="${RENDERER_CSP.split(';').map((d) => d.trim()).filter((d) => !d.startsWith('frame-ancestors')).join('; ')}">`;

function withCspMeta(html: Uint8Array): Uint8Array {
  const text = new TextDecoder().decode(html);
  const head = /<head(\s[^>]*)?>/i.exec(text);
  if (head === null) return html;
  const at = head.index + head[0].length;
  return new TextEncoder().encode(`${text.slice(0, at)}\n    ${CSP_META}${text.slice(at)}`);
}

/**
 * The response to one app:// request. `read` returns the file's bytes or throws (missing,
 * a directory, unreadable): all of those are the same 404, so probing learns nothing.
 */
export async function serveRenderer(root: string, request: { readonly url: string; readonly method: string }, read: (file: string) => Promise<Uint8Array>): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return new Response('method not allowed', { status: 405, headers: { ...HEADERS, Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' } });
  }
  const file = rendererFile(root, request.url);
  let bytes: Uint8Array | null = null;
  if (file !== null) {
    try {
      bytes = await read(file);
    } catch {
      bytes = null;
    }
  }
  if (file === null || bytes === null) {
    return new Response('not found', { status: 404, headers: { ...HEADERS, 'Content-Type': 'text/plain; charset=utf-8' } });
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.html') bytes = withCspMeta(bytes);
  const headers = { ...HEADERS, 'Content-Type': TYPES[ext] ?? 'application/octet-stream', 'Content-Length': String(bytes.byteLength) };
  return new Response(request.method === 'HEAD' ? null : (bytes as Uint8Array<ArrayBuffer>), { status: 200, headers });
}
