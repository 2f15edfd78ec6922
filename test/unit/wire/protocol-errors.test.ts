import type { Duplex } from 'node:stream';
import { duplexPair } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeValue } from '../../../src/wire/codec.js';
import type { FrameType } from '../../../src/wire/frame.js';
import { encodeFrame, FrameDecoder } from '../../../src/wire/frame.js';
import { Multiplexer } from '../../../src/wire/multiplexer.js';
import { eventually } from '../../helpers/eventually.js';
import { carrierOf, text } from './pair.js';

const never = new AbortController().signal;
const peers: Duplex[] = [];
afterEach(() => {
  for (const peer of peers.splice(0)) peer.destroy();
});

/** A server-role multiplexer and the raw other end of its carrier. */
function rawPeer(options: { maxStreams?: number } = {}): { mux: Multiplexer; raw: Duplex } {
  const [a, b] = duplexPair();
  peers.push(a, b);
  return { mux: new Multiplexer(carrierOf(a), { role: 'server', ...options }), raw: b };
}

function frame(stream: number, type: FrameType, payload: Uint8Array = new Uint8Array(0)): Buffer {
  return encodeFrame({ stream, type, payload });
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value, 0);
  return out;
}

async function protocolError(mux: Multiplexer): Promise<string> {
  const error = await mux.closed;
  expect(error?.code).toBe('MUTAGEN_PROTOCOL');
  return error?.message ?? '';
}

