import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import type { Frame, FrameType } from '../../../src/wire/frame.js';
import { encodeFrame, FRAME_TYPES, FrameDecoder, MAX_FRAME_PAYLOAD } from '../../../src/wire/frame.js';
import { prng } from '../../helpers/random.js';

function header(length: number, stream: number, type: number): Buffer {
  const out = Buffer.alloc(9);
  out.writeUInt32BE(length, 0);
  out.writeUInt32BE(stream, 4);
  out[8] = type;
  return out;
}

function randomFrames(random: () => number, count: number): Frame[] {
  const frames: Frame[] = [];
  for (let i = 0; i < count; i++) {
    const size = random() < 0.1 ? 0 : random() < 0.05 ? MAX_FRAME_PAYLOAD : Math.floor(random() * 3000);
    const payload = Buffer.alloc(size);
    for (let j = 0; j < size; j++) payload[j] = Math.floor(random() * 256);
    const type = FRAME_TYPES[Math.floor(random() * FRAME_TYPES.length)] as FrameType;
    frames.push({ stream: Math.floor(random() * 0xffff_ffff), type, payload });
  }
  return frames;
}

function normalize(frames: Frame[]): { stream: number; type: FrameType; payload: string }[] {
  return frames.map((f) => ({ stream: f.stream, type: f.type, payload: Buffer.from(f.payload).toString('hex') }));
}

describe('frame codec', () => {
  it('lays a frame out as u32 length | u32 stream | u8 type | payload', () => {
    const bytes = encodeFrame({ stream: 0x01020304, type: 'reset', payload: Uint8Array.of(0xaa, 0xbb) });
    expect(bytes.toString('hex')).toBe('00000002' + '01020304' + '04' + 'aabb');
    expect(encodeFrame({ stream: 7, type: 'open', payload: new Uint8Array(0) }).toString('hex')).toBe('000000000000000700');
  });

  it('numbers the types 0..4 in contract order', () => {
    expect(FRAME_TYPES).toEqual(['open', 'data', 'credit', 'close', 'reset', 'blocked']);
  });

  it('accepts a payload of exactly the limit and refuses one byte more', () => {
    const frame = { stream: 1, type: 'data' as const, payload: new Uint8Array(MAX_FRAME_PAYLOAD) };
    const [decoded] = new FrameDecoder().push(encodeFrame(frame));
    expect(decoded?.payload.length).toBe(MAX_FRAME_PAYLOAD);
    expect(() => encodeFrame({ ...frame, payload: new Uint8Array(MAX_FRAME_PAYLOAD + 1) })).toThrow(/exceeds the 65536-byte limit/);
  });

  it('rejects an oversized length as soon as the header is complete', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(header(70_000, 1, 1).subarray(0, 8))).toEqual([]);
    let caught: unknown;
    try {
      decoder.push(header(70_000, 1, 1).subarray(8));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MutagenError);
    expect(caught).toMatchObject({ code: 'MUTAGEN_PROTOCOL', message: 'frame of 70000 bytes exceeds the 65536-byte limit' });
  });

  it('rejects unknown frame types', () => {
    expect(() => new FrameDecoder().push(header(0, 3, 6))).toThrow(expect.objectContaining({
      code: 'MUTAGEN_PROTOCOL', message: 'frame of unknown type 6 on stream 3',
    }) as Error);
  });

  it('keeps a partial frame until the rest arrives', () => {
    const decoder = new FrameDecoder();
    const bytes = encodeFrame({ stream: 9, type: 'data', payload: Buffer.from('hello world') });
    expect(decoder.push(bytes.subarray(0, 12))).toEqual([]);
    expect(decoder.buffered).toBe(12);
    const frames = decoder.push(bytes.subarray(12));
    expect(normalize(frames)).toEqual([{ stream: 9, type: 'data', payload: Buffer.from('hello world').toString('hex') }]);
    expect(decoder.buffered).toBe(0);
  });

  it('returns payloads inside one chunk as views of it (no copy)', () => {
    const bytes = encodeFrame({ stream: 1, type: 'data', payload: Buffer.from('abc') });
    const [frame] = new FrameDecoder().push(bytes);
    expect(frame?.payload.buffer).toBe(bytes.buffer);
  });

  it.each([1, 2, 3, 4, 5])('decodes the same frames however the bytes are split (seed %i)', (seed) => {
    const random = prng(seed);
    const frames = randomFrames(random, 120);
    const stream = Buffer.concat(frames.map(encodeFrame));
    const decoder = new FrameDecoder();
    const decoded: Frame[] = [];
    let offset = 0;
    while (offset < stream.length) {
      const mode = random();
      const size = mode < 0.3 ? 1 + Math.floor(random() * 10) : mode < 0.9 ? 1 + Math.floor(random() * 5000) : 1 + Math.floor(random() * 200_000);
      decoded.push(...decoder.push(stream.subarray(offset, offset + size)));
      offset += size;
    }
    expect(normalize(decoded)).toEqual(normalize(frames));
    expect(decoder.buffered).toBe(0);
  });

  it.each([1, 2, 3])('with streamData, returns data as it arrives, as views, and the other frames whole (seed %i)', (seed) => {
    const random = prng(seed);
    const frames = randomFrames(random, 120);
    const stream = Buffer.concat(frames.map(encodeFrame));
    const decoder = new FrameDecoder({ streamData: true });
    const decoded: Frame[] = [];
    for (let offset = 0; offset < stream.length;) {
      const size = 1 + Math.floor(random() * 70_000);
      const chunk = Buffer.from(stream.subarray(offset, offset + size));
      const out = decoder.push(chunk);
      for (const piece of out.filter((f) => f.type === 'data' && f.payload.length > 0)) {
        expect(piece.payload.buffer).toBe(chunk.buffer); // never a copy: only bytes of this chunk
      }
      decoded.push(...out);
      offset += size;
    }
    expect(normalize(mergeData(decoded))).toEqual(normalize(mergeData(frames)));
    expect(decoded.filter((f) => f.type !== 'data')).toHaveLength(frames.filter((f) => f.type !== 'data').length);
  });

  it('with streamData, returns an empty data frame once', () => {
    const decoder = new FrameDecoder({ streamData: true });
    const frames = decoder.push(encodeFrame({ stream: 5, type: 'data', payload: new Uint8Array(0) }));
    expect(normalize(frames)).toEqual([{ stream: 5, type: 'data', payload: '' }]);
  });

  it('decodes a stream fed one byte at a time', () => {
    const frames = randomFrames(prng(42), 10).map((f) => ({ ...f, payload: f.payload.subarray(0, 50) }));
    const stream = Buffer.concat(frames.map(encodeFrame));
    const decoder = new FrameDecoder();
    const decoded: Frame[] = [];
    for (let i = 0; i < stream.length; i++) decoded.push(...decoder.push(stream.subarray(i, i + 1)));
    expect(normalize(decoded)).toEqual(normalize(frames));
  });
});

/** Consecutive data frames of one stream joined (a byte stream cannot tell them apart). */
function mergeData(frames: readonly Frame[]): Frame[] {
  const merged: Frame[] = [];
  for (const frame of frames) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.type === 'data' && frame.type === 'data' && last.stream === frame.stream) {
      merged[merged.length - 1] = { ...last, payload: Buffer.concat([last.payload, frame.payload]) };
    } else {
      merged.push(frame);
    }
  }
  return merged;
}
