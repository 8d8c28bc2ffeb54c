// The paired devices table: every device of this vault this device has met or was told about,
// with its name and the addresses it was last reachable at. It is the app's own memory, persisted
// in `devices.json` in the data directory, because libp2p's peer store forgets (in memory, hides
// addresses after an hour, drops peers after six), and a device must find its partners again
// after a restart on a network where mDNS does not pass.

import { renameSync } from 'node:fs';
import { join } from 'node:path';
import type { DoctorReason } from '../core/doctor.ts';
import { logger } from '../log.ts';
import { readJsonFile, writeJsonFileAtomic } from './json-file.ts';

const log = logger('devices');
export const DEVICES_FILE = 'devices.json';
const FORMAT = 'lan-notes-devices';
const VERSION = 1;
/** Addresses kept per device, newest first. */
export const MAX_DEVICE_ADDRS = 8;

export interface PairedDevice {
  readonly peerId: string;
  readonly name: string | null;
  /** Addresses it listens on, newest first, without the /p2p/<id> suffix. */
  readonly addresses: readonly string[];
  readonly firstSeen: number;
  /** Last time a connection to it was open, or null if never. */
  readonly lastSeen: number | null;
  /** The last problem reaching or syncing with it; cleared when a connection opens. */
  readonly lastError: DoctorReason | null;
  /** It was not connected when the vault key was rotated: it needs a new invite. */
  readonly reinviteNeeded?: boolean;
}

/** Addresses worth dialing later: TCP on a concrete IP (not 0.0.0.0, not a relay), without /p2p. */
export function dialableAddress(addr: string): string | null {
  const m = /^(\/ip[46]\/[^/]+\/tcp\/\d+)(\/p2p\/[^/]+)?$/.exec(addr);
  if (!m) return null;
  if (m[1].startsWith('/ip4/0.0.0.0/') || m[1].startsWith('/ip6/::/')) return null;
  if (/\/tcp\/0$/.test(m[1])) return null;
  return m[1];
}

export class DeviceBook {
  private readonly path: string;
  private readonly devices = new Map<string, PairedDevice>();
  private readonly now: () => number;
  private readonly listeners = new Set<() => void>();

  private constructor(path: string, now: () => number) {
    this.path = path;
    this.now = now;
  }

  static open(dataDir: string, now: () => number = Date.now): DeviceBook {
    const book = new DeviceBook(join(dataDir, DEVICES_FILE), now);
    let doc: unknown = null;
    try {
      doc = readJsonFile(book.path);
    } catch (err) {
      // Remembered addresses are a convenience, not data: keep the bad file for a look, start empty.
      const aside = `${book.path}.unreadable-${now()}`;
      renameSync(book.path, aside);
      log.warn('devices.json was not JSON; moved aside, starting with no remembered devices', { aside, err });
    }
    const d = doc as { format?: unknown; version?: unknown; devices?: unknown } | null;
    if (d !== null && d.format === FORMAT && d.version === VERSION && Array.isArray(d.devices)) {
      for (const raw of d.devices) {
        const dev = parseDevice(raw);
        if (dev) book.devices.set(dev.peerId, dev);
      }
    } else if (d !== null) {
      log.warn('devices.json is not a devices file of a known version; ignoring it');
    }
    return book;
  }

  list(): PairedDevice[] {
    return [...this.devices.values()].sort((a, b) => a.firstSeen - b.firstSeen || (a.peerId < b.peerId ? -1 : 1));
  }

  get(peerId: string): PairedDevice | undefined {
    return this.devices.get(peerId);
  }

  has(peerId: string): boolean {
    return this.devices.has(peerId);
  }

  /** Fires after every change that was saved. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Told about a device (an invite, a manual add): remember its addresses, it was not seen yet. */
  learn(peerId: string, addresses: readonly string[]): void {
    this.put(peerId, (d) => ({ ...d, addresses: mergeAddrs(d.addresses, addresses) }));
  }

