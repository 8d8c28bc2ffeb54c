// The sidebar list: notes newest first with their sync badges and on how many paired devices each
// is proven to be, or the search hits while a search is active. A listbox: one tab stop, arrow keys move, Enter opens the editor.
// Virtualized: rows have one fixed height and only those in view (plus a margin) are rendered,
// absolutely placed over a spacer as tall as every loaded row; the next page is asked for before
// the view reaches the end of what is loaded.

import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { dateTime, devicesText, firstLine, timeAgo, updatedOnText } from '../format.ts';

export type BadgeKind = 'conflicted' | 'updated' | 'pending' | 'local-only';

/** A badge; `from` names the device an 'updated' note came from (null: not known which). */
export type Badge = { readonly kind: Exclude<BadgeKind, 'updated'> } | { readonly kind: 'updated'; readonly from: string | null };

export interface ListItem {
  readonly id: string;
  readonly title: string;
  readonly detail: string;
  readonly updated: number | null;
  /** Paired devices proven to hold the note (NoteSummary.devices); null when not known (a search hit not loaded). */
  readonly devices: { readonly holding: number; readonly paired: number } | null;
}

const BADGE_TEXT: Record<Exclude<BadgeKind, 'updated'>, { label: string; help: string }> = {
  conflicted: { label: 'Conflict', help: 'Edited on two devices at once: both versions are kept until you resolve them' },
  pending: { label: 'Unsaved', help: 'Typed here and not yet acknowledged by the notes store (kept on this device)' },
  'local-only': { label: 'Local', help: 'Not yet sent to any paired device' },
};

function badgeText(b: Badge): { label: string; help: string } {
  if (b.kind !== 'updated') return BADGE_TEXT[b.kind];
  const text = updatedOnText(b.from);
  // Says where the change came from, not that every device has it: "on N of M devices" says that.
  return { label: text[0].toUpperCase() + text.slice(1), help: `A change to this note just arrived from ${b.from ?? 'another device'}` };
}

interface Props {
  readonly items: readonly ListItem[];
  /** The badges of one row, asked only for the rows on screen. */
  readonly badgesFor: (id: string) => readonly Badge[];
  readonly selectedId: string | null;
  readonly label: string;
  readonly emptyText: string;
  /** More rows exist below the loaded ones (the host's next page). */
  readonly hasMore?: boolean;
  /**
   * Asked when the view comes near the last loaded row, while hasMore; `atEnd` when the view has
   * reached it (the user is waiting, e.g. dragging the scrollbar to the bottom).
   */
  readonly onNearEnd?: (atEnd: boolean) => void;
  readonly onSelect: (id: string) => void;
  readonly onOpen: (id: string) => void;
  /** The ids of the rows in the DOM, whenever they change: the caller refreshes just those. */
  readonly onRowsShown?: (ids: readonly string[]) => void;
}

/** Every row has this height (styles.css .note-item), so a row's place is index x ROW_HEIGHT. */
export const ROW_HEIGHT = 58;
/** Rows rendered above and below the visible ones, so fast scrolling shows no blank band. */
const OVERSCAN = 8;
/** Ask for the next page this many screens before the loaded rows run out. */
const PREFETCH_SCREENS = 3;

