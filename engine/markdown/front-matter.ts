// The mapping between a Markdown file and a note's fields. Pure: text in, fields out, and back.
//
// A file may open with a YAML front-matter block (`---` lines around it), parsed by gray-matter.
// The keys we map are consumed into note fields; every other key stays in the body, in the
// user's own bytes, so an Obsidian `tags:` or `aliases:` line is never lost or reformatted:
//
//   id       the note id (when it is a valid one), so re-importing an export updates, not duplicates
//   title    the title (a string); else the first `# ` heading; else the file name
//   created  ms since the epoch, from a YAML timestamp or a date string
//   updated  same
//   trashed  true: the note is imported into the trash
//
// A key whose value we cannot use (an id of the wrong form, a date that does not parse) is not
// consumed: it stays in the body like any other key. The export writes the same keys back, and
// when the body kept a block of its own, merges our keys into that block, so the round trip
// export -> import gives back the body byte for byte.

import { isDeepStrictEqual } from 'node:util';
import matter from 'gray-matter';
import { validateNoteId } from '../notes.ts';

export const MAPPED_KEYS = ['id', 'title', 'created', 'updated', 'trashed'] as const;
export type MappedKey = (typeof MAPPED_KEYS)[number];

export interface FrontMatterFields {
  readonly id?: string;
  readonly title?: string;
  readonly created?: number;
  readonly updated?: number;
  readonly trashed?: boolean;
}

export interface ParsedFile {
  readonly fields: FrontMatterFields;
  /** The note body: the file minus the consumed front matter. */
  readonly body: string;
}

interface Block {
  /** The opening `---` line with its line ending. */
  readonly open: string;
  /** The YAML lines between the delimiters, each with its line ending. */
  readonly lines: readonly string[];
  /** The closing `---` line with its line ending (none at the end of the file). */
  readonly close: string;
  /** Everything after the block. */
  readonly rest: string;
}

/** Lines of `text`, each keeping its own line ending, so joining them gives back `text`. */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function bare(line: string): string {
  return line.replace(/\r?\n$/, '');
}

/**
 * The front-matter block at the very start of `text`: an opening line that is exactly `---` and
 * the next line that is exactly `---`. No block when there is no closing line (a lone `---` is a
 * thematic break in Markdown, not front matter).
 */
function findBlock(text: string): Block | null {
  const lines = splitLines(text);
  if (lines.length < 2 || bare(lines[0]) !== '---' || !lines[0].endsWith('\n')) return null;
  let offset = lines[0].length;
  for (let i = 1; i < lines.length; i++) {
    if (bare(lines[i]) === '---') {
      return { open: lines[0], lines: lines.slice(1, i), close: lines[i], rest: text.slice(offset + lines[i].length) };
    }
    offset += lines[i].length;
  }
  return null;
}

// gray-matter would otherwise evaluate a `---js` block as code; our blocks open with a bare
// `---` (findBlock), and these engines make sure nothing else is ever evaluated.
const refuse = (): never => {
  throw new Error('only YAML front matter is read');
};
const MATTER_OPTIONS = { engines: { js: refuse, javascript: refuse, coffee: refuse, coffeescript: refuse, cson: refuse } };

/**
 * The YAML data of a block, or null when it is not a mapping or does not parse. The text is
 * rebuilt from the block so gray-matter sees exactly the same delimiters we found.
 */
function parseBlock(block: Block): Record<string, unknown> | null {
  const source = `${block.open}${block.lines.join('')}${block.close.endsWith('\n') ? block.close : `${block.close}\n`}`;
  try {
    // Options (even empty) also keep gray-matter's per-string cache out, which shares data objects.
    const data = matter(source, MATTER_OPTIONS).data as unknown;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return null;
    return data as Record<string, unknown>;
  } catch {
    return null;
  }
}

