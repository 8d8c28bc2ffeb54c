// Markdown import and export in the UI, without React: a picked folder (File objects from a
// directory input) sent to the host in batches that each fit one request and one transaction,
// and an export packed into a .zip with fflate for the browser to download.

import { strToU8, zipSync, type Zippable } from 'fflate';
import type { ExportFile, ImportFileData, ImportReport, NotesApi } from '../app/api.ts';

/** Kept in step with the host's limits (app/markdown-batch.ts, engine/markdown/import-plan.ts). */
const MAX_BATCH_FILES = 200;
const MAX_REQUEST_DATA_CHARS = 3 * 1024 * 1024;
const MAX_FILE_BYTES = 1024 * 1024 + 64 * 1024;
const MARKDOWN = /\.(md|markdown)$/i;

export interface PickedFile {
  /** The folder's name. */
  readonly root: string;
  /** Inside that folder, '/'-separated. */
  readonly path: string;
  readonly file: File;
}

/**
 * The Markdown files of a directory input's selection. Hidden folders (.obsidian, .git) are left
 * out here to spare the upload; the host applies the same rule again.
 */
export function pickMarkdown(files: Iterable<File>): PickedFile[] {
  const out: PickedFile[] = [];
  for (const file of files) {
    const parts = (file.webkitRelativePath || file.name).split('/');
    const [root, ...rest] = parts.length > 1 ? parts : ['', ...parts];
    const path = rest.join('/');
    if (!MARKDOWN.test(path)) continue;
    const hidden = rest.some((p, i) => p.startsWith('.') && !(i === 0 && p === '.trash' && rest.length > 1));
    if (!hidden) out.push({ root, path, file });
  }
  return out;
}

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function addReports(a: ImportReport, b: ImportReport): ImportReport {
  return {
    files: [...a.files, ...b.files], skipped: [...a.skipped, ...b.skipped],
    created: a.created + b.created, updated: a.updated + b.updated, unchanged: a.unchanged + b.unchanged,
  };
}

/** Imports the picked files, reading them one batch at a time; `onProgress` after each batch. */
export async function importPicked(api: NotesApi, picked: readonly PickedFile[], onProgress: (done: number, total: number) => void): Promise<ImportReport> {
  let report: ImportReport = { files: [], skipped: [], created: 0, updated: 0, unchanged: 0 };
  const root = picked[0]?.root ?? '';
  let batch: ImportFileData[] = [];
  let chars = 0;
  let done = 0;
  const send = async (): Promise<void> => {
    if (batch.length === 0) return;
    report = addReports(report, await api.importMarkdown({ root, files: batch }));
    done += batch.length;
    onProgress(done, picked.length);
    batch = [];
    chars = 0;
  };
  for (const p of picked) {
    // A file too large to be a note is not read: the host reports it from its size.
    const data = p.file.size <= MAX_FILE_BYTES ? base64(new Uint8Array(await p.file.arrayBuffer())) : undefined;
    if (batch.length >= MAX_BATCH_FILES || chars + (data?.length ?? 0) > MAX_REQUEST_DATA_CHARS) await send();
    batch.push({ path: p.path, size: p.file.size, modified: p.file.lastModified, ...(data === undefined ? {} : { data }) });
    chars += data?.length ?? 0;
  }
  await send();
  return report;
}

/** The export as a .zip: one entry per file, at its path. */
export function zipExport(files: readonly ExportFile[]): Uint8Array {
  const tree: Zippable = {};
  for (const f of files) tree[f.path] = strToU8(f.text);
  return zipSync(tree, { level: 6 });
}

/** Starts the browser's download of `bytes` as `name`. */
export function download(bytes: Uint8Array, name: string, type = 'application/zip'): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its own reference by now; the URL is only needed for the click.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