export function NotesList({ items, badgesFor, selectedId, label, emptyText, hasMore = false, onNearEnd, onSelect, onOpen, onRowsShown }: Props) {
  const listRef = useRef<HTMLUListElement>(null);
  const [view, setView] = useState({ top: 0, height: 800 });
  const selectedIndex = useMemo(() => items.findIndex((i) => i.id === selectedId), [items, selectedId]);

  // Only the rows in view are in the DOM: the list keeps pace with 100,000 notes.
  const onScroll = useCallback(() => {
    const el = listRef.current;
    if (el) setView({ top: el.scrollTop, height: el.clientHeight });
  }, []);
  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    onScroll();
    const ro = new ResizeObserver(onScroll);
    ro.observe(el);
    return () => ro.disconnect();
  }, [onScroll, items.length === 0]);

  const first = Math.max(0, Math.floor(view.top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(items.length, Math.ceil((view.top + view.height) / ROW_HEIGHT) + OVERSCAN);

  // Sync proofs change without a notes-changed event; the caller refreshes the rows on screen only.
  const shownKey = items.slice(first, last).map((i) => i.id).join(',');
  useEffect(() => {
    onRowsShown?.(shownKey === '' ? [] : shownKey.split(','));
  }, [onRowsShown, shownKey]);
  useEffect(() => () => onRowsShown?.([]), [onRowsShown]);

  useEffect(() => {
    if (hasMore && onNearEnd && (items.length - last) * ROW_HEIGHT < PREFETCH_SCREENS * view.height) onNearEnd(last >= items.length);
  }, [hasMore, onNearEnd, items.length, last, view.height]);

  // Keep the selected note in view when it changes by keyboard from anywhere. Its row may not be
  // in the DOM, so scroll by its computed place.
  useEffect(() => {
    const el = listRef.current;
    if (!el || selectedIndex < 0) return;
    const top = selectedIndex * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_HEIGHT - el.clientHeight;
  }, [selectedId, selectedIndex]);

  const onKeyDown = (e: KeyboardEvent<HTMLUListElement>): void => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    let next = -1;
    const page = Math.max(1, Math.floor((listRef.current?.clientHeight ?? ROW_HEIGHT) / ROW_HEIGHT) - 1);
    if (e.key === 'ArrowDown') next = Math.min(items.length - 1, selectedIndex + 1);
    else if (e.key === 'ArrowUp') next = Math.max(0, selectedIndex - 1);
    else if (e.key === 'PageDown') next = Math.min(items.length - 1, selectedIndex + page);
    else if (e.key === 'PageUp') next = Math.max(0, selectedIndex - page);
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

  const rows: ReactNode[] = [];
  // The selected row stays in the DOM even when scrolled away: aria-activedescendant points at it.
  const indexes = selectedIndex >= 0 && (selectedIndex < first || selectedIndex >= last) ? [selectedIndex] : [];
  for (let i = first; i < last; i++) indexes.push(i);
  for (const i of indexes) {
    const item = items[i];
    const title = item.title.trim() || firstLine(item.detail) || 'Untitled';
    const badges = badgesFor(item.id);
    rows.push(
      <li
        key={item.id}
        id={`note-${item.id}`}
        role="option"
        aria-selected={item.id === selectedId}
        aria-posinset={i + 1}
        aria-setsize={hasMore ? -1 : items.length}
        className="note-item"
        style={{ top: i * ROW_HEIGHT }}
        data-testid="note-item"
        data-note-id={item.id}
        data-index={i}
        onClick={() => onSelect(item.id)}
        onDoubleClick={() => onOpen(item.id)}
      >
        <div className="note-item-top">
          <span className={`note-item-title${item.title.trim() ? '' : ' untitled'}`} data-testid="note-item-title">{title}</span>
          {item.devices && <DevicesHolding devices={item.devices} />}
          {item.updated !== null && <time className="note-item-time muted" dateTime={new Date(item.updated).toISOString()} title={dateTime(item.updated)}>{timeAgo(item.updated)}</time>}
        </div>
        {(item.detail || badges.length > 0) && (
          <div className="note-item-bottom">
            <span className="note-item-detail muted">{item.detail}</span>
            {badges.length > 0 && (
              <span className="badges">
                {badges.map((b) => {
                  const t = badgeText(b);
                  return (
                    <span key={b.kind} className={`badge badge-${b.kind}`} data-testid="note-badge" data-badge={b.kind} title={t.help}>
                      {t.label}
                    </span>
                  );
                })}
              </span>
            )}
          </div>
        )}
      </li>,
    );
  }

  return (
    <ul
      ref={listRef}
      className="notes-list"
      role="listbox"
      aria-label={label}
      aria-busy={hasMore && last >= items.length ? true : undefined}
      tabIndex={0}
      aria-activedescendant={selectedIndex >= 0 ? `note-${items[selectedIndex].id}` : undefined}
      data-testid="notes-list"
      data-rows={items.length}
      data-more={hasMore ? 'true' : 'false'}
      onKeyDown={onKeyDown}
      onScroll={onScroll}
    >
      <li className="notes-list-spacer" aria-hidden="true" role="presentation" style={{ height: items.length * ROW_HEIGHT + (hasMore ? ROW_HEIGHT : 0) }} />
      {rows}
    </ul>
  );
}

/**
 * "on 2 of 3 devices" as a compact device icon with "2/3"; the sentence is the tooltip and the
 * accessible name. Nothing with no paired device.
 */
function DevicesHolding({ devices }: { devices: { readonly holding: number; readonly paired: number } }) {
  const text = devicesText(devices);
  if (!text) return null;
  const state = devices.holding === devices.paired ? 'all' : devices.holding === 0 ? 'none' : 'some';
  return (
    <span className={`note-devices ${state}`} data-testid="note-devices" data-holding={devices.holding} data-paired={devices.paired} title={`${text} (proven by a completed sync)`} aria-label={text} role="img">
      <svg viewBox="0 0 16 12" width="14" height="11" aria-hidden="true" focusable="false">
        <rect x="2.5" y="1" width="11" height="7.5" rx="1" fill="none" stroke="currentColor" strokeWidth="1.4" />
        <path d="M0.5 10.5h15" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" />
      </svg>
      {devices.holding}/{devices.paired}
    </span>
  );
}
