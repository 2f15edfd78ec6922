import { PassThrough } from 'node:stream';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compressCarrier } from '../../../src/wire/compression.js';
import { Multiplexer } from '../../../src/wire/multiplexer.js';
import { eventually } from '../../helpers/eventually.js';

describe('compressCarrier', () => {
  it("returns the carrier itself for 'none'", () => {
    const carrier = { readable: new PassThrough(), writable: new PassThrough() };
    expect(compressCarrier(carrier, 'none')).toBe(carrier);
  });

  it('closes the multiplexer with MUTAGEN_PROTOCOL on corrupt compressed input', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    output.resume();
    const mux = new Multiplexer(compressCarrier({ readable: input, writable: output }, 'deflate'), { role: 'client' });
    input.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x01]));
    const error = await mux.closed;
    expect(error?.code).toBe('MUTAGEN_PROTOCOL');
    expect(error?.message).toMatch(/^corrupt compressed data: /);
  });

  it('inflates only as fast as the consumer reads (a compression bomb stays bounded)', async () => {
    const input = new PassThrough();
    const carrier = compressCarrier({ readable: input, writable: new PassThrough() }, 'deflate');
    const bomb = deflateRawSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(100_000);
    input.write(bomb);
    await eventually(() => expect(carrier.readable.readableLength).toBeGreaterThan(0));
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(carrier.readable.readableLength).toBeLessThanOrEqual(64 * 1024);
    // Reading drains it all eventually.
    let total = 0;
    carrier.readable.on('data', (chunk: Buffer) => { total += chunk.length; });
    await eventually(() => expect(total).toBe(64 * 1024 * 1024));
  });

  it('flushes a lone small write without waiting for more data', async () => {
    const wire = new PassThrough();
    const sender = compressCarrier({ readable: new PassThrough(), writable: wire }, 'deflate');
    const receiver = compressCarrier({ readable: wire, writable: new PassThrough() }, 'deflate');
    sender.writable.write('x');
    const chunk = await new Promise<Buffer>((resolve) => receiver.readable.once('data', resolve));
    expect(chunk.toString()).toBe('x');
  });
});