function timeOf(v: unknown): number | undefined {
  const ms = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

/** The mapped keys whose values we can use, as note fields. */
function consume(data: Record<string, unknown>): { fields: FrontMatterFields; used: Set<MappedKey> } {
  const used = new Set<MappedKey>();
  const fields: { -readonly [K in keyof FrontMatterFields]: FrontMatterFields[K] } = {};
  if (typeof data.id === 'string') {
    try {
      fields.id = validateNoteId(data.id);
      used.add('id');
    } catch {
      // Not one of our ids (another app's): it stays in the body.
    }
  }
  if (typeof data.title === 'string' && data.title.isWellFormed()) {
    fields.title = data.title;
    used.add('title');
  }
  for (const key of ['created', 'updated'] as const) {
    const ms = timeOf(data[key]);
    if (ms !== undefined) {
      fields[key] = ms;
      used.add(key);
    }
  }
  if (typeof data.trashed === 'boolean') {
    fields.trashed = data.trashed;
    used.add('trashed');
  }
  return { fields, used };
}

/** A top-level `key:` line of a block (not indented, not a comment or a list item). */
function topLevelKey(line: string): string | null {
  const m = /^([A-Za-z_][\w-]*)\s*:/.exec(line);
  return m ? m[1] : null;
}

/**
 * The block without the entries of the consumed keys (each key line and its indented
 * continuation lines), or null when the rest would not parse to exactly the unconsumed keys: the
 * caller then keeps the whole block in the body, which loses nothing either.
 */
function withoutConsumed(block: Block, data: Record<string, unknown>, used: ReadonlySet<string>): Block | null {
  const kept: string[] = [];
  let dropping = false;
  for (const line of block.lines) {
    const key = topLevelKey(line);
    if (key !== null) dropping = used.has(key);
    else if (!/^[ \t]/.test(line)) dropping = false;
    if (!dropping) kept.push(line);
  }
  const rest: Block = { ...block, lines: kept };
  const expected = Object.fromEntries(Object.entries(data).filter(([k]) => !used.has(k)));
  const actual = parseBlock(rest);
  return actual !== null && isDeepStrictEqual({ ...actual }, expected) ? rest : null;
}

/** Splits a file's text into the note fields its front matter maps and the body. */
export function parseMarkdown(text: string): ParsedFile {
  const block = findBlock(text);
  if (block === null) return { fields: {}, body: text };
  const data = parseBlock(block);
  // Not YAML, or YAML that is not a mapping: the file is all body, exactly as it was.
  if (data === null) return { fields: {}, body: text };
  const { fields, used } = consume(data);
  const unmapped = Object.keys(data).filter((k) => !used.has(k as MappedKey));
  if (unmapped.length === 0) return { fields, body: block.rest };
  if (used.size === 0) return { fields, body: text };
  const rest = withoutConsumed(block, data, used);
  if (rest === null) return { fields, body: text };
  return { fields, body: `${rest.open}${rest.lines.join('')}${rest.close}${rest.rest}` };
}

/** The first level-1 ATX heading (`# Title`) outside fenced code, without its markers. */
export function titleFromHeading(body: string): string | undefined {
  let fence: string | null = null;
  for (const raw of splitLines(body)) {
    const line = bare(raw);
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === null) fence = f[1][0];
      else if (f[1][0] === fence) fence = null;
      continue;
    }
    if (fence !== null) continue;
    const h = /^ {0,3}#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (h && h[1].trim() !== '') return h[1].trim();
  }
  return undefined;
}

export interface ExportedNote {
  readonly id?: string;
  readonly title: string;
  readonly body: string;
  readonly created: number;
  readonly updated: number;
  readonly trashed?: boolean;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * `id: <id>`, quoted when YAML would read the bare id as something else: a hex id such as
 * `1e49315218218468` or `1234567890123456` is a number to YAML, and an import would then leave the
 * line in the body and give the note a new id (a duplicate on re-import).
 */
function idLine(id: string): string {
  const bare = `id: ${id}\n`;
  const data = parseBlock({ open: '---\n', lines: [bare], close: '---\n', rest: '' });
  return data?.id === id ? bare : `id: ${JSON.stringify(id)}\n`;
}

/**
 * The file for a note: our keys in front matter, then the body. When the body opens with a block
 * of its own that holds none of our keys, our keys go into that block (one block, as other apps
 * expect), and parseMarkdown takes exactly them out again.
 */
export function renderMarkdown(note: ExportedNote): string {
  const ours = [
    ...(note.id === undefined ? [] : [idLine(note.id)]),
    // JSON strings are YAML double-quoted scalars: any title, quotes and all, reads back the same.
    `title: ${JSON.stringify(note.title)}\n`,
    `created: ${iso(note.created)}\n`,
    `updated: ${iso(note.updated)}\n`,
    ...(note.trashed ? ['trashed: true\n'] : []),
  ];
  const block = findBlock(note.body);
  const data = block && parseBlock(block);
  if (block && data && Object.keys(data).length > 0 && !Object.keys(data).some((k) => (MAPPED_KEYS as readonly string[]).includes(k))) {
    const merged = `${block.open}${ours.join('')}${block.lines.join('')}${block.close}${block.rest}`;
    // Only when it reads back to exactly this note; otherwise two blocks, which always does.
    const back = parseMarkdown(merged);
    if (back.body === note.body && back.fields.title === note.title) return merged;
  }
  return `---\n${ours.join('')}---\n${note.body}`;
}
