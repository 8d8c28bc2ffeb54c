// `npm run notes -- import FOLDER --data DIR` and `npm run notes -- export FOLDER --data DIR`:
// Markdown in and out from the command line. When a headless peer runs on DIR (it records its
// address in DIR/api-address), everything goes through its HTTP API, so the running app shows the
// imported notes at once and syncs them; otherwise the store in DIR is opened directly.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ExportFile, ImportFileData, ImportReport, NotesApi } from './api.ts';
import { apiAddressPath, readApiAddress } from './api-address.ts';
import { HttpNotesApi } from './http-client.ts';
import { MAX_BATCH_FILES } from './markdown-batch.ts';
import { loadOrCreateToken } from './token.ts';
import { listMarkdownFolder, writeExportFolder, type FolderListing } from '../engine/markdown/folder-io.ts';
import { MAX_IMPORT_FILE_BYTES } from '../engine/markdown/import-plan.ts';
import { addReports, emptyReport, type ImportProgress } from '../engine/markdown/importer.ts';
import { exportFiles, importFolder } from '../engine/markdown/vault-folder.ts';
import { Notes, notesReplicaOptions } from '../engine/notes.ts';
import { lockDataDir } from '../engine/store/dir-lock.ts';
import { exitCodeFor } from './data-dir-problems.ts';
import { Replica } from '../engine/replica.ts';
import { SqliteStore } from '../engine/store/sqlite.ts';

const HELP = `Usage: npm run notes -- import FOLDER --data DIR [--json]
       npm run notes -- export FOLDER --data DIR [--trash] [--json]

  import FOLDER   import every .md/.markdown file under FOLDER (sub-folders kept; hidden folders
                  such as .obsidian skipped; .trash imported into the trash). Importing the same
                  folder again updates changed notes instead of duplicating them.
  export FOLDER   write every note to FOLDER (new or empty) as <sub-folder>/<title>.md
  --data DIR      the notes data directory (as for npm run peer)
  --trash         export: include the trash (under .trash/)
  --json          print the report as one JSON object`;

/** Request bodies stay well under the API's limit (app/http-body.ts) even with base64's 4/3. */
const MAX_REQUEST_DATA_CHARS = 3 * 1024 * 1024;

export interface CliArgs {
  readonly command: 'import' | 'export';
  readonly folder: string;
  readonly data: string;
  readonly trash: boolean;
  readonly json: boolean;
}

export function parseCliArgs(argv: readonly string[]): CliArgs | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv], allowPositionals: true, strict: true,
    options: { data: { type: 'string' }, trash: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) return 'help';
  const [command, folder, ...extra] = positionals;
  if (command !== 'import' && command !== 'export') throw new Error('the first argument is import or export');
  if (!folder) throw new Error(`${command} needs a FOLDER`);
  if (extra.length > 0) throw new Error(`unexpected arguments: ${extra.join(' ')}`);
  if (!values.data) throw new Error('--data DIR is required');
  if (values.trash && command === 'import') throw new Error('--trash is an export option');
  return { command, folder: resolve(folder), data: resolve(values.data), trash: values.trash === true, json: values.json === true };
}

/** The running peer's API on `dataDir`, or null when none runs there. */
export async function runningPeerApi(dataDir: string): Promise<NotesApi | null> {
  const address = await readApiAddress(dataDir);
  if (address === null) return null;
  const api = new HttpNotesApi({ baseUrl: address.url, token: await loadOrCreateToken(dataDir), timeoutMs: 10 * 60_000 });
  // Any answer (even "sync is off") means the peer is there; silence means the file is stale.
  await api.syncState().catch((e: { code?: string }) => {
    if (e.code === 'E_NETWORK' || e.code === 'E_TIMEOUT') {
      throw new Error(`${apiAddressPath(dataDir)} names a peer (process ${address.pid}) at ${address.url} that does not answer; if no peer runs on ${dataDir}, delete that file`);
    }
  });
  return api;
}

