// The API token: what a client must show to use the headless peer's HTTP API. It is created once
// per data directory and kept in `<dataDir>/api-token`, readable by this user only, so whoever
// can read the notes' data directory can use the API and nobody else on the machine can.

import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../engine/log.ts';

const log = logger('token');

export const TOKEN_FILE = 'api-token';
const TOKEN_BYTES = 32;
/** Hand-written tokens are accepted if they are this long and printable, without spaces. */
const TOKEN_RE = /^[\x21-\x7e]{32,512}$/;

export class TokenFileError extends Error {
  readonly code = 'E_TOKEN_FILE';
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.name = 'TokenFileError';
    this.path = path;
  }
}

export function tokenPath(dataDir: string): string {
  return join(dataDir, TOKEN_FILE);
}

/** Reads `<dataDir>/api-token`, creating it (32 random bytes, base64url, mode 0600) on first start. */
export async function loadOrCreateToken(dataDir: string): Promise<string> {
  const file = tokenPath(dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const existing = await readToken(file);
  if (existing !== null) return existing;
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  // Written whole under a temporary name, then linked into place: link() fails if the file
  // appeared meanwhile (another start racing us), and no reader ever sees a half-written token.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${token}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(tmp, file);
    return token;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const winner = await readToken(file);
    if (winner === null) throw new TokenFileError(file, `${file} vanished while it was being created`);
    return winner;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

async function readToken(file: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const token = text.trim();
  if (!TOKEN_RE.test(token)) {
    throw new TokenFileError(file, `${file} does not hold an API token (32-512 printable characters); delete it to get a new one`);
  }
  // Permissions are meaningless on Windows; elsewhere, a token others can read is no secret.
  if (process.platform !== 'win32' && ((await stat(file)).mode & 0o077) !== 0) {
    log.warn('API token file was readable by others; restricting it to this user', { path: file });
    await chmod(file, 0o600);
  }
  return token;
}
