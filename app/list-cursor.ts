// Opaque cursors for the paged lists of the API (notes list, trash, search) and the page-size
// rule they share. A notes cursor is a keyset position: the (updated, id) of the last note of the
// page, so the next page starts right after that note however many notes were created, edited or
// trashed above it meanwhile. A search cursor is an offset into the ranked hits of one query.
// Cursors are base64url text; clients pass them back unchanged and never read them.

import { createHash } from 'node:crypto';
import { ValidationError } from '../engine/core/errors.ts';
import type { DocPosition } from '../engine/store/store.ts';
import { DEFAULT_PAGE, MAX_PAGE } from './page-limits.ts';

export { DEFAULT_PAGE, MAX_PAGE };
/** Cursors are short; anything longer was not made here. */
const MAX_CURSOR_CHARS = 200;
const NOTES_TAG = 'n1';
const SEARCH_TAG = 's1';

/** The page size a caller asked for: 1..MAX_PAGE, DEFAULT_PAGE when absent. */
export function pageLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_PAGE;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new ValidationError('E_INVALID_LIMIT', `limit must be a whole number from 1 to ${MAX_PAGE}`, { limit: String(limit) });
  }
  return limit;
}

function badCursor(why: string): ValidationError {
  return new ValidationError('E_INVALID_CURSOR', `invalid cursor: ${why}; start again without a cursor`);
}

function unpack(cursor: unknown, tag: string): string[] {
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw badCursor('not a cursor this host made');
  }
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('\n');
  if (parts[0] !== tag) throw badCursor('not a cursor of this list');
  return parts.slice(1);
}

function pack(parts: readonly string[]): string {
  return Buffer.from(parts.join('\n'), 'utf8').toString('base64url');
}

/** The list a notes cursor belongs to: a trash cursor must not page the live list. */
const listTag = (trashed: boolean): string => (trashed ? 'trash' : 'live');

export function encodeNotesCursor(trashed: boolean, after: DocPosition): string {
  return pack([NOTES_TAG, listTag(trashed), String(after.updated), after.id]);
}

export function decodeNotesCursor(cursor: unknown, trashed: boolean): DocPosition {
  const parts = unpack(cursor, NOTES_TAG);
  if (parts.length !== 3) throw badCursor('malformed');
  const [list, updatedText, id] = parts;
  if (list !== listTag(trashed)) throw badCursor(`it pages the ${list === 'trash' ? 'trash' : 'notes list'}, not the ${listTag(trashed) === 'trash' ? 'trash' : 'notes list'}`);
  const updated = Number(updatedText);
  if (!/^\d{1,16}$/.test(updatedText) || !Number.isSafeInteger(updated)) throw badCursor('malformed position');
  if (!/^[0-9a-z][0-9a-z-]{0,63}$/.test(id)) throw badCursor('malformed position');
  return { updated, id };
}

/** A short fingerprint of the query, so a cursor of one search cannot page another. */
function queryTag(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 11);
}

export function encodeSearchCursor(text: string, offset: number): string {
  return pack([SEARCH_TAG, queryTag(text), String(offset)]);
}

export function decodeSearchCursor(cursor: unknown, text: string): number {
  const parts = unpack(cursor, SEARCH_TAG);
  if (parts.length !== 2 || !/^\d{1,9}$/.test(parts[1])) throw badCursor('malformed');
  if (parts[0] !== queryTag(text)) throw badCursor('it pages another search');
  return Number(parts[1]);
}