/** Sends a folder to an API in batches that each fit one request and one transaction. */
export async function uploadFolder(api: NotesApi, listing: FolderListing, onProgress?: (p: ImportProgress) => void): Promise<ImportReport> {
  let report = emptyReport();
  let batch: ImportFileData[] = [];
  let chars = 0;
  let done = 0;
  const send = async (): Promise<void> => {
    if (batch.length === 0) return;
    report = addReports(report, await api.importMarkdown({ root: listing.root, files: batch }));
    done += batch.length;
    onProgress?.({ done, total: listing.files.length });
    batch = [];
    chars = 0;
  };
  for (const load of listing.files) {
    const f = await load();
    if (f.error !== undefined) {
      // The host could not read it; say so in the report like the direct import does.
      report = addReports(report, { ...emptyReport(), skipped: [{ path: f.path, reason: 'unreadable', message: `could not be read: ${f.error}` }] });
      continue;
    }
    const data = f.bytes !== undefined && f.size <= MAX_IMPORT_FILE_BYTES ? Buffer.from(f.bytes).toString('base64') : undefined;
    if (chars + (data?.length ?? 0) > MAX_REQUEST_DATA_CHARS || batch.length >= MAX_BATCH_FILES) await send();
    batch.push({ path: f.path, size: f.size, modified: f.modified, ...(f.created === undefined ? {} : { created: f.created }), ...(data === undefined ? {} : { data }) });
    chars += data?.length ?? 0;
  }
  await send();
  return report;
}

/**
 * Opens the store as its one owner: a desktop app (which serves no API) or any other process
 * holding the folder makes this fail with E_DIR_LOCKED naming it, before anything is read.
 */
function openStore(dataDir: string): { notes: Notes; close: () => void } {
  const lock = lockDataDir(dataDir, 'notes CLI');
  try {
    const store = SqliteStore.open(join(dataDir, 'notes.db'));
    return { notes: new Notes(Replica.open(store, notesReplicaOptions())), close: () => { store.close(); lock.release(); } };
  } catch (e) {
    lock.release();
    throw e;
  }
}

function printImport(report: ImportReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const kept = report.files.filter((f) => f.status === 'kept-newer').length;
  process.stdout.write(`imported: ${report.created} new, ${report.updated} updated, ${report.unchanged} unchanged, ${kept} kept (the vault's copy is newer), ${report.skipped.length} skipped\n`);
  for (const s of report.skipped) process.stdout.write(`  skipped ${s.path}: ${s.message}\n`);
}

async function main(): Promise<number> {
  let args: CliArgs | 'help';
  try {
    args = parseCliArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const progress = (p: ImportProgress): void => {
    process.stderr.write(`  ${p.done}/${p.total} files\n`);
  };
  const api = await runningPeerApi(args.data);
  process.stderr.write(api ? `through the peer running on ${args.data}\n` : `directly on the store in ${args.data} (no peer running there)\n`);
  if (args.command === 'import') {
    const listing = await listMarkdownFolder(args.folder);
    if (api) {
      printImport(await uploadFolder(api, listing, progress), args.json);
    } else {
      const { notes, close } = openStore(args.data);
      try {
        printImport(await importFolder(notes, args.folder, progress), args.json);
      } finally {
        close();
      }
    }
    return 0;
  }
  let files: ExportFile[];
  if (api) {
    files = await api.exportMarkdown({ trash: args.trash });
  } else {
    if (!existsSync(join(args.data, 'notes.db'))) throw new Error(`no notes in ${args.data} (no notes.db there)`);
    const { notes, close } = openStore(args.data);
    try {
      files = exportFiles(notes, { trash: args.trash });
    } finally {
      close();
    }
  }
  await writeExportFolder(args.folder, files);
  if (args.json) process.stdout.write(`${JSON.stringify({ folder: args.folder, files: files.map((f) => f.path) })}\n`);
  else process.stdout.write(`exported ${files.length} files to ${args.folder}\n`);
  return 0;
}

if (import.meta.main) {
  main().then((code) => process.exit(code), (e: unknown) => {
    const err = e as { code?: string; message?: string };
    process.stderr.write(`notes: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}\n`);
    process.exit(err.code === 'E_DIR_LOCKED' ? exitCodeFor(e) : 1);
  });
}
