// "Import Markdown folder…" and "Export as Markdown…" in the top bar: a directory picker whose
// files go to the host in batches (progress shown as they land), a report of what was imported and
// what was skipped and why, and the vault downloaded as a .zip of Markdown files.

import { useRef, useState } from 'react';
import type { ImportReport, NotesApi } from '../../app/api.ts';
import { errorMessage } from '../format.ts';
import { download, importPicked, pickMarkdown, zipExport } from '../markdown-transfer.ts';

function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function MarkdownMenu({ api, onImported }: { api: NotesApi; onImported: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [report, setReport] = useState<ImportReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [trash, setTrash] = useState(false);

  const onPicked = async (files: FileList | null): Promise<void> => {
    const picked = pickMarkdown(files ?? []);
    if (input.current) input.current.value = '';
    if (picked.length === 0) {
      setError('That folder holds no Markdown (.md, .markdown) files.');
      return;
    }
    setError(null);
    setBusy(`Importing 0/${picked.length} files…`);
    try {
      setReport(await importPicked(api, picked, (done, total) => setBusy(`Importing ${done}/${total} files…`)));
      onImported();
    } catch (e) {
      setError(`Import stopped: ${errorMessage(e)}. Batches before it were imported whole; importing again continues without duplicates.`);
    } finally {
      setBusy(null);
    }
  };

  const onExport = async (): Promise<void> => {
    setError(null);
    setBusy('Exporting…');
    try {
      const files = await api.exportMarkdown({ trash });
      download(zipExport(files), `LAN Notes ${stamp(new Date())}.zip`);
    } catch (e) {
      setError(`Export failed: ${errorMessage(e)}`);
    } finally {
      setBusy(null);
    }
  };

  const kept = report?.files.filter((f) => f.status === 'kept-newer').length ?? 0;
  return (
    <div className="markdown-menu">
      <input
        ref={input}
        type="file"
        hidden
        multiple
        data-testid="import-input"
        // Directory picking is not in React's typings; the attribute works in Chromium and Electron.
        {...{ webkitdirectory: '', directory: '' }}
        onChange={(e) => void onPicked(e.currentTarget.files)}
      />
      <button type="button" className="btn subtle" data-testid="import-markdown" disabled={busy !== null} onClick={() => input.current?.click()}>
        Import Markdown folder…
      </button>
      <button type="button" className="btn subtle" data-testid="export-markdown" disabled={busy !== null} onClick={() => void onExport()}>
        Export as Markdown…
      </button>
      <label className="small muted">
        <input type="checkbox" data-testid="export-trash" checked={trash} onChange={(e) => setTrash(e.currentTarget.checked)} /> with trash
      </label>
      {busy && <span className="small muted" role="status" data-testid="markdown-progress">{busy}</span>}
      {error && <span className="error small" role="alert" data-testid="markdown-error">{error}</span>}
      {report && (
        <div role="dialog" className="import-report" data-testid="import-report" aria-label="Import report">
          <p data-testid="import-summary">
            Imported {report.created} new, {report.updated} updated, {report.unchanged} unchanged
            {kept > 0 ? `, ${kept} kept (newer here)` : ''}; {report.skipped.length} skipped.
          </p>
          {report.skipped.length > 0 && (
            <ul data-testid="import-skipped">
              {report.skipped.map((s) => <li key={s.path}><code>{s.path}</code>: {s.message}</li>)}
            </ul>
          )}
          <button type="button" className="btn" data-testid="import-report-close" onClick={() => setReport(null)}>Close</button>
        </div>
      )}
    </div>
  );
}
