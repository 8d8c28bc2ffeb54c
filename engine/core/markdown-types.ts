// Plain data shapes of Markdown import and export, shared by the engine and the UI contract
// (app/api.ts re-exports them). Types only, like note-types.ts.

export type SkipReason = 'not-utf8' | 'too-large' | 'unreadable' | 'same-id' | 'invalid-path';

/** A file the import left out, and why. */
export interface SkippedFile {
  readonly path: string;
  readonly reason: SkipReason;
  readonly message: string;
}

/**
 * created: a new note. updated: the note existed and the file is newer, so its fields were
 * written. unchanged: the note already holds exactly this. kept-newer: the note in the vault
 * changed after the file did, so it was left as it is.
 */
export type ImportStatus = 'created' | 'updated' | 'unchanged' | 'kept-newer';

export interface ImportedFile {
  readonly path: string;
  readonly id: string;
  readonly title: string;
  readonly status: ImportStatus;
}

export interface ImportReport {
  readonly files: readonly ImportedFile[];
  readonly skipped: readonly SkippedFile[];
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
}

/** One file of an export. */
export interface ExportFile {
  /** '/'-separated, relative to the export folder. */
  readonly path: string;
  readonly text: string;
}
