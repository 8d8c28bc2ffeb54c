// Small display helpers shared by the views. Pure functions, no React.

export function errorMessage(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e && typeof (e as { message: unknown }).message === 'string') {
    return (e as { message: string }).message;
  }
  return String(e);
}

/** The ApiError code (E_...) of a rejection, also for errors that lost their class crossing Electron's contextBridge. */
export function errorCode(e: unknown): string | null {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') return (e as { code: string }).code;
  // contextBridge keeps only the message of a rejected promise; hosts put the code in front.
  const m = /\b(E_[A-Z0-9_]+)\b/.exec(errorMessage(e));
  return m ? m[1] : null;
}

export function timeAgo(ms: number, now: number = Date.now()): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  return new Date(ms).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function dateTime(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function clockTime(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function skew(ms: number | null): string {
  if (ms === null) return 'unknown';
  const sign = ms > 0 ? '+' : ms < 0 ? '−' : '±';
  return `${sign}${duration(Math.abs(ms))}`;
}

/** A peer id or device id shortened for display: the whole id stays in the title attribute. */
export function shortId(id: string, keep = 6): string {
  return id.length <= keep * 2 + 1 ? id : `${id.slice(0, keep)}…${id.slice(-keep)}`;
}

/** A peer as the user knows it: the name it told us, else its shortened peer id. */
export function peerName(peers: readonly { readonly id: string; readonly name: string | null }[] | undefined, id: string, keep = 6): string {
  return peers?.find((p) => p.id === id)?.name ?? shortId(id, keep);
}

export function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.replace(/^#+\s*/, '').trim();
}

/** The start of a note's text for the list: its non-empty lines joined, without Markdown line markers. */
export function plainExcerpt(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/^\s*(#{1,6}\s+|[-*+]\s+(\[[ xX]\]\s+)?|\d+[.)]\s+|>\s?)/, '').trim())
    .filter((l) => l !== '')
    .join(' · ');
}
