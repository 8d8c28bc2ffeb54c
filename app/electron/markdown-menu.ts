// The desktop app's menu, with "Import Markdown folder…" and "Export as Markdown…" under File.
// Electron only supplies the native folder dialog and the message box (injected); what the items
// do is host code that runs under plain Node: the folder import and export of
// engine/markdown/vault-folder.ts. Electron's own roles keep the usual Edit/View/Window menus, so
// copy, paste and undo keep their shortcuts.

import type { MenuItemConstructorOptions } from 'electron';
import type { ImportReport } from '../api.ts';

export const IMPORT_LABEL = 'Import Markdown folder…';
export const EXPORT_LABEL = 'Export as Markdown…';
export const EXPORT_TRASH_LABEL = 'Export as Markdown, with the trash…';

export interface MarkdownMenuDeps {
  /** The native folder dialog; null when the user cancelled. */
  chooseFolder(purpose: 'import' | 'export'): Promise<string | null>;
  importFolder(dir: string): Promise<ImportReport>;
  /** Writes the export into `dir` (which must not exist yet); resolves the number of files. */
  exportFolder(dir: string, opts: { trash: boolean }): Promise<number>;
  exists(path: string): boolean;
  inform(message: string, detail: string, kind: 'info' | 'error'): void;
  today(): Date;
}

/** What the message box says after an import. */
export function importSummary(report: ImportReport): { message: string; detail: string } {
  const kept = report.files.filter((f) => f.status === 'kept-newer').length;
  const message = `Imported ${report.created} new notes, ${report.updated} updated, ${report.unchanged} unchanged${kept ? `, ${kept} kept (newer here)` : ''}.`;
  const shown = report.skipped.slice(0, 20).map((s) => `${s.path}: ${s.message}`);
  const more = report.skipped.length > shown.length ? [`… and ${report.skipped.length - shown.length} more`] : [];
  const detail = report.skipped.length === 0 ? 'No file was skipped.' : [`${report.skipped.length} skipped:`, ...shown, ...more].join('\n');
  return { message, detail };
}

/** A new folder inside the chosen one, so an export never mixes with files already there. */
export function exportTarget(chosen: string, today: Date, exists: (path: string) => boolean): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const base = `${chosen}/LAN Notes ${today.getFullYear()}-${p(today.getMonth() + 1)}-${p(today.getDate())}`;
  for (let n = 1; ; n++) {
    const dir = n === 1 ? base : `${base} (${n})`;
    if (!exists(dir)) return dir;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function markdownMenuItems(deps: MarkdownMenuDeps): MenuItemConstructorOptions[] {
  const runImport = async (): Promise<void> => {
    const dir = await deps.chooseFolder('import');
    if (dir === null) return;
    try {
      const { message: m, detail } = importSummary(await deps.importFolder(dir));
      deps.inform(m, detail, 'info');
    } catch (e) {
      deps.inform('The import stopped.', `${message(e)}\n\nBatches before the failure were imported whole; importing the folder again continues without duplicates.`, 'error');
    }
  };
  const runExport = async (trash: boolean): Promise<void> => {
    const chosen = await deps.chooseFolder('export');
    if (chosen === null) return;
    const dir = exportTarget(chosen, deps.today(), deps.exists);
    try {
      const n = await deps.exportFolder(dir, { trash });
      deps.inform(`Exported ${n} files.`, dir, 'info');
    } catch (e) {
      deps.inform('The export failed.', message(e), 'error');
    }
  };
  return [
    { id: 'import-markdown', label: IMPORT_LABEL, click: () => void runImport() },
    { id: 'export-markdown', label: EXPORT_LABEL, click: () => void runExport(false) },
    { id: 'export-markdown-trash', label: EXPORT_TRASH_LABEL, click: () => void runExport(true) },
  ];
}

/** The whole application menu: File holds our items; the rest are Electron's standard roles. */
export function appMenuTemplate(platform: NodeJS.Platform, markdown: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  const mac = platform === 'darwin';
  return [
    ...(mac ? [{ role: 'appMenu' } as MenuItemConstructorOptions] : []),
    { label: 'File', submenu: [...markdown, { type: 'separator' }, mac ? { role: 'close' } : { role: 'quit' }] },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
  ];
}
