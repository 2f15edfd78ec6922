import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encodeMessage, MAX_MESSAGE_SIZE, MessageReader, MessageWriter } from '../../../src/wire/messages.js';

const never = new AbortController().signal;

describe('length-prefixed messages', () => {
  it('round-trips values, keeping byte arrays as bytes', async () => {
    const pipe = new PassThrough();
    const writer = new MessageWriter(pipe);
    const reader = new MessageReader(pipe);
    const values = [
      { type: 'request', id: 1, method: 'scan', params: { full: true, nested: [1, 'two', null] } },
      { digest: Uint8Array.of(1, 2, 3, 255), big: 2 ** 40 + 3, negative: -7, float: 1.5, text: 'é✓' },
      [],
      'plain',
    ];
    for (const value of values) await writer.write(value);
    await writer.end();
    const first = await reader.read(never);
    expect(first).toEqual(values[0]);
    const second = (await reader.read(never)) as { digest: Uint8Array };
    expect(second.digest).toBeInstanceOf(Uint8Array);
    expect([...second.digest]).toEqual([1, 2, 3, 255]);
    expect(second).toMatchObject({ big: 2 ** 40 + 3, negative: -7, float: 1.5, text: 'é✓' });
    expect(await reader.read(never)).toEqual([]);
    expect(await reader.read(never)).toBe('plain');
    expect(await reader.read(never)).toBeUndefined();
  });

  it('reassembles messages split into single bytes and large messages spanning chunks', async () => {
    const pipe = new PassThrough();
    const reader = new MessageReader(pipe);
    const large = { blob: Buffer.alloc(300_000, 7) };
    const bytes = Buffer.concat([...encodeMessage({ small: 1 }), ...encodeMessage(large)]);
    for (let i = 0; i < 40; i++) pipe.write(bytes.subarray(i, i + 1));
    for (let i = 40; i < bytes.length; i += 10_000) pipe.write(bytes.subarray(i, i + 10_000));
    pipe.end();
    expect(await reader.read(never)).toEqual({ small: 1 });
    const got = (await reader.read(never)) as { blob: Uint8Array };
    expect(Buffer.from(got.blob).equals(large.blob)).toBe(true);
    expect(await reader.read(never)).toBeUndefined();
  });

  it('fails on EOF inside a message', async () => {
    const pipe = new PassThrough();
    const reader = new MessageReader(pipe);
    const [bytes] = encodeMessage({ hello: 'world' });
    pipe.end(bytes?.subarray(0, 6));
    await expect(reader.read(never)).rejects.toMatchObject({ code: 'MUTAGEN_PROTOCOL', message: 'stream ended in the middle of a message' });
  });

  it('refuses an oversized length before allocating', async () => {
    const pipe = new PassThrough();
    const reader = new MessageReader(pipe);
    pipe.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    await expect(reader.read(never)).rejects.toMatchObject({
      code: 'MUTAGEN_PROTOCOL', message: `message of 4294967295 bytes exceeds the ${MAX_MESSAGE_SIZE}-byte limit`,
    });
    const small = new PassThrough();
    const limited = new MessageReader(small, { maxMessageSize: 10 });
    small.write(Buffer.concat(encodeMessage('x'.repeat(20))));
    await expect(limited.read(never)).rejects.toMatchObject({ message: 'message of 21 bytes exceeds the 10-byte limit' });
  });

  it('fails on a malformed body', async () => {
    const pipe = new PassThrough();
    const reader = new MessageReader(pipe);
    pipe.write(Buffer.from([0, 0, 0, 2, 0x92, 0x01]));
    await expect(reader.read(never)).rejects.toMatchObject({ code: 'MUTAGEN_PROTOCOL', message: expect.stringMatching(/^malformed message/) as string });
  });

  it('passes a stream error through and honours its signal', async () => {
    const pipe = new PassThrough();
    const reader = new MessageReader(pipe);
    const abort = new AbortController();
    const pending = reader.read(abort.signal);
    abort.abort();
    await expect(pending).rejects.toMatchObject({ code: 'MUTAGEN_CANCELLED' });
    const failing = reader.read(never);
    pipe.destroy(new Error('reset by peer'));
    await expect(failing).rejects.toThrow('reset by peer');
  });

  it('waits for drain when the stream is above its high-water mark', async () => {
    const pipe = new PassThrough({ highWaterMark: 16 });
    const writer = new MessageWriter(pipe);
    let done = false;
    const write = writer.write({ payload: 'x'.repeat(100) }).then(() => { done = true; });
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    pipe.resume();
    await write;
    expect(done).toBe(true);
  });
});
