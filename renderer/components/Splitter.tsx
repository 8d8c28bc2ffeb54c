// A vertical splitter between the sidebar and the editor: drag it, or focus it and use the arrow
// keys (Home/End for the limits). Reports the new width; the caller stores it.

import type { KeyboardEvent, PointerEvent } from 'react';

interface Props {
  readonly width: number;
  readonly min: number;
  readonly max: number;
  readonly onChange: (width: number) => void;
  readonly label: string;
}

export function Splitter({ width, min, max, onChange, label }: Props) {
  const clamp = (w: number): number => Math.round(Math.min(max, Math.max(min, w)));

  const onPointerDown = (e: PointerEvent<HTMLDivElement>): void => {
    const el = e.currentTarget;
    el.setPointerCapture(e.pointerId);
    const startX = e.clientX;
    const startW = width;
    const move = (ev: globalThis.PointerEvent): void => onChange(clamp(startW + ev.clientX - startX));
    const up = (): void => {
      el.removeEventListener('pointermove', move);
      el.removeEventListener('pointerup', up);
      el.removeEventListener('pointercancel', up);
    };
    el.addEventListener('pointermove', move);
    el.addEventListener('pointerup', up);
    el.addEventListener('pointercancel', up);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    const step = e.shiftKey ? 64 : 16;
    let w: number | null = null;
    if (e.key === 'ArrowLeft') w = width - step;
    else if (e.key === 'ArrowRight') w = width + step;
    else if (e.key === 'Home') w = min;
    else if (e.key === 'End') w = max;
    if (w !== null) {
      e.preventDefault();
      onChange(clamp(w));
    }
  };

  return (
    <div
      className="splitter"
      role="separator"
      aria-orientation="vertical"
      aria-label={label}
      aria-valuenow={width}
      aria-valuemin={min}
      aria-valuemax={max}
      tabIndex={0}
      data-testid="sidebar-splitter"
      onPointerDown={onPointerDown}
      onKeyDown={onKeyDown}
    />
  );
}
