// The sidebar list: notes newest first with their sync badges, or the search hits while a
// search is active. A listbox: one tab stop, arrow keys move, Enter opens the editor.

import { useEffect, useRef, type KeyboardEvent } from 'react';
import { firstLine, timeAgo, dateTime } from '../format.ts';

export type Badge = 'conflicted' | 'synced' | 'pending' | 'local-only';

export interface ListItem {
  readonly id: string;
  readonly title: string;
  readonly detail: string;
  readonly updated: number | null;
  readonly badges: readonly Badge[];
}

const BADGE_TEXT: Record<Badge, { label: string; help: string }> = {
  conflicted: { label: 'Conflict', help: 'Edited on two devices at once: both versions are kept until you resolve them' },
  synced: { label: 'Synced', help: 'Just updated from another device' },
  pending: { label: 'Unsaved', help: 'Typed here and not yet acknowledged by the notes store (kept on this device)' },
  'local-only': { label: 'Local', help: 'Not yet sent to any paired device' },
};

interface Props {
  readonly items: readonly ListItem[];
  readonly selectedId: string | null;
  readonly label: string;
  readonly emptyText: string;
  readonly onSelect: (id: string) => void;
  readonly onOpen: (id: string) => void;
}

export function NotesList({ items, selectedId, label, emptyText, onSelect, onOpen }: Props) {
  const listRef = useRef<HTMLUListElement>(null);
  const selectedIndex = items.findIndex((i) => i.id === selectedId);

  // Keep the selected note in view when it changes by keyboard from anywhere.
  useEffect(() => {
    const el = listRef.current?.querySelector<HTMLElement>('[aria-selected="true"]');
    el?.scrollIntoView({ block: 'nearest' });
  }, [selectedId]);

  const onKeyDown = (e: KeyboardEvent<HTMLUListElement>): void => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    let next = -1;
    if (e.key === 'ArrowDown') next = Math.min(items.length - 1, selectedIndex + 1);
    else if (e.key === 'ArrowUp') next = Math.max(0, selectedIndex - 1);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = items.length - 1;
    else if (e.key === 'Enter' && selectedId) {
      e.preventDefault();
      onOpen(selectedId);
      return;
    }
    if (next >= 0 && items[next]) {
      e.preventDefault();
      onSelect(items[next].id);
    }
  };

  if (items.length === 0) return <p className="list-empty muted" data-testid="notes-empty">{emptyText}</p>;

  return (
    <ul
      ref={listRef}
      className="notes-list"
      role="listbox"
      aria-label={label}
      tabIndex={0}
      aria-activedescendant={selectedIndex >= 0 ? `note-${items[selectedIndex].id}` : undefined}
      data-testid="notes-list"
      onKeyDown={onKeyDown}
    >
      {items.map((item) => {
        const title = item.title.trim() || firstLine(item.detail) || 'Untitled';
        return (
          <li
            key={item.id}
            id={`note-${item.id}`}
            role="option"
            aria-selected={item.id === selectedId}
            className="note-item"
            data-testid="note-item"
            data-note-id={item.id}
            onClick={() => onSelect(item.id)}
            onDoubleClick={() => onOpen(item.id)}
          >
            <div className="note-item-top">
              <span className={`note-item-title${item.title.trim() ? '' : ' untitled'}`} data-testid="note-item-title">{title}</span>
              {item.updated !== null && <time className="note-item-time muted" dateTime={new Date(item.updated).toISOString()} title={dateTime(item.updated)}>{timeAgo(item.updated)}</time>}
            </div>
            {(item.detail || item.badges.length > 0) && (
              <div className="note-item-bottom">
                <span className="note-item-detail muted">{item.detail}</span>
                {item.badges.length > 0 && (
                  <span className="badges">
                    {item.badges.map((b) => (
                      <span key={b} className={`badge badge-${b}`} data-testid="note-badge" data-badge={b} title={BADGE_TEXT[b].help}>
                        {BADGE_TEXT[b].label}
                      </span>
                    ))}
                  </span>
                )}
              </div>
            )}
          </li>
        );
      })}
    </ul>
  );
}
