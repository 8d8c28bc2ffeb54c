// Plain data shapes of notes, shared by the engine and the UI contract (app/api.ts re-exports
// them). Types only: nothing here pulls engine code into the renderer.

/** Fields a user edits and may have to resolve. */
export type TextField = 'title' | 'body';

export interface ConflictVersion {
  readonly value: string | null;
  readonly device: string;
  readonly wall: number;
}

export interface Note {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly created: number;
  readonly updated: number;
  readonly trashed: boolean;
  /** The sub-folder the note came from in a Markdown import ('' for none); export restores it. */
  readonly folder: string;
  /** Fields with concurrent versions; versions are winner first (the one shown). */
  readonly conflicts: Partial<Record<TextField, ConflictVersion[]>>;
}

export interface SearchHit {
  readonly id: string;
  readonly title: string;
  /** A short excerpt of the body around the match. */
  readonly snippet: string;
}
