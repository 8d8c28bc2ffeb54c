// What both hosts tell the user when their notes folder cannot be used as it is: another process
// owns it (engine/store/dir-lock.ts), or its database is damaged (engine/open-replica.ts). The
// words, the desktop app's prompt and what its answer means live here, under plain Node, so they
// are tested without Electron; app/electron/main.ts only shows them.

import { DirLockedError } from '../engine/store/dir-lock.ts';
import { StoreDamagedError, type DamageDecision, type FreshStart, type StoreDamage } from '../engine/open-replica.ts';
import { basename } from 'node:path';

/** Exit codes scripts (and npm start) can tell apart from a plain failure (1) or bad arguments (2). */
export const EXIT_DIR_LOCKED = 75; // EX_TEMPFAIL: try again once the other process is gone
export const EXIT_STORE_DAMAGED = 65; // EX_DATAERR

export function exitCodeFor(e: unknown): number {
  if (e instanceof DirLockedError) return EXIT_DIR_LOCKED;
  if (e instanceof StoreDamagedError) return EXIT_STORE_DAMAGED;
  return 1;
}

const SHOWN_TITLES = 5;

/** What can still be read, in one sentence with a few titles the user will recognise. */
export function readableSummary(d: StoreDamage): string {
  const notes = d.salvage.notes;
  if (notes.length === 0) {
    const why = d.salvage.problems.length > 0 ? ` (${d.salvage.problems.join('; ')})` : '';
    return `No note can be read from it any more${why}.`;
  }
  const titles = notes.slice(0, SHOWN_TITLES).map((n) => JSON.stringify(n.title.trim() === '' ? n.body.trim().split('\n')[0].slice(0, 40) || '(empty note)' : n.title));
  const more = notes.length > SHOWN_TITLES ? ` and ${notes.length - SHOWN_TITLES} more` : '';
  const partly = d.salvage.problems.length > 0 ? ' (parts of the file are unreadable)' : '';
  return `${notes.length} note${notes.length === 1 ? '' : 's'} can still be read from it${partly}: ${titles.join(', ')}${more}.`;
}

/** What "start fresh" will do, the same promise for the flag and the button. */
function freshPlan(d: StoreDamage): string {
  const name = basename(d.file);
  return `Starting fresh keeps the damaged file as ${name}.damaged-<time> (it is never deleted), writes the notes still readable in it to ` +
    'recovered-<time>.json in the same folder, and opens a new, empty database with the same vault and device identity: your notes come back from your ' +
    'paired devices by themselves. Notes this device alone held are in recovered-<time>.json, as far as SQLite could still read them.';
}

/** The headless peer's message when it stops (no --start-fresh). */
export function damagedStoreMessage(d: StoreDamage): string {
  return [
    `Your notes database ${d.file} is damaged: ${d.reason}`,
    'The peer stopped and changed nothing.',
    readableSummary(d),
    `To start fresh from your other devices, start the peer again with --start-fresh. ${freshPlan(d)}`,
  ].join('\n');
}

/** What starting fresh did, for the log and the terminal (or a notice in the desktop app). */
export function freshStartMessage(f: FreshStart): string {
  const got = f.notes === 0 ? 'No note could be read from it' : `${f.notes} note${f.notes === 1 ? '' : 's'} read from it ${f.notes === 1 ? 'is' : 'are'} in ${f.recoveredPath}`;
  return `Started fresh: the damaged notes database was kept as ${f.damagedPath}. ${got}. ` +
    'Notes your paired devices hold come back as they sync; anything only this device held is in that file.';
}

/** Electron's dialog.showMessageBox options, as plain data. */
export interface PromptSpec {
  readonly type: 'warning' | 'info';
  readonly title: string;
  readonly message: string;
  readonly detail: string;
  readonly buttons: string[];
  readonly defaultId: number;
  readonly cancelId: number;
  readonly noLink: true;
}

const START_FRESH = 0;
const QUIT = 1;

export function damagedStorePrompt(d: StoreDamage): PromptSpec {
  return {
    type: 'warning',
    title: 'LAN Notes: your notes database is damaged',
    message: 'Your notes database is damaged and cannot be opened.',
    detail: [`${d.file}: ${d.reason}`, readableSummary(d), freshPlan(d), 'Quit leaves everything as it is.'].join('\n\n'),
    buttons: ['Start fresh from my other devices', 'Quit'],
    defaultId: QUIT,
    cancelId: QUIT,
    noLink: true,
  };
}

/** The answer to damagedStorePrompt: only the explicit button starts fresh; closing the box quits. */
export function decisionFor(response: number): DamageDecision {
  return response === START_FRESH ? 'start-fresh' : 'stop';
}

export function freshStartNotice(f: FreshStart): PromptSpec {
  return {
    type: 'info', title: 'LAN Notes started fresh', message: 'LAN Notes started with a new, empty notes database.',
    detail: freshStartMessage(f), buttons: ['OK'], defaultId: 0, cancelId: 0, noLink: true,
  };
}
