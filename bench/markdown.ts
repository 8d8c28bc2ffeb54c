// Markdown import and export of a folder of n notes (~2 KB each, front matter, nested folders):
// the whole import (list, read, decode, parse front matter, plan, write 200 notes per SQLite
// transaction) beside reading the same files raw, and the whole export (plan + write files) beside
// writing (and flushing) the same bytes raw. Ratios are measured side by side in one run; absolute times on a
// shared machine mean little.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exportFiles, exportFolder, importFolder } from '../engine/markdown/vault-folder.ts';
import { Notes, notesIndexer } from '../engine/notes.ts';
import { Replica } from '../engine/replica.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';
import { Prng } from '../test/prng.ts';

export interface MarkdownRow {
  notes: number;
  importMs: number;
  rawReadMs: number;
  importRatio: number;
  notesPerSec: number;
  exportMs: number;
  rawWriteMs: number;
  exportRatio: number;
}

const SEED = 13;

function makeFolder(dir: string, n: number): void {
  const rng = new Prng(SEED);
  const words = ['local', 'first', 'notes', 'sync', 'merkle', 'gossip', 'vault', 'peer', 'lan', 'café', '日本語', 'draft'];
  for (let i = 0; i < n; i++) {
    const folder = join(dir, `Area ${i % 7}`, `Topic ${i % 23}`);
    mkdirSync(folder, { recursive: true });
    let body = `# Note ${i}\n\n`;
    while (body.length < 2000) body += `${words[rng.int(0, words.length - 1)]} `;
    const text = `---\ntitle: "Note ${i}"\ntags: [bench, t${i % 5}]\ncreated: 2024-01-01T00:00:00.000Z\n---\n${body}\n`;
    // Synchronous: creating the fixture is not part of any timed figure.
    writeFileSync(join(folder, `Note ${i}.md`), text);
  }
}

async function time(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

export async function markdownRows(sizes: readonly number[]): Promise<MarkdownRow[]> {
  const root = mkdtempSync(join(tmpdir(), 'bench-md-'));
  const rows: MarkdownRow[] = [];
  try {
    for (const n of sizes) {
      const src = join(root, `src-${n}`);
      makeFolder(src, n);
      const rawRead = (): Promise<number> => time(async () => {
        for (const e of await readdir(src, { recursive: true, withFileTypes: true })) {
          if (e.isFile() && e.name.endsWith('.md')) await readFile(join(e.parentPath, e.name));
        }
      });
      // Raw reads before and after the import, the faster one counted: the page cache is warm for both.
      const before = await rawRead();
      const store = SqliteStore.open(join(root, `vault-${n}.db`));
      const notes = new Notes(Replica.open(store, { indexer: notesIndexer }));
      const importMs = await time(() => importFolder(notes, src));
      const rawReadMs = Math.min(before, await rawRead());
      const files = exportFiles(notes);
      const rawOut = join(root, `raw-${n}`);
      const rawWriteMs = await time(async () => {
        for (const f of files) {
          const p = join(rawOut, ...f.path.split('/'));
          mkdirSync(dirname(p), { recursive: true });
          // Created and flushed one by one, as the export does.
          const h = await open(p, 'wx');
          await h.writeFile(f.text, 'utf8');
          await h.sync();
          await h.close();
        }
      });
      const exportMs = await time(() => exportFolder(notes, join(root, `out-${n}`)));
      store.close();
      rows.push({
        notes: n, importMs: Math.round(importMs), rawReadMs: Math.round(rawReadMs), importRatio: Number((importMs / rawReadMs).toFixed(1)),
        notesPerSec: Math.round(n / (importMs / 1000)), exportMs: Math.round(exportMs), rawWriteMs: Math.round(rawWriteMs),
        exportRatio: Number((exportMs / rawWriteMs).toFixed(1)),
      });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return rows;
}
