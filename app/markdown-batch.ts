// Checks an import batch as it arrives from the UI or the HTTP API (app/api.ts ImportBatch) and
// turns it into the engine's SourceFiles. Everything is checked before the engine sees the batch,
// so a refused batch writes nothing.

import type { ImportBatch, ImportFileData } from './api.ts';
import { ValidationError } from '../engine/core/errors.ts';
import { MAX_IMPORT_FILE_BYTES, type SourceFile } from '../engine/markdown/import-plan.ts';

/** Files per batch: what one transaction holds (engine/markdown/importer.ts IMPORT_BATCH_FILES). */
export const MAX_BATCH_FILES = 200;
const MAX_PATH_CHARS = 4096;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const invalid = (message: string): ValidationError => new ValidationError('E_INVALID_VALUE', message);

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function time(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalid(`${what} must be a time in ms since the epoch`);
  return v;
}

function sourceFile(v: unknown, i: number): SourceFile {
  if (!isObject(v)) throw invalid(`files[${i}] must be an object {path, data?, size, modified, created?}`);
  for (const k of Object.keys(v)) if (!['path', 'data', 'size', 'modified', 'created'].includes(k)) throw invalid(`files[${i}]: unknown field "${k}"`);
  const f = v as Partial<Record<keyof ImportFileData, unknown>>;
  if (typeof f.path !== 'string' || f.path.length === 0 || f.path.length > MAX_PATH_CHARS) throw invalid(`files[${i}].path must be a relative path`);
  if (typeof f.size !== 'number' || !Number.isSafeInteger(f.size) || f.size < 0) throw invalid(`files[${i}].size must be a byte count`);
  const modified = time(f.modified, `files[${i}].modified`);
  const created = f.created === undefined ? undefined : time(f.created, `files[${i}].created`);
  if (f.data === undefined) return { path: f.path, size: f.size, modified, created };
  if (typeof f.data !== 'string' || f.data.length % 4 !== 0 || !BASE64.test(f.data)) throw invalid(`files[${i}].data must be base64`);
  // Over the limit a file is reported as too large; its bytes are not needed for that.
  if (f.data.length > Math.ceil(MAX_IMPORT_FILE_BYTES / 3) * 4) return { path: f.path, size: Math.max(f.size, MAX_IMPORT_FILE_BYTES + 1), modified, created };
  const bytes = new Uint8Array(Buffer.from(f.data, 'base64'));
  return { path: f.path, bytes, size: bytes.length, modified, created };
}

export function checkImportBatch(batch: unknown): { root: string; files: SourceFile[] } {
  if (!isObject(batch)) throw invalid('an import batch is an object {root, files}');
  for (const k of Object.keys(batch)) if (k !== 'root' && k !== 'files') throw invalid(`unknown field "${k}"`);
  const { root, files } = batch as Partial<Record<keyof ImportBatch, unknown>>;
  if (typeof root !== 'string' || root.length > 255 || root.includes('/') || root.includes('\\')) throw invalid('root must be the imported folder\'s name');
  if (!Array.isArray(files)) throw invalid('files must be an array');
  if (files.length > MAX_BATCH_FILES) throw invalid(`at most ${MAX_BATCH_FILES} files per batch`);
  return { root, files: files.map(sourceFile) };
}
