// Opens a data directory's notes database as a replica, and what happens when it is damaged: the
// host decides (the headless peer by its --start-fresh flag, the desktop app by asking), and on
// "start fresh" the damaged file is kept aside, whatever SQLite can still read of it is written
// to recovered-<time>.json, and a new empty store takes its place; the same vault and identity
// stay, so paired devices fill it again by anti-entropy.

import { join } from 'node:path';
import { StoreError } from './core/errors.ts';
import { logger } from './log.ts';
import { Replica, type ReplicaOptions } from './replica.ts';
import { fileTime, isStoreDamage, readNoteList, salvageNotes, setAsideDamaged, writeRecovered, type Salvage } from './store/damage.ts';
import { SqliteStore } from './store/sqlite.ts';

export const STORE_FILE = 'notes.db';
const log = logger('store');

/** What the host is told about a damaged store before it decides. */
export interface StoreDamage {
  readonly file: string;
  /** SQLite's (or the store's) own words, e.g. "database disk image is malformed". */
  readonly reason: string;
  /** What could still be read from it, read from a copy: the file itself is untouched so far. */
  readonly salvage: Salvage;
}

export type DamageDecision = 'start-fresh' | 'stop';

/** What starting fresh did, for the host to tell the user. */
export interface FreshStart {
  /** Where the damaged database now is (never deleted). */
  readonly damagedPath: string;
  /** The notes still readable from it, as JSON. */
  readonly recoveredPath: string;
  readonly notes: number;
  readonly problems: readonly string[];
}

/** The store is damaged and the host chose not to start fresh; nothing was changed. */
export class StoreDamagedError extends StoreError {
  readonly damage: StoreDamage;
  constructor(damage: StoreDamage) {
    super('E_STORE_DAMAGED', `${damage.file} is damaged (${damage.reason}); it was left as it is. ` +
      `${damage.salvage.notes.length} note(s) can still be read from it.`, { path: damage.file, reason: damage.reason, readableNotes: damage.salvage.notes.length });
    this.name = 'StoreDamagedError';
    this.damage = damage;
  }
}

export interface OpenReplicaOptions extends ReplicaOptions {
  /** Asked when the store is damaged; without it, a damaged store throws StoreDamagedError. */
  readonly onDamagedStore?: (damage: StoreDamage) => DamageDecision | Promise<DamageDecision>;
}

export interface OpenedReplica {
  readonly store: SqliteStore;
  readonly replica: Replica;
  /** Set when this open started fresh from a damaged store. */
  readonly freshStart: FreshStart | null;
}

/** Opens the store, reads every record (for the Merkle leaves) and the whole note list. */
function openAndLoad(file: string, opts: ReplicaOptions): { store: SqliteStore; replica: Replica } {
  const store = SqliteStore.open(file);
  try {
    const replica = Replica.open(store, opts);
    readNoteList(file);
    return { store, replica };
  } catch (e) {
    store.close();
    throw e;
  }
}

/**
 * The data directory must already be locked by this process (engine/store/dir-lock.ts): setting
 * a file aside while another process has it open would split the notes in two.
 */
export async function openReplica(dataDir: string, opts: OpenReplicaOptions = {}): Promise<OpenedReplica> {
  const file = join(dataDir, STORE_FILE);
  try {
    return { ...openAndLoad(file, opts), freshStart: null };
  } catch (e) {
    if (!isStoreDamage(e)) throw e;
    const reason = e instanceof StoreError ? e.message : `SQLite: ${(e as Error).message}`;
    const damage: StoreDamage = { file, reason, salvage: salvageNotes(file) };
    log.error('the notes database is damaged', { file, reason, readableNotes: damage.salvage.notes.length, problems: damage.salvage.problems });
    const decision = opts.onDamagedStore === undefined ? 'stop' : await opts.onDamagedStore(damage);
    if (decision !== 'start-fresh') throw new StoreDamagedError(damage);
    const time = fileTime((opts.now ?? Date.now)());
    const damagedPath = setAsideDamaged(file, time);
    const recoveredPath = writeRecovered(file, time, damagedPath, damage.salvage);
    const freshStart: FreshStart = { damagedPath, recoveredPath, notes: damage.salvage.notes.length, problems: damage.salvage.problems };
    log.warn('started fresh: the damaged database was kept aside', { ...freshStart });
    return { ...openAndLoad(file, opts), freshStart };
  }
}
