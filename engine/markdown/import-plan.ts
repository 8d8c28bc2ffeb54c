// What importing a set of files would do, decided before anything is written: which files become
// which notes, and which are skipped and why. Pure: the folder reader (folder-io.ts), the browser
// UI and the HTTP API all hand files in the same shape, and every host applies the same rules.
//
// Re-import rule (no duplicates): a note's id is the front matter's `id` when it has a valid one
// (our own exports carry it), else it is derived from the imported folder's name and the file's
// path inside it. Importing the same folder again therefore addresses the same notes; the
// importer (importer.ts) then leaves equal notes alone and updates changed ones.

import { createHash } from 'node:crypto';
import { MAX_VALUE_BYTES } from '../core/limits.ts';
import type { SkippedFile, SkipReason } from '../core/markdown-types.ts';
import { parseMarkdown, titleFromHeading } from './front-matter.ts';

/** A file as a host hands it over. `path` is relative to the imported folder, '/'-separated. */
export interface SourceFile {
  readonly path: string;
  /** The file's bytes; absent when the host did not read it (too large, or unreadable). */
  readonly bytes?: Uint8Array;
  readonly size: number;
  /** Last modification, ms since the epoch. */
  readonly modified: number;
  /** Creation (birth) time where the system has one. */
  readonly created?: number;
  /** Why the host could not read it (the system's message). */
  readonly error?: string;
}

export type { SkippedFile, SkipReason };

export interface PlannedNote {
  readonly path: string;
  readonly id: string;
  readonly title: string;
  readonly body: string;
  /** The sub-folder the file was in ('' for the top), '/'-separated. */
  readonly folder: string;
  readonly created: number;
  readonly updated: number;
  readonly trashed: boolean;
}

export interface ImportPlan {
  readonly notes: PlannedNote[];
  readonly skipped: SkippedFile[];
}

/** Front matter may add to the body limit: a file this large can still hold a note. */
export const MAX_IMPORT_FILE_BYTES = MAX_VALUE_BYTES + 64 * 1024;
/** Obsidian keeps deleted notes here; files under it are imported into the trash. */
export const TRASH_FOLDER = '.trash';

const MARKDOWN_EXT = /\.(md|markdown)$/i;

/**
 * Files the importer looks at: Markdown files outside hidden folders (an Obsidian vault's
 * `.obsidian` settings, a `.git` directory), except the trash folder at the top.
 */
export function isImportable(path: string): boolean {
  if (!MARKDOWN_EXT.test(path)) return false;
  const parts = path.split('/');
  const dirs = parts.slice(0, -1);
  if (parts[parts.length - 1].startsWith('.')) return false;
  return dirs.every((d, i) => !d.startsWith('.') || (i === 0 && d === TRASH_FOLDER));
}

/** A relative path we accept: no empty, `.` or `..` segment, no backslash, not absolute. */
function validPath(path: string): boolean {
  if (path === '' || path.startsWith('/') || path.includes('\\') || path.includes('\0')) return false;
  return path.split('/').every((p) => p !== '' && p !== '.' && p !== '..');
}

/** The note id for a file without one: stable per imported folder name and path. */
export function idForPath(root: string, path: string): string {
  const key = `${root.normalize('NFC')}/${path.normalize('NFC')}`;
  return `md-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function decode(bytes: Uint8Array): string | null {
  try {
    // A byte-order mark is dropped (Windows editors write one); it is not part of the text.
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * Decides every file. Files are taken in path order so the outcome does not depend on the order
 * a host listed them in. Files that are not Markdown, or sit in hidden folders, are passed over
 * (a browser's folder picker hands over every file). `byId` (id -> path) carries the ids taken across the batches of one
 * import, so two files claiming one id are caught in different batches too.
 */
export function planImport(root: string, files: readonly SourceFile[], byId: Map<string, string> = new Map()): ImportPlan {
  const notes: PlannedNote[] = [];
  const skipped: SkippedFile[] = [];
  // Attachments, settings folders and the like: not notes, and not worth a line in the report.
  const sorted = files.filter((f) => f.error !== undefined || isImportable(f.path)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of sorted) {
    const skip = (reason: SkipReason, message: string): void => {
      skipped.push({ path: file.path, reason, message });
    };
    if (file.error !== undefined) {
      skip('unreadable', `could not be read: ${file.error}`);
      continue;
    }
    if (!validPath(file.path)) {
      skip('invalid-path', 'not a relative path inside the imported folder');
      continue;
    }
    if (file.size > MAX_IMPORT_FILE_BYTES || (file.bytes !== undefined && file.bytes.length > MAX_IMPORT_FILE_BYTES)) {
      skip('too-large', `${file.size} bytes; a note holds at most ${MAX_VALUE_BYTES} bytes`);
      continue;
    }
    if (file.bytes === undefined) {
      skip('unreadable', 'its contents were not provided');
      continue;
    }
    const text = decode(file.bytes);
    if (text === null) {
      skip('not-utf8', 'not UTF-8 text (convert it to UTF-8 and import again)');
      continue;
    }
    const { fields, body } = parseMarkdown(text);
    const bodyBytes = utf8Length(body);
    if (bodyBytes > MAX_VALUE_BYTES) {
      skip('too-large', `the body is ${bodyBytes} bytes; a note holds at most ${MAX_VALUE_BYTES} bytes`);
      continue;
    }
    // A title is a value like the body: over the limit, the whole batch's write would be refused.
    if (fields.title !== undefined && utf8Length(fields.title) > MAX_VALUE_BYTES) {
      skip('too-large', `the title is ${utf8Length(fields.title)} bytes; a note's title holds at most ${MAX_VALUE_BYTES} bytes`);
      continue;
    }
    const parts = file.path.normalize('NFC').split('/');
    const name = parts[parts.length - 1].replace(MARKDOWN_EXT, '');
    let dirs = parts.slice(0, -1);
    let trashed = fields.trashed ?? false;
    if (dirs[0] === TRASH_FOLDER) {
      dirs = dirs.slice(1);
      trashed = true;
    }
    const id = fields.id ?? idForPath(root, file.path);
    const earlier = byId.get(id);
    if (earlier !== undefined) {
      skip('same-id', `has the same id (${id}) as ${earlier}, which was imported`);
      continue;
    }
    byId.set(id, file.path);
    const modified = Math.floor(file.modified);
    const born = file.created !== undefined && file.created > 0 ? Math.floor(file.created) : modified;
    const created = fields.created ?? Math.min(born, fields.updated ?? modified);
    notes.push({
      path: file.path,
      id,
      title: fields.title ?? titleFromHeading(body) ?? name,
      body,
      folder: dirs.join('/'),
      created,
      updated: fields.updated ?? Math.max(modified, created),
      trashed,
    });
  }
  return { notes, skipped };
}
