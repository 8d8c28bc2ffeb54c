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
  /** Fields with concurrent versions of different text; versions are winner first (the one shown). */
  readonly conflicts: Partial<Record<TextField, ConflictVersion[]>>;
  /**
   * Opaque: names the versions of title and body this note was read at. Send it back as `base`
   * when saving, so an edit made elsewhere meanwhile is kept (merged or a conflict), never lost.
   */
  readonly rev: string;
  /**
   * For a conflicted field whose common ancestor is known here: all versions merged, with only
   * the overlapping regions marked (<<<<<<< ... ======= ... >>>>>>>), to edit and resolve.
   */
  readonly merged?: Partial<Record<TextField, string>>;
}

/** A superseded version of a text field, as GET /api/notes/:id/history lists it. */
export interface HistoryVersion {
  readonly field: TextField;
  readonly text: string;
  /** The device that wrote this version. */
  readonly device: string;
  /** When it was written (the writer's wall clock, ms). */
  readonly time: number;
  /** When this device saw it superseded (ms). */
  readonly supersededAt: number;
  /** The writes that superseded it, as "device.counter". */
  readonly supersededBy: readonly string[];
  /** This version's own id, "device.counter". */
  readonly version: string;
}

export interface SearchHit {
  readonly id: string;
  readonly title: string;
  /** A short excerpt of the body around the match. */
  readonly snippet: string;
}
