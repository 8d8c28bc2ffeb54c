// Test helpers for "changed nothing": every file under a directory with its sha256, a child
// process run to its exit with its output, and a SQLite table damaged on disk.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';

/** relative path -> sha256 hex of every file under `dir`, sorted by path. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile()).map((f) => join(f.parentPath, f.name)).sort();
  for (const f of files) out[relative(dir, f)] = createHash('sha256').update(readFileSync(f)).digest('hex');
  return out;
}

export interface Exited {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node args...` (this Node) until it exits; fails after `ms` (then kills it). */
export function runToExit(args: readonly string[], ms = 60_000, env: NodeJS.ProcessEnv = {}): Promise<Exited> {
  const child = spawn(process.execPath, [...args], { env: { ...process.env, NOTES_LOG: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not exit within ${ms} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, ms);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Overwrites the root page of `table` with bytes no b-tree page has: SQLITE_CORRUPT on reading it. */
export function damageTable(file: string, table: string): void {
  assert.ok(!existsSync(`${file}-wal`), 'fixture: the store was closed cleanly (no WAL)');
  const url = pathToFileURL(file);
  url.searchParams.set('mode', 'ro');
  url.searchParams.set('immutable', '1');
  const db = new DatabaseSync(url, { readOnly: true });
  const root = Number(db.prepare('SELECT rootpage FROM sqlite_schema WHERE name = ?').get(table)!.rootpage);
  const pageSize = Number(db.prepare('PRAGMA page_size').get()!.page_size);
  db.close();
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (root - 1) * pageSize);
  closeSync(fd);
}
