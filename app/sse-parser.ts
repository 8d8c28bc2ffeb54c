// A server-sent-events parser for text arriving in arbitrary chunks (the WHATWG "event stream"
// rules that matter here): lines end in \n, \r\n or \r, possibly split across chunks; `:` starts
// a comment; `data:` lines accumulate; a blank line dispatches. No Node or DOM imports, so the
// renderer can use it through app/http-client.ts.

export interface SseMessage {
  readonly event: string;
  readonly data: string;
}

/** A line longer than this is not a real event from our server; refuse rather than buffer it. */
const MAX_PENDING_CHARS = 16 * 1024 * 1024;

export class SseParser {
  private pending = '';
  private data: string[] = [];
  private event = '';

  /** Feeds one decoded chunk; returns the messages it completed. */
  push(chunk: string): SseMessage[] {
    const out: SseMessage[] = [];
    let text = this.pending + chunk;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      // A \r at the end of a chunk may be the first half of \r\n: decide when more arrives.
      if (c === 13 && i + 1 === text.length) break;
      this.line(text.slice(start, i), out);
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    text = text.slice(start);
    if (text.length > MAX_PENDING_CHARS) throw new Error('event stream line too long');
    this.pending = text;
    return out;
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n') });
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    // id and retry are not used: our client keeps its own backoff and the server does not replay.
  }
}