describe('Multiplexer protocol errors', () => {
  it('closes on an oversized frame, before its payload arrives', async () => {
    const { mux, raw } = rawPeer();
    const header = Buffer.alloc(9);
    header.writeUInt32BE(70_000, 0);
    header.writeUInt32BE(1, 4);
    header[8] = 1;
    raw.write(header);
    expect(await protocolError(mux)).toBe('frame of 70000 bytes exceeds the 65536-byte limit');
  });

  it('closes on an unknown frame type', async () => {
    const { mux, raw } = rawPeer();
    raw.write(Buffer.from('000000000000000109', 'hex'));
    expect(await protocolError(mux)).toBe('frame of unknown type 9 on stream 1');
  });

  it('closes on data beyond the granted credit', async () => {
    const { mux, raw } = rawPeer({});
    raw.write(frame(1, 'open'));
    const chunk = Buffer.alloc(65_536);
    for (let i = 0; i < 4; i++) raw.write(frame(1, 'data', chunk));
    raw.write(frame(1, 'data', Buffer.alloc(10)));
    expect(await protocolError(mux)).toBe('stream 1 received 10 bytes beyond its credit');
  });

  it('closes on frames for streams that were never opened', async () => {
    const { mux, raw } = rawPeer();
    raw.write(frame(5, 'data', Buffer.from('x')));
    expect(await protocolError(mux)).toBe('data frame for stream 5, which was never opened');
  });

  it('closes on frames for our own ids that we never opened', async () => {
    const { mux, raw } = rawPeer();
    raw.write(frame(4, 'credit', u32(10)));
    expect(await protocolError(mux)).toBe('credit frame for stream 4, which was never opened');
  });

  it('closes on a duplicate open', async () => {
    const { mux, raw } = rawPeer();
    raw.write(frame(3, 'open'));
    raw.write(frame(3, 'open'));
    expect(await protocolError(mux)).toBe('stream 3 opened twice');
  });

  it('closes on an open that reuses an older id', async () => {
    const { mux, raw } = rawPeer();
    raw.write(Buffer.concat([frame(5, 'open'), frame(3, 'open')]));
    expect(await protocolError(mux)).toBe('stream 3 opened twice');
  });

  it('closes on an open with the wrong parity', async () => {
    const { mux, raw } = rawPeer();
    raw.write(frame(2, 'open'));
    expect(await protocolError(mux)).toBe('the remote opened stream 2, whose id has the wrong parity');
  });

  it('closes on a credit overflow', async () => {
    const { mux, raw } = rawPeer();
    const stream = mux.open();
    raw.write(frame(stream.id, 'credit', u32(0xffff_ffff)));
    expect(await protocolError(mux)).toBe('credit overflow on stream 2');
  });

  it('closes on a malformed credit frame', async () => {
    const { mux, raw } = rawPeer();
    raw.write(Buffer.concat([frame(1, 'open'), frame(1, 'credit', Buffer.from([1, 2]))]));
    expect(await protocolError(mux)).toBe('malformed credit frame on stream 1');
  });

  it('closes on a malformed blocked frame', async () => {
    const { mux, raw } = rawPeer();
    raw.write(Buffer.concat([frame(1, 'open'), frame(1, 'blocked', Buffer.from([1]))]));
    expect(await protocolError(mux)).toBe('malformed blocked frame for stream 1');
  });

  it('closes on a malformed reset payload', async () => {
    const { mux, raw } = rawPeer();
    raw.write(Buffer.concat([frame(1, 'open'), frame(1, 'reset', encodeValue({ code: 42 }))]));
    expect(await protocolError(mux)).toBe('malformed reset frame for stream 1');
  });

  it('closes on a reset payload that is not msgpack', async () => {
    const { mux, raw } = rawPeer();
    raw.write(Buffer.concat([frame(1, 'open'), frame(1, 'reset', Buffer.from([0x92, 0x01]))]));
    expect(await protocolError(mux)).toBe('malformed reset frame for stream 1');
  });

  it('closes on data after close', async () => {
    const { mux, raw } = rawPeer();
    raw.write(Buffer.concat([frame(1, 'open'), frame(1, 'close'), frame(1, 'data', Buffer.from('late'))]));
    expect(await protocolError(mux)).toBe('data frame after close on stream 1');
  });

  it('closes on frames for the control stream', async () => {
    const { mux, raw } = rawPeer();
    raw.write(frame(0, 'data', Buffer.from('x')));
    expect(await protocolError(mux)).toBe('unexpected data frame on control stream 0');
  });

  it('closes when the peer opens more streams than allowed', async () => {
    const { mux, raw } = rawPeer({ maxStreams: 3 });
    raw.write(Buffer.concat([1, 3, 5, 7].map((id) => frame(id, 'open'))));
    expect(await protocolError(mux)).toBe('the remote opened more than 3 streams');
  });

  it('destroys open streams and pending accepts with the protocol error', async () => {
    const { mux, raw } = rawPeer();
    const stream = mux.open();
    const failed = new Promise<Error>((resolve) => stream.once('error', resolve));
    raw.write(Buffer.from('000000000000000109', 'hex'));
    const error = await mux.closed;
    expect(await failed).toBe(error);
    await expect(mux.accept(never)).rejects.toBe(error);
  });

  it('ignores frames racing a reset or a full close (legal races)', async () => {
    const { mux, raw } = rawPeer();
    raw.write(frame(1, 'open'));
    const stream = await mux.accept(never);
    stream.destroy(); // we reset stream 1 ...
    const ours = mux.open();
    ours.resume();
    ours.end();
    raw.write(frame(ours.id, 'close'));  // ... and fully close stream 2
    await new Promise((resolve) => ours.once('close', resolve));
    // The peer had not seen those yet and keeps talking on both.
    raw.write(Buffer.concat([frame(1, 'data', Buffer.from('late')), frame(1, 'close'), frame(ours.id, 'credit', u32(100)), frame(1, 'reset', encodeValue({ code: 'MUTAGEN_CANCELLED', message: 'x' }))]));
    // Still alive: a new stream works.
    raw.write(Buffer.concat([frame(3, 'open'), frame(3, 'data', Buffer.from('fine')), frame(3, 'close')]));
    const next = await mux.accept(never);
    expect(next.id).toBe(3);
    expect(await text(next)).toBe('fine');
    // What we sent: the reset of 1 carries a cancellation.
    const decoder = new FrameDecoder();
    const frames: { stream: number; type: string }[] = [];
    raw.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk).map((f) => ({ stream: f.stream, type: f.type }))));
    await eventually(() => {
      expect(frames).toContainEqual({ stream: 1, type: 'reset' });
      expect(frames).toContainEqual({ stream: 2, type: 'close' });
    });
    expect(await Promise.race([mux.closed, Promise.resolve('open' as const)])).toBe('open');
  });
});
