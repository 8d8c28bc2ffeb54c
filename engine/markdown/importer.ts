// Runs an import plan against the vault: decides per planned note whether it is new, changed or
// already there, and writes each batch in one transaction through Notes.importBatch (the one
// write path, so imported notes sync like any edit). Every file of a batch is decided before the
// batch is written, so a batch lands whole or not at all and no note is ever half imported.

import type { ImportedFile, ImportReport, ImportStatus } from '../core/markdown-types.ts';
import type { Note, Notes } from '../notes.ts';
import { planImport, type PlannedNote, type SourceFile } from './import-plan.ts';

export type { ImportedFile, ImportReport, ImportStatus };

export interface ImportProgress {
  /** Files decided and written so far, of `total`. */
  readonly done: number;
  readonly total: number;
}

/** Files per transaction: large enough to be fast, small enough to show progress and stay short. */
export const IMPORT_BATCH_FILES = 200;
/** ...and at most this much file content, so memory stays bounded whatever the files' sizes. */
export const IMPORT_BATCH_BYTES = 32 * 1024 * 1024;

function same(note: Note, p: PlannedNote): boolean {
  return note.title === p.title && note.body === p.body && note.folder === p.folder && note.created === p.created && note.trashed === p.trashed;
}

function decide(existing: Note | undefined, p: PlannedNote): ImportStatus {
  if (existing === undefined) return 'created';
  if (same(existing, p)) return 'unchanged';
  return p.updated > existing.updated ? 'updated' : 'kept-newer';
}

export function emptyReport(): ImportReport {
  return { files: [], skipped: [], created: 0, updated: 0, unchanged: 0 };
}

/** Adds one batch's report to a running total. */
export function addReports(a: ImportReport, b: ImportReport): ImportReport {
  return {
    files: [...a.files, ...b.files], skipped: [...a.skipped, ...b.skipped],
    created: a.created + b.created, updated: a.updated + b.updated, unchanged: a.unchanged + b.unchanged,
  };
}

/** Imports one batch of files in one transaction. `root` is the imported folder's name. */
export function importBatch(notes: Notes, root: string, files: readonly SourceFile[], ids?: Map<string, string>): ImportReport {
  const plan = planImport(root, files, ids);
  const out: ImportedFile[] = [];
  const writes: PlannedNote[] = [];
  for (const p of plan.notes) {
    const status = decide(notes.get(p.id), p);
    out.push({ path: p.path, id: p.id, title: p.title, status });
    if (status === 'created' || status === 'updated') writes.push(p);
  }
  notes.importBatch(writes);
  const count = (s: ImportStatus): number => out.filter((f) => f.status === s).length;
  return { files: out, skipped: plan.skipped, created: count('created'), updated: count('updated'), unchanged: count('unchanged') };
}

/**
 * Imports any number of files, a batch per transaction (at most IMPORT_BATCH_FILES files or
 * IMPORT_BATCH_BYTES of contents), reporting progress after each. Files given as loaders are read
 * one at a time as their batch fills, so a large folder never sits in memory whole.
 */
export async function importFiles(
  notes: Notes, root: string, files: readonly (SourceFile | (() => Promise<SourceFile>))[],
  onProgress?: (p: ImportProgress) => void,
): Promise<ImportReport> {
  let report = emptyReport();
  const ids = new Map<string, string>();
  let batch: SourceFile[] = [];
  let bytes = 0;
  let done = 0;
  const flush = (): void => {
    report = addReports(report, importBatch(notes, root, batch, ids));
    done += batch.length;
    batch = [];
    bytes = 0;
    onProgress?.({ done, total: files.length });
  };
  for (const f of files) {
    const file = typeof f === 'function' ? await f() : f;
    batch.push(file);
    bytes += file.bytes?.length ?? 0;
    if (batch.length >= IMPORT_BATCH_FILES || bytes >= IMPORT_BATCH_BYTES) flush();
  }
  if (batch.length > 0 || files.length === 0) flush();
  return report;
}
