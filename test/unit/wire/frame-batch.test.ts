import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_SIZE } from '../../../src/wire/frame.js';
import { FrameBatch, WRITE_BUFFER_SIZE, WriteBufferPool } from '../../../src/wire/frame-batch.js';
import { FrameDecoder } from '../../../src/wire/frame.js';

function decode(bytes: Buffer): { stream: number; type: string; payload: string }[] {
  return new FrameDecoder().push(bytes).map((frame) => ({ stream: frame.stream, type: frame.type, payload: Buffer.from(frame.payload).toString() }));
}

describe('FrameBatch', () => {
  it('copies a payload when it is pushed: the caller may reuse its buffer at once', () => {
    const batch = new FrameBatch(new WriteBufferPool());
    const payload = Buffer.from('first');
    batch.push(3, 'data', payload);
    payload.write('XXXXX');
    batch.push(3, 'close', undefined);
    expect(batch.bytes).toBe(2 * FRAME_HEADER_SIZE + 5);
    const taken = batch.take();
    expect(decode(taken?.bytes ?? Buffer.alloc(0))).toEqual([{ stream: 3, type: 'data', payload: 'first' }, { stream: 3, type: 'close', payload: '' }]);
    expect(batch.bytes).toBe(0);
    expect(batch.take()).toBeUndefined();
  });

  it('sends a small batch as a copy of its own and a bulk one from a pooled buffer given back after the write', () => {
    const pool = new WriteBufferPool();
    const batch = new FrameBatch(pool);
    batch.push(1, 'data', Buffer.alloc(100, 1));
    const small = batch.take();
    expect(small?.release).toBeUndefined();
    expect(small?.bytes.buffer.byteLength).toBeLessThan(WRITE_BUFFER_SIZE);
    batch.push(1, 'data', Buffer.alloc(60_000, 2));
    const bulk = batch.take();
    expect(bulk?.bytes.length).toBe(FRAME_HEADER_SIZE + 60_000);
    expect(bulk?.bytes.buffer.byteLength).toBe(WRITE_BUFFER_SIZE);
    bulk?.release?.();
    // The next bulk batch is encoded into the buffer just given back.
    batch.push(1, 'data', Buffer.alloc(60_000, 3));
    expect(batch.take()?.bytes.buffer).toBe(bulk?.bytes.buffer);
  });

  it('grows past one write buffer when frames keep coming, keeping what was queued', () => {
    for (const pool of [new WriteBufferPool(), undefined]) {
      const batch = new FrameBatch(pool);
      const frames = 12;
      for (let index = 0; index < frames; index++) batch.push(index * 2 + 1, 'data', Buffer.alloc(65_536, index));
      const taken = batch.take();
      expect(taken?.bytes.length).toBe(frames * (FRAME_HEADER_SIZE + 65_536));
      const decoded = new FrameDecoder().push(taken?.bytes ?? Buffer.alloc(0));
      expect(decoded.map((frame) => [frame.stream, frame.payload[0], frame.payload.length])).toEqual(
        Array.from({ length: frames }, (_, index) => [index * 2 + 1, index, 65_536]),
      );
    }
  });
});
