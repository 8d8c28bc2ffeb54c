// Bytes and duration of each anti-entropy session over time: two small SVG charts sharing the
// time axis. Bars are bytes (sent below received, stacked); dots are durations. Drawn at the
// container's measured width, so text and dots keep their size at any width.

import { useEffect, useRef, useState, type ReactNode, type RefObject } from 'react';
import type { SessionSummary } from '../../app/api.ts';
import { bytes, clockTime, duration } from '../format.ts';

const H = 84;
const PAD_L = 56;
const PAD_R = 10;
const TOP = 8;
const BOTTOM = 8;

function useWidth(): [RefObject<HTMLElement | null>, number] {
  const ref = useRef<HTMLElement | null>(null);
  const [width, setWidth] = useState(640);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(([entry]) => setWidth(Math.max(240, Math.round(entry.contentRect.width))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

export function SessionPlot({ sessions }: { sessions: readonly SessionSummary[] }) {
  const [ref, W] = useWidth();
  if (sessions.length === 0) {
    return <figure className="plot" data-testid="debug-plot" ref={ref as RefObject<HTMLElement>}><p className="muted">No sessions yet.</p></figure>;
  }
  const sorted = [...sessions].sort((a, b) => a.startedAt - b.startedAt);
  const t0 = sorted[0].startedAt;
  const t1 = sorted[sorted.length - 1].startedAt;
  const span = Math.max(1, t1 - t0);
  const x = (t: number): number => (sorted.length === 1 ? (PAD_L + W - PAD_R) / 2 : PAD_L + 6 + ((t - t0) / span) * (W - PAD_L - PAD_R - 12));
  const maxBytes = Math.max(1, ...sorted.map((s) => s.bytesSent + s.bytesReceived));
  const maxMs = Math.max(1, ...sorted.map((s) => s.durationMs));
  const barW = Math.max(2, Math.min(10, (W - PAD_L - PAD_R) / sorted.length - 2));
  const base = H - BOTTOM;
  const hB = (v: number): number => ((H - TOP - BOTTOM) * v) / maxBytes;
  const yD = (v: number): number => base - ((H - TOP - BOTTOM) * v) / maxMs;
  const total = sorted.reduce((a, s) => a + s.bytesSent + s.bytesReceived, 0);

  const axis = (top: string): ReactNode => (
    <>
      <text x={PAD_L - 8} y={TOP + 4} className="plot-tick" textAnchor="end">{top}</text>
      <text x={PAD_L - 8} y={base} className="plot-tick" textAnchor="end">0</text>
      <line x1={PAD_L} x2={W - PAD_R} y1={base + 0.5} y2={base + 0.5} className="plot-axis" />
      <line x1={PAD_L} x2={W - PAD_R} y1={TOP + 0.5} y2={TOP + 0.5} className="plot-grid" />
    </>
  );

  return (
    <figure className="plot" data-testid="debug-plot" ref={ref as RefObject<HTMLElement>}>
      <div className="plot-title">Bytes per session (sent + received)</div>
      <svg width={W} height={H} role="img" aria-label={`Bytes per session: ${sorted.length} sessions, ${bytes(total)} in all, at most ${bytes(maxBytes)}`}>
        {axis(bytes(maxBytes))}
        {sorted.map((s, i) => {
          const cx = x(s.startedAt);
          const hs = hB(s.bytesSent);
          const hr = hB(s.bytesReceived);
          return (
            <g key={`${s.startedAt}-${s.peer}-${i}`} className={s.ok ? '' : 'plot-failed'}>
              <title>{`${clockTime(s.startedAt)} ${s.mode}: ${bytes(s.bytesSent)} sent, ${bytes(s.bytesReceived)} received`}</title>
              <rect x={cx - barW / 2} y={base - hs} width={barW} height={Math.max(hs, 1)} className="plot-sent" />
              <rect x={cx - barW / 2} y={base - hs - hr} width={barW} height={hr} className="plot-received" />
            </g>
          );
        })}
      </svg>
      <div className="plot-title">Duration per session</div>
      <svg width={W} height={H} role="img" aria-label={`Duration per session: at most ${duration(maxMs)}`}>
        {axis(duration(maxMs))}
        <polyline points={sorted.map((s) => `${x(s.startedAt)},${yD(s.durationMs)}`).join(' ')} className="plot-line" />
        {sorted.map((s, i) => (
          <circle key={`${s.startedAt}-${s.peer}-${i}`} cx={x(s.startedAt)} cy={yD(s.durationMs)} r={3} className={s.ok ? 'plot-dot' : 'plot-dot failed'}>
            <title>{`${clockTime(s.startedAt)} ${s.mode}: ${duration(s.durationMs)}, ${s.roundTrips} round trips${s.ok ? '' : `, failed: ${s.error ?? ''}`}`}</title>
          </circle>
        ))}
      </svg>
      <figcaption className="muted small plot-caption">
        <span><span className="key key-sent" aria-hidden="true" /> sent</span>
        <span><span className="key key-received" aria-hidden="true" /> received</span>
        <span><span className="key key-duration" aria-hidden="true" /> duration</span>
        <span><span className="key key-failed" aria-hidden="true" /> failed</span>
        <span className="plot-range">{clockTime(t0)} – {clockTime(t1)}</span>
      </figcaption>
    </figure>
  );
}
