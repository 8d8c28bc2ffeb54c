// File and folder names for exported notes that are valid on Linux, macOS and Windows at once,
// and unique where those systems compare names loosely (Windows and macOS ignore case; macOS also
// treats canonically equivalent Unicode as one name). Pure: strings in, strings out.

/** Characters Windows refuses in a name, plus the separators of every system and control codes. */
const FORBIDDEN = /[<>:"/\\|?*\u0000-\u001f\u007f]/g;
/** Device names Windows reserves, whatever the extension ("con.md" cannot be created either). */
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i;
/**
 * Every common file system allows 255 bytes of UTF-8 (Linux, APFS) or 255 UTF-16 units (NTFS) per
 * name. The stem stops well short so a " (conflict from <device>)" or " (12)" suffix and the
 * extension always fit.
 */
const MAX_STEM_BYTES = 180;
export const MAX_NAME_BYTES = 255;
const UNTITLED = 'Untitled';
const encoder = new TextEncoder();

function utf8Length(s: string): number {
  return encoder.encode(s).length;
}

/** Cuts `s` to at most `max` bytes of UTF-8 without splitting a character. */
function truncateBytes(s: string, max: number): string {
  if (utf8Length(s) <= max) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = utf8Length(ch);
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/**
 * One path segment (a file's stem or a folder) safe everywhere: forbidden characters become "_",
 * a leading dot (a hidden file) becomes "_", trailing dots and spaces (dropped by Windows) are
 * removed, reserved device names get a "_" suffix, and the length is capped. Never empty.
 */
export function safeSegment(name: string, fallback: string = UNTITLED): string {
  let s = name.normalize('NFC').replace(FORBIDDEN, '_');
  if (!s.isWellFormed()) s = s.toWellFormed();
  s = truncateBytes(s.trim(), MAX_STEM_BYTES);
  s = s.replace(/[. ]+$/u, '');
  if (s.startsWith('.')) s = `_${s.slice(1)}`;
  if (s === '') return fallback;
  const stem = s.split('.')[0].trimEnd();
  if (RESERVED.test(stem)) s = `${stem}_${s.slice(stem.length)}`;
  return s;
}

/** The key under which two names are one file on a case-insensitive, normalizing file system. */
export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/** Hands out unique file names per folder, comparing names the way the loosest system does. */
export class NameAllocator {
  private readonly taken = new Set<string>();

  /**
   * A unique `<folder>/<stem><suffix><ext>` path ('/'-separated; folder '' is the top). On a clash
   * the name gets " (2)", " (3)", ... before the extension.
   */
  take(folder: string, stem: string, ext: string, suffix: string = ''): string {
    const dir = folder === '' ? '' : `${folder}/`;
    for (let n = 1; ; n++) {
      const counter = n === 1 ? '' : ` (${n})`;
      const name = `${stem}${suffix}${counter}${ext}`;
      const key = nameKey(dir + name);
      if (!this.taken.has(key)) {
        this.taken.add(key);
        return dir + name;
      }
    }
  }
}

/** A folder path of the vault ('/'-separated) made of safe segments; '' stays the top. */
export function safeFolder(folder: string): string {
  if (folder === '') return '';
  return folder.split('/').filter((s) => s !== '').map((s) => safeSegment(s, '_')).join('/');
}

/** Whether a single name would be accepted by Linux, macOS and Windows alike (used by tests and checks). */
export function isPortableName(name: string): boolean {
  if (name === '' || name === '.' || name === '..') return false;
  if (new RegExp(FORBIDDEN.source).test(name)) return false;
  if (/[. ]$/.test(name)) return false;
  if (RESERVED.test(name.split('.')[0].trimEnd())) return false;
  if (!name.isWellFormed()) return false;
  return utf8Length(name) <= MAX_NAME_BYTES && name.length <= MAX_NAME_BYTES;
}
