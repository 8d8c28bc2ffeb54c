// The file-system side of import and export: listing a folder tree's Markdown files (read one
// batch at a time by the importer) and writing an export into a folder. Everything that decides
// anything lives in the pure modules beside this one.

import { lstat, mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { ValidationError } from '../core/errors.ts';
import type { ExportFile } from './export-plan.ts';
import { isImportable, MAX_IMPORT_FILE_BYTES, type SourceFile } from './import-plan.ts';

export interface FolderListing {
  /** The folder's own name: with each file's path, what a file's stable id is derived from. */
  readonly root: string;
  /** One loader per Markdown file, in path order. */
  readonly files: (() => Promise<SourceFile>)[];
}

function message(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** Lists the Markdown files under `dir` (symbolic links are not followed). */
export async function listMarkdownFolder(dir: string): Promise<FolderListing> {
  const top = resolve(dir);
  const info = await stat(top).catch((e: unknown) => {
    throw new ValidationError('E_INVALID_VALUE', `cannot open folder ${dir}: ${message(e)}`, { dir });
  });
  if (!info.isDirectory()) throw new ValidationError('E_INVALID_VALUE', `${dir} is not a folder`, { dir });
  const paths: string[] = [];
  const unreadable: SourceFile[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (e) {
      if (d === top) throw new ValidationError('E_INVALID_VALUE', `cannot list folder ${dir}: ${message(e)}`, { dir });
      unreadable.push({ path: relative(top, d).split(sep).join('/'), size: 0, modified: 0, error: `folder could not be listed: ${message(e)}` });
      return;
    }
    for (const e of entries) {
      const full = join(d, e.name);
      const rel = relative(top, full).split(sep).join('/');
      if (e.isDirectory()) {
        if (isImportable(`${rel}/x.md`)) await walk(full);
      } else if (e.isFile() && isImportable(rel)) paths.push(rel);
    }
  };
  await walk(top);
  paths.sort();
  const load = (rel: string) => async (): Promise<SourceFile> => {
    const full = join(top, ...rel.split('/'));
    try {
      const s = await lstat(full);
      const base = { path: rel, size: s.size, modified: s.mtimeMs, created: s.birthtimeMs > 0 ? s.birthtimeMs : undefined };
      // Not read at all when it cannot be a note: the plan reports it as too large.
      if (s.size > MAX_IMPORT_FILE_BYTES) return base;
      return { ...base, bytes: await readFile(full) };
    } catch (e) {
      return { path: rel, size: 0, modified: 0, error: message(e) };
    }
  };
  return { root: basename(top), files: [...unreadable.map((u) => async () => u), ...paths.map(load)] };
}

/**
 * Writes an export into `dir` (created if missing). Refuses a folder that already holds files,
 * so an export never overwrites anything; each file is created exclusively and flushed.
 */
export async function writeExportFolder(dir: string, files: readonly ExportFile[]): Promise<void> {
  const top = resolve(dir);
  await mkdir(top, { recursive: true });
  const existing = await readdir(top);
  if (existing.length > 0) throw new ValidationError('E_INVALID_VALUE', `${dir} is not empty; export into a new or empty folder`, { dir });
  for (const f of files) {
    const full = join(top, ...f.path.split('/'));
    if (!full.startsWith(top + sep)) throw new ValidationError('E_INVALID_VALUE', `export path ${f.path} leaves the folder`);
    await mkdir(dirname(full), { recursive: true });
    const handle = await open(full, 'wx');
    try {
      await handle.writeFile(f.text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
