// Which files an export writes, with which contents. Pure: notes in, (path, text) pairs out.
//
//   <folder>/<title>.md                          each note, with front matter id/title/created/updated
//   .trash/<folder>/<title>.md                   trashed notes, when asked for (front matter trashed: true)
//   <folder>/<title> (conflict from <device>).md each concurrent version a note still holds, so a
//                                                pending conflict loses nothing on the way out
//
// Names are made safe and unique on Linux, macOS and Windows (file-names.ts). Notes are taken in
// a fixed order (folder, title, id), so exporting the same vault twice gives the same names.

import type { ExportFile } from '../core/markdown-types.ts';
import type { ConflictVersion, Note } from '../core/note-types.ts';
import { NameAllocator, safeFolder, safeSegment } from './file-names.ts';
import { renderMarkdown } from './front-matter.ts';
import { TRASH_FOLDER } from './import-plan.ts';

export type { ExportFile };

function order(a: Note, b: Note): number {
  return cmp(a.folder, b.folder) || cmp(a.title, b.title) || cmp(a.id, b.id);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The losing versions of a note's fields, grouped by the device that wrote them. */
function conflictsByDevice(note: Note): Map<string, { title?: ConflictVersion; body?: ConflictVersion }> {
  const out = new Map<string, { title?: ConflictVersion; body?: ConflictVersion }>();
  for (const field of ['title', 'body'] as const) {
    for (const v of (note.conflicts[field] ?? []).slice(1)) {
      const entry = out.get(v.device) ?? {};
      // One device's newest version of a field is the one it shows.
      if (entry[field] === undefined || entry[field].wall < v.wall) entry[field] = v;
      out.set(v.device, entry);
    }
  }
  return out;
}

export function planExport(notes: readonly Note[], opts: { trash?: boolean } = {}): ExportFile[] {
  const names = new NameAllocator();
  const files: ExportFile[] = [];
  const chosen = notes.filter((n) => opts.trash === true || !n.trashed).sort(order);
  for (const note of chosen) {
    const folder = [note.trashed ? TRASH_FOLDER : '', safeFolder(note.folder)].filter((s) => s !== '').join('/');
    const stem = safeSegment(note.title);
    files.push({
      path: names.take(folder, stem, '.md'),
      text: renderMarkdown({ id: note.id, title: note.title, body: note.body, created: note.created, updated: note.updated, trashed: note.trashed }),
    });
    for (const [device, v] of conflictsByDevice(note)) {
      const title = v.title?.value ?? note.title;
      // No id: importing this file back makes it a note of its own instead of overwriting the original.
      files.push({
        path: names.take(folder, stem, '.md', ` (conflict from ${safeSegment(device, '_')})`),
        text: renderMarkdown({
          title, body: v.body?.value ?? note.body, created: note.created,
          updated: Math.max(v.title?.wall ?? 0, v.body?.wall ?? 0), trashed: note.trashed,
        }),
      });
    }
  }
  return files;
}
