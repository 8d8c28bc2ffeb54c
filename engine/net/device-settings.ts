// This device's own settings that the network needs: its name (told to paired devices) and the
// TCP port it last listened on (reused on the next start, so remembered addresses stay valid).
// Kept in `device.json` in the data directory.

import { hostname } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../core/errors.ts';
import { logger } from '../log.ts';
import { readJsonFile, writeJsonFileAtomic } from './json-file.ts';

const log = logger('device');
export const DEVICE_FILE = 'device.json';
export const MAX_DEVICE_NAME = 64;

export interface DeviceSettings {
  readonly name: string;
  /** The port that worked last time, or null before the first start. */
  readonly port: number | null;
}

/** A name as the user typed it, trimmed; refused when empty, too long or with control characters. */
export function checkDeviceName(name: unknown): string {
  if (typeof name !== 'string') throw new ValidationError('E_INVALID_VALUE', 'a device name is text');
  const trimmed = name.trim();
  if (trimmed.length === 0) throw new ValidationError('E_INVALID_VALUE', 'a device name cannot be empty');
  if ([...trimmed].length > MAX_DEVICE_NAME) throw new ValidationError('E_INVALID_VALUE', `a device name is at most ${MAX_DEVICE_NAME} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw new ValidationError('E_INVALID_VALUE', 'a device name cannot contain control characters');
  return trimmed;
}

export function defaultDeviceName(): string {
  try {
    return checkDeviceName(hostname());
  } catch {
    return 'LAN Notes device';
  }
}

export class DeviceSettingsFile {
  private readonly path: string;
  private current: DeviceSettings;

  private constructor(path: string, current: DeviceSettings) {
    this.path = path;
    this.current = current;
  }

  static open(dataDir: string): DeviceSettingsFile {
    const path = join(dataDir, DEVICE_FILE);
    let doc: unknown = null;
    try {
      doc = readJsonFile(path);
    } catch (err) {
      // Only a name and a port hang on it: start from defaults rather than refuse to start.
      log.warn('device.json is not JSON; using defaults', { err });
    }
    const d = (doc ?? {}) as { name?: unknown; port?: unknown };
    let name = defaultDeviceName();
    try {
      if (d.name !== undefined) name = checkDeviceName(d.name);
    } catch {
      log.warn('device.json has an invalid name; using the host name');
    }
    const port = typeof d.port === 'number' && Number.isInteger(d.port) && d.port > 0 && d.port < 65536 ? d.port : null;
    return new DeviceSettingsFile(path, { name, port });
  }

  get(): DeviceSettings {
    return this.current;
  }

  update(patch: Partial<DeviceSettings>): DeviceSettings {
    const next = { ...this.current, ...patch };
    if (next.name === this.current.name && next.port === this.current.port) return this.current;
    writeJsonFileAtomic(this.path, next);
    this.current = next;
    return next;
  }
}
