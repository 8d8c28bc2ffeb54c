import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProtocolError } from '../engine/core/errors.ts';
import { encodeFrame, FrameReader, Outbox, type Chunk } from '../engine/core/frames.ts';

/** A source fed by hand; `hang()` leaves the reader waiting forever unless it gives up by itself. */
function manualSource(): { source: AsyncIterator<Chunk>; push(b: Uint8Array): void; end(): void; fail(e: Error): void } {
  const queue: Array<IteratorResult<Chunk> | Error> = [];
  let waiter: ((r: IteratorResult<Chunk> | Error) => void) | null = null;
  const deliver = (r: IteratorResult<Chunk> | Error): void => {
    if (waiter) {
      const w = waiter;
      waiter = null;
      w(r);
    } else queue.push(r);
  };
  return {
    source: {
      next: () =>
        new Promise<IteratorResult<Chunk>>((resolve, reject) => {
          const settle = (r: IteratorResult<Chunk> | Error): void => (r instanceof Error ? reject(r) : resolve(r));
          const q = queue.shift();
          if (q) settle(q);
          else waiter = settle;
        }),
    },
    push: (b) => deliver({ done: false, value: b }),
    end: () => deliver({ done: true, value: undefined }),
    fail: (e) => deliver(e),
  };
}

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* parts;
}

const tooLarge = (err: unknown) => err instanceof ProtocolError && err.code === 'E_FRAME_TOO_LARGE';
const malformed = (err: unknown) => err instanceof ProtocolError && err.code === 'E_FRAME_MALFORMED';
const signal = () => AbortSignal.timeout(2000);

describe('frames', () => {
  test('round trip, including empty frames and multi-byte prefixes, whatever the chunking', async () => {
    const frames = [new Uint8Array(0), Uint8Array.of(7), new Uint8Array(127).fill(1), new Uint8Array(128).fill(2), new Uint8Array(20_000).fill(3)];
    const wire = Buffer.concat(frames.map(encodeFrame));
    assert.deepEqual([...encodeFrame(new Uint8Array(300)).subarray(0, 2)], [0xac, 0x02]);
    for (const size of [1, 3, 1000, wire.length]) {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < wire.length; i += size) parts.push(wire.subarray(i, i + size));
      const reader = new FrameReader(chunks(...parts), 100_000);
      const got: Uint8Array[] = [];
      for await (const f of reader.frames(signal())) got.push(f);
      assert.equal(got.length, frames.length, `chunk size ${size}`);
      got.forEach((f, i) => assert.ok(Buffer.from(f).equals(frames[i]) && f.constructor === Uint8Array, `chunk size ${size}, frame ${i}`));
    }
  });

  test('accepts Uint8ArrayList-like chunks', async () => {
    const list = { subarray: () => encodeFrame(Uint8Array.of(1, 2)) };
    const reader = new FrameReader((async function* () { yield list; })(), 10);
    assert.deepEqual(await reader.next(signal()), Uint8Array.of(1, 2));
    assert.equal(await reader.next(signal()), null);
  });

  test('a length prefix over the limit is refused before any of the body is read', async () => {
    const src = manualSource();
    const reader = new FrameReader(src.source, 1024);
    // Claims 1 GiB and then sends nothing more: a reader that waited for the body would hang.
    src.push(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x04));
    await assert.rejects(reader.next(signal()), tooLarge);
  });

  test('an over-limit prefix is refused even before the prefix itself is complete', async () => {
    const src = manualSource();
    const reader = new FrameReader(src.source, 1024);
    src.push(Uint8Array.of(0xff, 0xff)); // >= 16383 already, continuation bit set, rest never sent
    await assert.rejects(reader.next(signal()), tooLarge);
  });

  test('exactly the limit is accepted, one more byte is not', async () => {
    const ok = new FrameReader(chunks(encodeFrame(new Uint8Array(1024))), 1024);
    assert.equal((await ok.next(signal()))?.length, 1024);
    const over = new FrameReader(chunks(encodeFrame(new Uint8Array(1025))), 1024);
    await assert.rejects(over.next(signal()), tooLarge);
  });

  test('an endless run of continuation bytes is refused', async () => {
    const reader = new FrameReader(chunks(new Uint8Array(20).fill(0x80)), Number.MAX_SAFE_INTEGER);
    await assert.rejects(reader.next(signal()), tooLarge);
  });

  test('a stream ending inside a prefix or a body is malformed; between frames it is a clean end', async () => {
    await assert.rejects(new FrameReader(chunks(Uint8Array.of(0x80)), 1024).next(signal()), malformed);
    await assert.rejects(new FrameReader(chunks(Uint8Array.of(5, 1, 2)), 1024).next(signal()), malformed);
    assert.equal(await new FrameReader(chunks(), 1024).next(signal()), null);
  });

  test('an aborted next() rejects with the reason and loses no bytes', async () => {
    const src = manualSource();
    const reader = new FrameReader(src.source, 1024);
    const ac = new AbortController();
    const pending = reader.next(ac.signal);
    ac.abort(new Error('deadline'));
    await assert.rejects(pending, /deadline/);
    src.push(encodeFrame(Uint8Array.of(9, 9)));
    assert.deepEqual(await reader.next(signal()), Uint8Array.of(9, 9));
    src.end();
    assert.equal(await reader.next(signal()), null);
  });

  test('a failing source becomes E_PEER_ERROR', async () => {
    const src = manualSource();
    const reader = new FrameReader(src.source, 1024);
    src.fail(new Error('stream reset'));
    await assert.rejects(reader.next(signal()), (err: unknown) => err instanceof ProtocolError && err.code === 'E_PEER_ERROR');
  });

  test('outbox: push resolves when taken, in order; end drains; fail rejects the rest', async () => {
    const out = new Outbox();
    const it = out[Symbol.asyncIterator]();
    const p1 = out.push(Uint8Array.of(1));
    const p2 = out.push(Uint8Array.of(2));
    assert.deepEqual((await it.next()).value, Uint8Array.of(1));
    assert.deepEqual((await it.next()).value, Uint8Array.of(2));
    await p1;
    out.end();
    assert.equal((await it.next()).done, true);
    await p2;
    await assert.rejects(out.push(Uint8Array.of(3)));

    const broken = new Outbox();
    const queued = broken.push(Uint8Array.of(1));
    broken.fail(new Error('gone'));
    await assert.rejects(queued, /gone/);
  });
});
