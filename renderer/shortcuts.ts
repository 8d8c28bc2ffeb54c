// Every keyboard shortcut in one table: the global key handler matches against it and the
// shortcuts dialog lists it, so the two cannot drift apart.

export type ShortcutId = 'new-note' | 'search' | 'next-note' | 'prev-note' | 'leave-search' | 'help' | 'view-notes' | 'view-conflicts' | 'view-pairing' | 'view-trash' | 'view-debug';

export interface Shortcut {
  readonly id: ShortcutId;
  readonly label: string;
  /** Human-readable key combinations, any of which triggers it. */
  readonly keys: readonly string[];
  /** Fires even while typing in an input or the editor. */
  readonly whileTyping: boolean;
  readonly match: (e: KeyboardEvent) => boolean;
}

export const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
const MOD = isMac ? '⌘' : 'Ctrl';
const ALT = isMac ? '⌥' : 'Alt';

const mod = (e: KeyboardEvent): boolean => (isMac ? e.metaKey && !e.ctrlKey : e.ctrlKey && !e.metaKey) && !e.altKey;
const onlyAlt = (e: KeyboardEvent): boolean => e.altKey && !e.ctrlKey && !e.metaKey && !e.shiftKey;
const plain = (e: KeyboardEvent): boolean => !e.altKey && !e.ctrlKey && !e.metaKey;

// e.code, not e.key: on a Mac, Option+N types a dead key and e.key is not "n".
export const SHORTCUTS: readonly Shortcut[] = [
  {
    id: 'new-note', label: 'New note', keys: [`${MOD}+N`, `${ALT}+N`], whileTyping: true,
    match: (e) => e.code === 'KeyN' && !e.shiftKey && (mod(e) || onlyAlt(e)),
  },
  {
    id: 'search', label: 'Focus search', keys: [`${MOD}+K`, '/'], whileTyping: true,
    match: (e) => (e.code === 'KeyK' && !e.shiftKey && mod(e)) || (e.key === '/' && plain(e)),
  },
  {
    id: 'next-note', label: 'Next note', keys: [`${ALT}+↓`, `${ALT}+J`], whileTyping: true,
    match: (e) => onlyAlt(e) && (e.key === 'ArrowDown' || e.code === 'KeyJ'),
  },
  {
    id: 'prev-note', label: 'Previous note', keys: [`${ALT}+↑`, `${ALT}+K`], whileTyping: true,
    match: (e) => onlyAlt(e) && (e.key === 'ArrowUp' || e.code === 'KeyK'),
  },
  { id: 'leave-search', label: 'Leave search (clears it)', keys: ['Esc'], whileTyping: true, match: (e) => e.key === 'Escape' && plain(e) },
  { id: 'view-notes', label: 'Notes', keys: [`${ALT}+1`], whileTyping: true, match: (e) => onlyAlt(e) && e.code === 'Digit1' },
  { id: 'view-conflicts', label: 'Conflicts', keys: [`${ALT}+2`], whileTyping: true, match: (e) => onlyAlt(e) && e.code === 'Digit2' },
  { id: 'view-pairing', label: 'Pairing and devices', keys: [`${ALT}+3`], whileTyping: true, match: (e) => onlyAlt(e) && e.code === 'Digit3' },
  { id: 'view-trash', label: 'Trash', keys: [`${ALT}+4`], whileTyping: true, match: (e) => onlyAlt(e) && e.code === 'Digit4' },
  { id: 'view-debug', label: 'Debug panel', keys: [`${ALT}+5`], whileTyping: true, match: (e) => onlyAlt(e) && e.code === 'Digit5' },
  { id: 'help', label: 'Show shortcuts', keys: ['?'], whileTyping: false, match: (e) => e.key === '?' && !e.ctrlKey && !e.metaKey && !e.altKey },
];

/** True while the user is typing somewhere: an input, a textarea or the Markdown editor. */
export function isTyping(e: KeyboardEvent): boolean {
  const path = e.composedPath();
  return path.some((n) => n instanceof HTMLElement && (n.isContentEditable || n.tagName === 'INPUT' || n.tagName === 'TEXTAREA' || n.tagName === 'SELECT'));
}

export function matchShortcut(e: KeyboardEvent): ShortcutId | null {
  if (e.isComposing) return null;
  const typing = isTyping(e);
  for (const s of SHORTCUTS) {
    if (s.match(e) && (s.whileTyping || !typing)) {
      // "/" types a slash while typing; only Ctrl/Cmd+K focuses search from inside a field.
      if (s.id === 'search' && e.key === '/' && typing) continue;
      return s.id;
    }
  }
  return null;
}