  /** A connection to it is open (or just closed): it was seen now, its problem is over. */
  seen(peerId: string, addresses: readonly string[] = []): void {
    this.put(peerId, (d) => ({ ...d, addresses: mergeAddrs(d.addresses, addresses), lastSeen: this.now(), lastError: null, reinviteNeeded: false }));
  }

  /** A connection to it closed: it was last seen now. Only for a device still in the table. */
  left(peerId: string): void {
    if (this.devices.has(peerId)) this.put(peerId, (d) => ({ ...d, lastSeen: this.now() }));
  }

  /**
   * Identify told us where it listens: those replace what we knew (a device that moved port).
   * Like `named`, it only updates a device in the table: a forgotten device whose connection is
   * still closing must not come back.
   */
  listensOn(peerId: string, addresses: readonly string[]): void {
    const fresh = addresses.map(dialableAddress).filter((a): a is string => a !== null);
    if (fresh.length === 0 || !this.devices.has(peerId)) return;
    this.put(peerId, (d) => ({ ...d, addresses: mergeAddrs(fresh, d.addresses.filter((a) => !fresh.includes(a))).slice(0, MAX_DEVICE_ADDRS) }));
  }

  named(peerId: string, name: string): void {
    if (this.devices.has(peerId)) this.put(peerId, (d) => ({ ...d, name }));
  }

  failed(peerId: string, reason: DoctorReason): void {
    if (!this.devices.has(peerId)) return;
    this.put(peerId, (d) => ({ ...d, lastError: reason }));
  }

  /** The vault key was rotated while it was away. */
  needsReinvite(peerId: string): void {
    if (this.devices.has(peerId)) this.put(peerId, (d) => ({ ...d, reinviteNeeded: true }));
  }

  /** Removes it; true if it was there. */
  forget(peerId: string): boolean {
    if (!this.devices.delete(peerId)) return false;
    this.save();
    return true;
  }

  private put(peerId: string, change: (d: PairedDevice) => PairedDevice): void {
    const before = this.devices.get(peerId) ?? { peerId, name: null, addresses: [], firstSeen: this.now(), lastSeen: null, lastError: null };
    const after = change(before);
    if (this.devices.has(peerId) && JSON.stringify(after) === JSON.stringify(before)) return;
    this.devices.set(peerId, after);
    this.save();
  }

  private save(): void {
    try {
      writeJsonFileAtomic(this.path, { format: FORMAT, version: VERSION, devices: this.list() });
    } catch (err) {
      // The table in memory still works for this run; the next change tries to save again.
      log.error('could not save devices.json', { err });
    }
    for (const l of this.listeners) l();
  }
}

function mergeAddrs(first: readonly string[], then: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of [...first, ...then]) {
    const d = dialableAddress(a);
    if (d !== null && !out.includes(d)) out.push(d);
  }
  return out.slice(0, MAX_DEVICE_ADDRS);
}

function parseDevice(raw: unknown): PairedDevice | null {
  const r = raw as Partial<Record<keyof PairedDevice, unknown>> | null;
  if (r === null || typeof r !== 'object' || typeof r.peerId !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{40,60}$/.test(r.peerId)) return null;
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const err = r.lastError as { code?: unknown; message?: unknown; at?: unknown } | null | undefined;
  return {
    peerId: r.peerId,
    name: typeof r.name === 'string' ? r.name.slice(0, 64) : null,
    addresses: Array.isArray(r.addresses) ? mergeAddrs(r.addresses.filter((a): a is string => typeof a === 'string'), []) : [],
    firstSeen: num(r.firstSeen) ?? 0,
    lastSeen: num(r.lastSeen),
    reinviteNeeded: r.reinviteNeeded === true,
    lastError: err && typeof err.code === 'string' && typeof err.message === 'string' && typeof err.at === 'number'
      ? (err as DoctorReason) : null,
  };
}
