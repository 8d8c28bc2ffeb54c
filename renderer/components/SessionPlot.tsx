// Bytes and duration of each anti-entropy session over time: two small SVG charts sharing the
// time axis. Bars are bytes (sent below received, stacked); dots are durations.

import type { SessionSummary } from '../../app/api.ts';
import { bytes, clockTime, duration } from '../format.ts';

const W = 640;
const H = 96;
const PAD_L = 64;
const PAD_R = 12;

function scaleX(sessions: readonly SessionSummary[]): (t: number) => number {
  const t0 = sessions[0].startedAt;
  const t1 = sessions[sessions.length - 1].startedAt;
  const span = Math.max(1, t1 - t0);
  return sessions.length === 1 ? () => (PAD_L + W - PAD_R) / 2 : (t) => PAD_L + ((t - t0) / span) * (W - PAD_L - PAD_R);
}

export function SessionPlot({ sessions }: { sessions: readonly SessionSummary[] }) {
  if (sessions.length === 0) return <p className="muted" data-testid="debug-plot">No sessions yet.</p>;
  const sorted = [...sessions].sort((a, b) => a.startedAt - b.startedAt);
  const x = scaleX(sorted);
  const maxBytes = Math.max(1, ...sorted.map((s) => s.bytesSent + s.bytesReceived));
  const maxMs = Math.max(1, ...sorted.map((s) => s.durationMs));
  const barW = Math.max(2, Math.min(10, (W - PAD_L - PAD_R) / sorted.length - 2));
  const yB = (v: number): number => ((H - 16) * v) / maxBytes;
  const yD = (v: number): number => H - 8 - ((H - 16) * v) / maxMs;
  const first = sorted[0].startedAt;
  const last = sorted[sorted.length - 1].startedAt;
  const total = sorted.reduce((a, s) => a + s.bytesSent + s.bytesReceived, 0);

  return (
    <figure className="plot" data-testid="debug-plot">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Bytes per session: ${sorted.length} sessions, ${bytes(total)} in all, at most ${bytes(maxBytes)}`}>
        <text x={4} y={12} className="plot-label">bytes</text>
        <text x={PAD_L - 6} y={14} className="plot-tick" textAnchor="end">{bytes(maxBytes)}</text>
        <text x={PAD_L - 6} y={H - 8} className="plot-tick" textAnchor="end">0</text>
        <line x1={PAD_L} x2={W - PAD_R} y1={H - 8} y2={H - 8} className="plot-axis" />
        {sorted.map((s, i) => {
          const cx = x(s.startedAt);
          const hs = yB(s.bytesSent);
          const hr = yB(s.bytesReceived);
          return (
            <g key={`${s.startedAt}-${s.peer}-${i}`} className={s.ok ? '' : 'plot-failed'}>
              <title>{`${clockTime(s.startedAt)} ${s.mode}: ${bytes(s.bytesSent)} sent, ${bytes(s.bytesReceived)} received`}</title>
              <rect x={cx - barW / 2} y={H - 8 - hs} width={barW} height={Math.max(hs, 0.5)} className="plot-sent" />
              <rect x={cx - barW / 2} y={H - 8 - hs - hr} width={barW} height={hr} className="plot-received" />
            </g>
          );
        })}
      </svg>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Duration per session: at most ${duration(maxMs)}`}>
        <text x={4} y={12} className="plot-label">duration</text>
        <text x={PAD_L - 6} y={14} className="plot-tick" textAnchor="end">{duration(maxMs)}</text>
        <text x={PAD_L - 6} y={H - 8} className="plot-tick" textAnchor="end">0</text>
        <line x1={PAD_L} x2={W - PAD_R} y1={H - 8} y2={H - 8} className="plot-axis" />
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
        <span className="plot-range">{clockTime(first)} – {clockTime(last)}</span>
      </figcaption>
    </figure>
  );
}
