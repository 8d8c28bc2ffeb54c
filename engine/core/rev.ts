// A note's `rev`: which versions of its text fields the reader saw, so that a save can name its
// base. It is opaque to callers; inside it lists, per field, the dots (device, counter) of the
// versions holding the text the reader was shown (twins with identical text included):
//
//   <title part>_<body part>        part: <shown dots>[!<other dots>]
//                                   dots: <device>.<counter>[,<device>.<counter>...]
//
// "shown" are the versions holding the text the reader was given (the winner and any twin with
// identical text); "other" are the field's other concurrent versions (the conflict the reader
// was shown).
// A device repeated from the dot before it is left out (".7" after "0123456789abcdef.5"), so the
// usual rev of a note last edited on one laptop is ~40 characters. An empty list means the field
// held nothing when read.

import { isDeviceId } from './codec.ts';
import { ValidationError } from './errors.ts';
import { MAX_VERSIONS } from './limits.ts';
import { compareDots, type Dot } from './record.ts';
import type { TextField } from './note-types.ts';

export interface FieldRev {
  readonly shown: readonly Dot[];
  readonly other: readonly Dot[];
}

export type Rev = Readonly<Record<TextField, FieldRev>>;

/** Longer than any rev this engine writes (2 fields x 64 dots x ~30 characters). */
export const MAX_REV_CHARS = 4096;

const COUNTER_RE = /^[1-9][0-9]{0,15}$/;

export function encodeRev(rev: Rev): string {
  let last = '';
  const part = (dots: readonly Dot[]): string => [...dots].sort(compareDots).map((d) => {
    const device = d.device === last ? '' : d.device;
    last = d.device;
    return `${device}.${d.counter}`;
  }).join(',');
  const field = (f: FieldRev): string => part(f.shown) + (f.other.length > 0 ? `!${part(f.other)}` : '');
  return `${field(rev.title)}_${field(rev.body)}`;
}

function invalid(message: string): ValidationError {
  return new ValidationError('E_INVALID_BASE', `base is not a rev of a note: ${message}`);
}

/** The dots of a rev; anything that is not exactly what encodeRev writes is E_INVALID_BASE. */
export function decodeRev(rev: unknown): Rev {
  if (typeof rev !== 'string') throw invalid('it must be a string (the `rev` of the note you edited)');
  if (rev.length > MAX_REV_CHARS) throw invalid(`it is longer than ${MAX_REV_CHARS} characters`);
  const parts = rev.split('_');
  if (parts.length !== 2) throw invalid('expected two parts separated by "_"');
  let last = '';
  const field = (s: string): Dot[] => {
    if (s === '') return [];
    const items = s.split(',');
    if (items.length > MAX_VERSIONS) throw invalid(`more than ${MAX_VERSIONS} versions in one field`);
    return items.map((item) => {
      const dotAt = item.lastIndexOf('.');
      if (dotAt < 0) throw invalid(`"${item.slice(0, 40)}" is not <device>.<counter>`);
      const device = dotAt === 0 ? last : item.slice(0, dotAt);
      const counter = item.slice(dotAt + 1);
      if (!isDeviceId(device)) throw invalid(`"${device.slice(0, 40)}" is not a device id`);
      if (!COUNTER_RE.test(counter) || !Number.isSafeInteger(Number(counter))) throw invalid(`"${counter.slice(0, 20)}" is not a write counter`);
      last = device;
      return { device, counter: Number(counter) };
    });
  };
  const both = (s: string): FieldRev => {
    const [shown, other, extra] = s.split('!');
    if (extra !== undefined) throw invalid('more than one "!" in a field');
    return { shown: field(shown), other: field(other ?? '') };
  };
  const out = { title: both(parts[0]), body: both(parts[1]) };
  // Canonical form only: two spellings of one rev would be two different opaque strings.
  if (encodeRev(out) !== rev) throw invalid('it is not in canonical form');
  return out;
}
