// Where a running headless peer can be reached: `<dataDir>/api-address` holds its API URL and
// process id while it runs, so a command-line tool given the same data directory (npm run notes)
// goes through the running peer (whose window then shows the change at once) instead of writing
// to its store behind its back. The token is in `<dataDir>/api-token` (token.ts).

import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const API_ADDRESS_FILE = 'api-address';

export interface ApiAddress {
  readonly url: string;
  readonly pid: number;
}

export function apiAddressPath(dataDir: string): string {
  return join(dataDir, API_ADDRESS_FILE);
}

export async function writeApiAddress(dataDir: string, url: string): Promise<void> {
  await writeFile(apiAddressPath(dataDir), `${JSON.stringify({ url, pid: process.pid } satisfies ApiAddress)}\n`, { mode: 0o600 });
}

/** Removes the file if it is still this process's (a newer peer may have replaced it). */
export async function removeApiAddress(dataDir: string): Promise<void> {
  const current = await readApiAddress(dataDir);
  if (current?.pid === process.pid) await rm(apiAddressPath(dataDir), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else; still a live process.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running peer's address, or null when none is recorded or its process is gone. */
export async function readApiAddress(dataDir: string): Promise<ApiAddress | null> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(apiAddressPath(dataDir), 'utf8'));
  } catch {
    return null;
  }
  const a = parsed as Partial<ApiAddress> | null;
  if (typeof a?.url !== 'string' || typeof a.pid !== 'number' || !Number.isSafeInteger(a.pid)) return null;
  return alive(a.pid) ? { url: a.url, pid: a.pid } : null;
}
