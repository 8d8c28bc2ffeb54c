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

// ---- Which devices hold a note, progress of a long sync (issue 10) ----

/**
 * "on 2 of 3 devices": of this device's paired devices, how many are proven to hold the note's
 * current versions. Empty with no paired device (nothing to prove: the row shows nothing).
 */
export function devicesText(d: { readonly holding: number; readonly paired: number }): string {
  return d.paired === 0 ? '' : `on ${d.holding} of ${d.paired} devices`;
}

/** One paired device in the note's footer: proven to hold this version, or the engine's reason why not. */
export function holdText(h: { readonly holds: boolean; readonly verifiedAt: number | null; readonly reason: string | null }, now: number = Date.now()): string {
  if (h.holds) return h.verifiedAt === null ? 'has this version' : `has this version · verified ${timeAgo(h.verifiedAt, now)}`;
  return h.reason ?? 'not proven to hold this version yet';
}

/** A peer's watermark, for the debug panel: how much of this device's change log it is proven to hold. */
export function watermarkText(w: { readonly seq: number; readonly ofSeq: number; readonly verifiedAt: number } | null, now: number = Date.now()): string {
  if (w === null) return 'not yet proven to hold anything';
  return `holds ${count(w.seq)} of ${count(w.ofSeq)} changes of this device (verified ${timeAgo(w.verifiedAt, now)})`;
}

/** The badge of a note that just arrived from elsewhere: the device's name when it is known. */
export function updatedOnText(device: string | null): string {
  return `updated on ${device ?? 'another device'}`;
}

/** "about 40 s left", from an extrapolated ETA; empty until there is a rate to extrapolate from. */
export function etaText(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '';
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `about ${s} s left`;
  const m = Math.round(s / 60);
  return m < 60 ? `about ${m} min left` : `about ${Math.floor(m / 60)} h ${m % 60} min left`;
}

/** A large transfer in one line: records, bytes, time left. */
export function progressText(p: { readonly recordsDone: number; readonly recordsTotal: number; readonly bytesDone: number; readonly bytesTotal: number; readonly etaMs: number | null }): string {
  const parts = [`${count(p.recordsDone)} of ${count(p.recordsTotal)} records`, `${megabytes(p.bytesDone)} of ${megabytes(p.bytesTotal)} MB`];
  const eta = etaText(p.etaMs);
  if (eta) parts.push(eta);
  return parts.join(' · ');
}

/** Decimal megabytes with one digit: a progress line changes smoothly instead of jumping units. */
export function megabytes(n: number): string {
  return (n / 1_000_000).toFixed(1);
}

/** A count with thousands separators that do not depend on the browser's locale. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * The engine's reasons carry ISO times ("offline since 2026-12-01T10:00:00.000Z"): shown as a
 * local time (today) or date and time (earlier), the way the rest of the UI shows times.
 */
export function readableTimes(text: string, now: number = Date.now()): string {
  return text.replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\b/g, (iso) => {
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return iso;
    return new Date(ms).toDateString() === new Date(now).toDateString() ? clockTime(ms) : dateTime(ms);
  });
}
