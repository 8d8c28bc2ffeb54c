// A whole folder in, the whole vault out: what the CLI (on a store no peer is running on) and the
// desktop app's menu call. The HTTP API and the browser UI take the same steps one batch at a time.

import type { ExportFile } from '../core/markdown-types.ts';
import type { Note, Notes } from '../notes.ts';
import { planExport } from './export-plan.ts';
import { listMarkdownFolder, writeExportFolder } from './folder-io.ts';
import { importFiles, type ImportProgress, type ImportReport } from './importer.ts';

export async function importFolder(notes: Notes, dir: string, onProgress?: (p: ImportProgress) => void): Promise<ImportReport> {
  const listing = await listMarkdownFolder(dir);
  return importFiles(notes, listing.root, listing.files, onProgress);
}

/** Every note (with `trash`, the trash too), as export files. */
export function exportFiles(notes: Notes, opts: { trash?: boolean } = {}): ExportFile[] {
  const docs = [...notes.list({ trashed: false }), ...(opts.trash === true ? notes.list({ trashed: true }) : [])];
  const all = docs.map((d) => notes.get(d.id)).filter((n): n is Note => n !== undefined);
  return planExport(all, opts);
}

export async function exportFolder(notes: Notes, dir: string, opts: { trash?: boolean } = {}): Promise<ExportFile[]> {
  const files = exportFiles(notes, opts);
  await writeExportFolder(dir, files);
  return files;
}
