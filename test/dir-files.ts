// Test helpers for "changed nothing": every file under a directory with its sha256, and a child
// process run to its exit with its output.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

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
