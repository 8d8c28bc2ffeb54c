// Bounded binary reader/writer shared by the record codec and the anti-entropy frames. Every read
// checks the remaining length, so truncated or hostile input becomes a ProtocolError, never an
// out-of-bounds read or a huge allocation.

import { ProtocolError } from './errors.ts';

const encoder = new TextEncoder();
// ignoreBOM: a text that starts with U+FEFF keeps it (the default would drop it, and a record
// would then hash and merge as a different one on every replica that decodes it).
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes of the LEB128 varint of n. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.length++] = v;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.length, v >>> 0);
    this.length += 4;
    return this;
  }

  /** Unsigned LEB128 for integers up to 2^53 - 1. */
  varint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint out of range: ${v}`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  /** Length-prefixed bytes. */
  blob(b: Uint8Array): this {
    return this.varint(b.length).bytes(b);
  }

  string(s: string): this {
    // Short text that is all ASCII (keys, dates, flags, most titles) is copied one unit per byte:
    // cheaper than setting up encodeInto. Anything else takes the general path below.
    if (s.length < 0x80) {
      this.ensure(1 + s.length);
      const start = this.length;
      const buf = this.buf;
      buf[start] = s.length;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + 1 + i] = c;
      }
      if (i === s.length) {
        this.length = start + 1 + s.length;
        return this;
      }
    }
    // Encoded in place (no temporary copy) behind room for the longest length prefix it could
    // need; when the real length needs fewer bytes, the text moves back so the varint stays minimal.
    // Room for ASCII first (the common case), and at least varint()'s own reservation, so
    // writing the prefix never regrows (and drops) the text; other text gets its worst case.
    const room = varintSize(s.length * 3);
    this.ensure(Math.max(8, room + s.length));
    const first = encoder.encodeInto(s, this.buf.subarray(this.length + room));
    let written = first.written;
    if (first.read < s.length) {
      this.ensure(room + s.length * 3);
      ({ written } = encoder.encodeInto(s, this.buf.subarray(this.length + room)));
    }
    const size = varintSize(written);
    if (size < room) this.buf.copyWithin(this.length + size, this.length + room, this.length + room + written);
    this.varint(written);
    this.length += written;
    return this;
  }

  /** Empties the writer for reuse; a buffer grown past `keepBytes` is dropped, not kept. */
  reset(keepBytes: number): void {
    this.length = 0;
    if (this.buf.length > keepBytes) {
      this.buf = new Uint8Array(keepBytes);
      this.view = new DataView(this.buf.buffer);
    }
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  /** Copies what was written to the start of `out`, without a view of the writer's buffer. */
  copyTo(out: Uint8Array): void {
    const n = this.length;
    const buf = this.buf;
    // A loop for short records (most of them): cheaper than building a view to hand to set().
    if (n <= 256) for (let i = 0; i < n; i++) out[i] = buf[i];
    else out.set(buf.subarray(0, n));
  }
}

export class ByteReader {
  private readonly buf: Uint8Array;
  /** Made on first use: only 4-byte key ids read through it, and most readers read one record. */
  private view: DataView | null = null;
  /** A plain Uint8Array over a whole buffer of its own: views into it can outlive the read. */
  private readonly ownBuffer: boolean;
  offset = 0;
  /** Varints read so far with a redundant trailing zero group (not the shortest encoding). */
  longVarints = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    // A Buffer may be a slice of a shared pool that later allocations overwrite.
    this.ownBuffer = !Buffer.isBuffer(buf) && buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) {
      throw new ProtocolError('E_FRAME_MALFORMED', `truncated input: ${what} needs ${n} bytes, ${this.remaining} left`, { offset: this.offset });
    }
  }

  u8(what = 'byte'): number {
    this.need(1, what);
    return this.buf[this.offset++];
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  varint(what = 'varint', max = Number.MAX_SAFE_INTEGER): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8(what);
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) this.longVarints++;
        if (result > max) throw new ProtocolError('E_FRAME_MALFORMED', `${what} is ${result}, more than the limit ${max}`, { offset: this.offset });
        return result;
      }
      scale *= 0x80;
    }
    throw new ProtocolError('E_FRAME_MALFORMED', `${what}: varint longer than 8 bytes`, { offset: this.offset });
  }

  bytes(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  blob(what: string, max: number): Uint8Array {
    // Every string of every record goes through here, so the error's label ("key length") is
    // built only when there is an error: the length is read again with it, and fails the same way.
    const at = this.offset;
    let n: number;
    try {
      n = this.varint('length', max);
    } catch {
      this.offset = at;
      n = this.varint(`${what} length`, max);
    }
    return this.bytes(n, what);
  }

  string(what: string, max: number): string {
    const raw = this.blob(what, max);
    try {
      return decoder.decode(raw);
    } catch {
      throw new ProtocolError('E_FRAME_MALFORMED', `${what} is not valid UTF-8`, { offset: this.offset });
    }
  }

  /** The bytes read since `start` (an earlier offset), to keep: a view when that is safe, else a copy. */
  keep(start: number): Uint8Array {
    const view = this.buf.subarray(start, this.offset);
    return this.ownBuffer ? view : new Uint8Array(view);
  }

  end(what: string): void {
    if (this.remaining !== 0) throw new ProtocolError('E_FRAME_MALFORMED', `${this.remaining} unexpected bytes after ${what}`, { offset: this.offset });
  }
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

const hexCache = new Map<string, Uint8Array>();

/** Device ids recur in every record; their bytes are cached (a bounded number of them). */
export function fromHex(s: string): Uint8Array {
  const hit = hexCache.get(s);
  if (hit !== undefined) return hit;
  const bytes = new Uint8Array(Buffer.from(s, 'hex'));
  if (s.length <= 32 && hexCache.size < 4096) hexCache.set(s, bytes);
  return bytes;
}
