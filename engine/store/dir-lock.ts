// One owner per data directory. Two processes on one folder would each serve a stale copy of the
// notes and write under the same device identity, handing out the same version counters. So the
// first process to start takes an OS-level lock, held for as long as it lives and dropped by the
// kernel when it dies (even by kill -9): nothing stale is left behind to clean up.
//
// Node has no flock(). SQLite does the same job portably: a connection in EXCLUSIVE locking mode
// keeps the exclusive lock of its first write transaction until it closes, and SQLite takes it
// with fcntl() on POSIX and LockFileEx() on Windows, locks the OS releases with the process. The
// lock database (owner.lock) holds nothing. Beside it, owner.json says who holds the lock (pid,
// program, since when) so a refused process can name the owner; it is informational only, the
// lock alone decides.
//
// Caveat: like SQLite itself, this relies on the filesystem's byte-range locks; network shares
// that ignore them (some NFS/SMB setups) cannot enforce a single owner.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { EngineError } from '../core/errors.ts';

export const LOCK_FILE = 'owner.lock';
export const OWNER_FILE = 'owner.json';

const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;

/** Who holds a data directory, as its owner.json says. */
export interface DirOwner {
  readonly pid: number;
  /** What kind of process, e.g. "headless peer" or "desktop app". */
  readonly program: string;
  /** ISO time the lock was taken. */
  readonly since: string;
  readonly host: string;
}

/** The data directory is held by another live process; nothing was read or changed. */
export class DirLockedError extends EngineError {
  readonly dir: string;
  /** Null when the owner did not (yet) say who it is. */
  readonly owner: DirOwner | null;
  constructor(dir: string, owner: DirOwner | null) {
    super('E_DIR_LOCKED', lockedMessage(dir, owner), { dir, owner });
    this.name = 'DirLockedError';
    this.dir = dir;
    this.owner = owner;
  }
}

export function describeOwner(owner: DirOwner | null): string {
  if (owner === null) return 'another process (it has not said which)';
  return `the ${owner.program} (pid ${owner.pid} on ${owner.host}, running since ${owner.since})`;
}

function lockedMessage(dir: string, owner: DirOwner | null): string {
  return `The notes folder ${dir} is already in use by ${describeOwner(owner)}. ` +
    'Only one LAN Notes process can use a notes folder at a time: use that one, stop it first, or pick another folder. Nothing was changed.';
}

export interface DirLock {
  readonly dir: string;
  readonly owner: DirOwner;
  /** Drops the lock (idempotent). The kernel does the same if the process dies first. */
  release(): void;
}

function errcode(e: unknown): number | undefined {
  const code = (e as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

/** owner.json, tolerant: missing, partial or foreign content reads as "unknown owner". */
export function readOwner(dir: string): DirOwner | null {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8'));
  } catch {
    return null;
  }
  const o = v as Partial<DirOwner> | null;
  if (o === null || typeof o !== 'object' || typeof o.pid !== 'number' || typeof o.program !== 'string' || typeof o.since !== 'string') return null;
  return { pid: o.pid, program: o.program, since: o.since, host: typeof o.host === 'string' ? o.host : 'this machine' };
}

/**
 * Tries the lock once; the open connection that holds it, or null when another process holds it.
 * A refused attempt writes nothing: the lock database is only read for its locks.
 */
function tryLock(file: string): DatabaseSync | null {
  const db = new DatabaseSync(file);
  try {
    // No waiting: the owner holds the lock for its whole life.
    db.exec('PRAGMA busy_timeout = 0');
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    // In EXCLUSIVE mode the lock of a write transaction outlives its COMMIT.
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    return db;
  } catch (e) {
    db.close();
    const code = errcode(e);
    if (code === SQLITE_BUSY || code === SQLITE_LOCKED) return null;
    throw e;
  }
}

/**
 * Makes this process the one owner of `dir` (created if missing), or throws DirLockedError naming
 * the current owner. Call it before anything in the directory is read or written.
 */
export function lockDataDir(dir: string, program: string, now: () => number = Date.now): DirLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = tryLock(join(dir, LOCK_FILE));
  if (db === null) throw new DirLockedError(dir, readOwner(dir));
  const owner: DirOwner = { pid: process.pid, program, since: new Date(now()).toISOString(), host: hostname() };
  try {
    // Whole or not at all, so a reader never sees half a file; a stale one from a killed owner
    // is simply replaced.
    const tmp = join(dir, `.${OWNER_FILE}.${process.pid}.tmp`);
    writeFileSync(tmp, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
    renameSync(tmp, join(dir, OWNER_FILE));
  } catch (e) {
    db.close();
    throw e;
  }
  let held = true;
  return {
    dir,
    owner,
    release() {
      if (!held) return;
      held = false;
      // While the lock is still ours: after close, owner.json may already be the next owner's.
      const current = readOwner(dir);
      if (current?.pid === owner.pid && current.since === owner.since) rmSync(join(dir, OWNER_FILE), { force: true });
      db.close();
    },
  };
}

/**
 * Who holds `dir` right now, or null if nobody does. Creates nothing: a folder with no lock file
 * has never been owned by a process that locks.
 */
export function dataDirOwner(dir: string): { owner: DirOwner | null } | null {
  const file = join(dir, LOCK_FILE);
  if (!existsSync(file)) return null;
  const db = tryLock(file);
  if (db === null) return { owner: readOwner(dir) };
  db.close();
  return null;
}
