// Length-prefixed frames over a byte stream, independent of libp2p: an unsigned-varint (LEB128)
// length, then that many bytes. The reader refuses a length over its limit as soon as the prefix
// says so, before reading (or buffering) any of the body, so a hostile peer cannot make us
// allocate or wait for a huge frame. engine/net/p2p.ts adapts libp2p streams to these pieces.

import { ProtocolError } from './errors.ts';

/** A chunk as streams deliver it: bytes, or a list of buffers that can be flattened (Uint8ArrayList). */
export type Chunk = Uint8Array | { subarray(): Uint8Array };

/** A length prefix longer than this many bytes is refused whatever its value (2^56 > any limit). */
const MAX_PREFIX_BYTES = 8;

export function encodeFrame(frame: Uint8Array): Uint8Array {
  let n = frame.length;
  const prefix: number[] = [];
  while (n >= 0x80) {
    prefix.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 0x80);
  }
  prefix.push(n);
  const out = new Uint8Array(prefix.length + frame.length);
  out.set(prefix, 0);
  out.set(frame, prefix.length);
  return out;
}

/** Resolves like `p`, or rejects with the signal's reason as soon as it aborts (p keeps running). */
export function raceSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export class FrameReader {
  private readonly source: AsyncIterator<Chunk>;
  private readonly maxFrameBytes: number;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private ended = false;
  // A read from the source that outlived an aborted next(): the next call picks it up, so an
  // abort loses no bytes and the reader stays usable.
  private pending: Promise<IteratorResult<Chunk>> | null = null;
  private reading = false;

  constructor(source: AsyncIterable<Chunk> | AsyncIterator<Chunk>, maxFrameBytes: number) {
    this.source = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source;
    this.maxFrameBytes = maxFrameBytes;
  }

  /** The next frame, or null when the stream ended cleanly between frames. */
  async next(signal: AbortSignal): Promise<Uint8Array | null> {
    if (this.reading) throw new Error('FrameReader.next() called while another call is pending');
    this.reading = true;
    try {
      let prefix: { length: number; size: number } | null;
      while ((prefix = this.parsePrefix()) === null) {
        if (!(await this.fill(signal))) {
          if (this.buffered === 0) return null;
          throw new ProtocolError('E_FRAME_MALFORMED', 'stream ended inside a length prefix');
        }
      }
      this.consume(prefix.size);
      while (this.buffered < prefix.length) {
        if (!(await this.fill(signal))) {
          throw new ProtocolError('E_FRAME_MALFORMED', `stream ended inside a frame (${this.buffered} of ${prefix.length} bytes)`);
        }
      }
      return this.consume(prefix.length);
    } finally {
      this.reading = false;
    }
  }

  async *frames(signal: AbortSignal): AsyncGenerator<Uint8Array> {
    for (let f = await this.next(signal); f !== null; f = await this.next(signal)) yield f;
  }

  /** Parses the buffered prefix; null if incomplete. Throws as soon as the value is over the limit. */
  private parsePrefix(): { length: number; size: number } | null {
    let value = 0;
    let scale = 1;
    let size = 0;
    for (const chunk of this.chunks) {
      for (const byte of chunk) {
        value += (byte & 0x7f) * scale;
        size++;
        // Later bytes can only add to the value, so a partial prefix already over the limit is
        // refused without waiting for the rest of it.
        if (value > this.maxFrameBytes || (size >= MAX_PREFIX_BYTES && byte & 0x80)) {
          throw new ProtocolError('E_FRAME_TOO_LARGE', `frame length over the limit of ${this.maxFrameBytes} bytes`, { limit: this.maxFrameBytes, atLeast: value });
        }
        if ((byte & 0x80) === 0) return { length: value, size };
        scale *= 0x80;
      }
    }
    return null;
  }

  private async fill(signal: AbortSignal): Promise<boolean> {
    if (this.ended) return false;
    if (this.pending === null) {
      this.pending = this.source.next();
      this.pending.catch(() => undefined); // observed below or by the next call; never unhandled
    }
    let result: IteratorResult<Chunk>;
    try {
      result = await raceSignal(this.pending, signal);
    } catch (err) {
      if (signal.aborted && err === signal.reason) throw err;
      this.pending = null;
      this.ended = true;
      throw new ProtocolError('E_PEER_ERROR', `stream failed: ${(err as Error)?.message ?? String(err)}`);
    }
    this.pending = null;
    if (result.done) {
      this.ended = true;
      return false;
    }
    const bytes = result.value instanceof Uint8Array ? result.value : result.value.subarray();
    if (bytes.length > 0) {
      this.chunks.push(bytes);
      this.buffered += bytes.length;
    }
    return true;
  }

  private consume(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      // The common case: the frame sits in one chunk.
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return new Uint8Array(first.subarray(0, n)); // a copy, and a plain Uint8Array even if chunks are Buffers
    }
    const out = new Uint8Array(n);
    let at = 0;
    let used = 0;
    while (at < n) {
      const chunk = this.chunks[used];
      const take = Math.min(chunk.length, n - at);
      out.set(chunk.subarray(0, take), at);
      at += take;
      if (take === chunk.length) used++;
      else this.chunks[used] = chunk.subarray(take);
    }
    this.chunks.splice(0, used); // once per frame, not once per chunk
    this.buffered -= n;
    return out;
  }
}

interface Queued {
  readonly bytes: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * The writing half: an async iterable that a stream's sink consumes. `push` resolves once the
 * sink has taken the bytes, so a slow reader on the other side slows the writer down instead of
 * growing a queue here.
 */
export class Outbox implements AsyncIterable<Uint8Array> {
  private readonly queue: Queued[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  private failure: unknown = null;

  push(bytes: Uint8Array): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.ended) return Promise.reject(new ProtocolError('E_PROTOCOL_STATE', 'stream already closed for writing'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes, resolve, reject });
      this.wake?.();
    });
  }

  /** No more pushes; the iterable ends once the queue is drained. */
  end(): void {
    this.ended = true;
    this.wake?.();
  }

  /** The sink is gone: every queued and future push rejects with `err`. */
  fail(err: unknown): void {
    if (this.failure === null) this.failure = err;
    this.ended = true;
    for (const q of this.queue.splice(0)) q.reject(this.failure);
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    let taken: Queued | undefined;
    try {
      for (;;) {
        taken = this.queue.shift();
        if (taken !== undefined) {
          yield taken.bytes;
          // The consumer asked for more, so it has dealt with these bytes.
          taken.resolve();
          taken = undefined;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
      }
    } finally {
      // The consumer stopped early (stream closed or reset): nothing more will be sent.
      taken?.reject(new ProtocolError('E_PEER_ERROR', 'stream closed before the frame was sent'));
      this.fail(new ProtocolError('E_PEER_ERROR', 'stream closed for writing'));
    }
  }
}
