import { createHash, randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Carrier } from '../../../src/wire/carrier.js';
import { compressCarrier } from '../../../src/wire/compression.js';
import { BLOCK_KIND_DEFLATED, BLOCK_KIND_STORED, blockHeader, MAX_BLOCK_PAYLOAD } from '../../../src/wire/compression-block.js';
import { Multiplexer } from '../../../src/wire/multiplexer.js';
import { eventually } from '../../helpers/eventually.js';
import { readAll, writeRandom } from './pair.js';

const MIB = 1024 * 1024;
const never = new AbortController().signal;

/** A sender and a receiver joined by one in-memory wire whose bytes are recorded. */
function link(): { sender: Carrier; receiver: Carrier; wire: Buffer[] } {
  const wire: Buffer[] = [];
  const pipe = new PassThrough();
  pipe.on('data', (chunk: Buffer) => wire.push(chunk));
  const tap = new PassThrough();
  pipe.pipe(tap);
  const sender = compressCarrier({ readable: new PassThrough(), writable: pipe }, 'deflate');
  const receiver = compressCarrier({ readable: tap, writable: new PassThrough() }, 'deflate');
  return { sender, receiver, wire };
}

/** Block kinds and payload sizes on the wire, checking that the framing adds up exactly. */
function blocksOf(wire: Buffer[]): Array<{ kind: number; length: number }> {
  const bytes = Buffer.concat(wire);
  const blocks: Array<{ kind: number; length: number }> = [];
  let offset = 0;
  while (offset < bytes.length) {
    const kind = bytes.readUInt8(offset);
    const length = bytes.readUInt32BE(offset + 1);
    blocks.push({ kind, length });
    offset += 5 + length;
  }
  expect(offset).toBe(bytes.length);
  return blocks;
}

function sourceText(size: number): Buffer {
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const line = `export function handler${i % 977}(request: Request, index = ${i}): Promise<Response> { return fetch(request.url + '/${(i * 7919) % 10007}'); }\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('').slice(0, size));
}

async function send(carrier: Carrier, chunks: readonly Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    if (!carrier.writable.write(chunk)) await new Promise((resolve) => carrier.writable.once('drain', resolve));
  }
  await new Promise<void>((resolve) => carrier.writable.end(resolve));
}

async function receive(readable: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of readable) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

function muxReading(input: PassThrough): Multiplexer {
  const output = new PassThrough();
  output.resume();
  return new Multiplexer(compressCarrier({ readable: input, writable: output }, 'deflate'), { role: 'client' });
}

describe('compressCarrier', () => {
  it("returns the carrier itself for 'none'", () => {
    const carrier = { readable: new PassThrough(), writable: new PassThrough() };
    expect(compressCarrier(carrier, 'none')).toBe(carrier);
  });

  it('sends random data stored: the wire carries at most 1% more than the payload', async () => {
    const { sender, receiver, wire } = link();
    const payload = randomBytes(8 * MIB);
    const chunks = Array.from({ length: 128 }, (_, i) => payload.subarray(i * 65_536, (i + 1) * 65_536));
    const [received] = await Promise.all([receive(receiver.readable), send(sender, chunks)]);
    expect(received.equals(payload)).toBe(true);
    const blocks = blocksOf(wire);
    const wireBytes = blocks.reduce((sum, block) => sum + 5 + block.length, 0);
    expect(wireBytes).toBeLessThanOrEqual(payload.length * 1.01);
    expect(blocks.every((block) => block.kind === BLOCK_KIND_STORED)).toBe(true);
    expect(Math.max(...blocks.map((block) => block.length))).toBeLessThanOrEqual(MAX_BLOCK_PAYLOAD);
  }, 60_000);

  it('deflates text to under a third of its size', async () => {
    const { sender, receiver, wire } = link();
    const payload = sourceText(4 * MIB);
    const chunks = Array.from({ length: 64 }, (_, i) => payload.subarray(i * 65_536, (i + 1) * 65_536));
    const [received] = await Promise.all([receive(receiver.readable), send(sender, chunks)]);
    expect(received.equals(payload)).toBe(true);
    const blocks = blocksOf(wire);
    expect(blocks.every((block) => block.kind === BLOCK_KIND_DEFLATED)).toBe(true);
    expect(blocks.reduce((sum, block) => sum + 5 + block.length, 0)).toBeLessThan(payload.length / 3);
  }, 60_000);

  it('round-trips a mixed stream of random, text and tiny writes byte-identically', async () => {
    const { sender, receiver, wire } = link();
    const text = sourceText(3 * MIB);
    const chunks: Buffer[] = [];
    let seed = 1;
    const next = (bound: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 12) % bound;
    };
    for (let i = 0; i < 400; i++) {
      const size = [1, 17, 900, 5000, 70_000, 300_000][next(6)] ?? 1;
      if (next(2) === 0) chunks.push(randomBytes(size));
      else {
        const start = next(text.length - size);
        chunks.push(text.subarray(start, start + size));
      }
    }
    const expected = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
    const [received] = await Promise.all([receive(receiver.readable), send(sender, chunks)]);
    expect(createHash('sha256').update(received).digest('hex')).toBe(expected);
    const kinds = new Set(blocksOf(wire).map((block) => block.kind));
    expect([...kinds].sort()).toEqual([BLOCK_KIND_STORED, BLOCK_KIND_DEFLATED]);
  }, 60_000);

  it('stores the next MiB after a block the sample misjudged, then probes again', async () => {
    const { sender, receiver, wire } = link();
    // Random bytes, except that the 16 slices of 256 bytes the probe samples use only 64 byte
    // values (6 bits of entropy): the probe says "compressible", deflate gains almost nothing.
    const tricky = randomBytes(MAX_BLOCK_PAYLOAD);
    const stride = Math.floor((tricky.length - 256) / 15);
    for (let slice = 0; slice < 16; slice++) {
      for (let index = slice * stride; index < slice * stride + 256; index++) tricky[index] = (tricky[index] ?? 0) & 0x3f;
    }
    const text = sourceText(MAX_BLOCK_PAYLOAD);
    const chunks = [tricky, ...Array.from({ length: 20 }, () => text)];
    const receiving = receive(receiver.readable);
    for (const chunk of chunks) {
      sender.writable.write(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    sender.writable.end();
    expect((await receiving).equals(Buffer.concat(chunks))).toBe(true);
    const kinds = blocksOf(wire).map((block) => block.kind);
    const stored = (1024 * 1024) / MAX_BLOCK_PAYLOAD;
    expect(kinds).toEqual([
      BLOCK_KIND_DEFLATED, ...Array<number>(stored).fill(BLOCK_KIND_STORED), ...Array<number>(20 - stored).fill(BLOCK_KIND_DEFLATED),
    ]);
  });

  it('moves 16 MiB byte-identical between two multiplexers', async () => {
    const [a, b] = [new PassThrough(), new PassThrough()];
    const client = new Multiplexer(compressCarrier({ readable: a, writable: b }, 'deflate'), { role: 'client' });
    const server = new Multiplexer(compressCarrier({ readable: b, writable: a }, 'deflate'), { role: 'server' });
    const local = client.open();
    const sent = writeRandom(local, 16 * MIB, 100_000);
    const remote = await server.accept(never);
    expect(await readAll(remote)).toEqual({ bytes: 16 * MIB, sha256: await sent });
    await Promise.all([client.close(), server.close()]);
    expect(await client.closed).toBeUndefined();
  }, 60_000);

  it('flushes a lone small write without waiting for more data', async () => {
    const { sender, receiver } = link();
    sender.writable.write('x');
    const chunk = await new Promise<Buffer>((resolve) => receiver.readable.once('data', resolve));
    expect(chunk.toString()).toBe('x');
  });

  it('reads a carrier left paused with unshifted bytes, as the handshake leaves it', async () => {
    const wire = new PassThrough();
    const sender = compressCarrier({ readable: new PassThrough(), writable: wire }, 'deflate');
    sender.writable.write(Buffer.from('x'.repeat(5000)));
    sender.writable.write(randomBytes(5000));
    await eventually(() => expect(wire.readableLength).toBeGreaterThan(5000));
    const onReadable = (): void => { /* paused-mode reader, like HandshakeReader */ };
    wire.on('readable', onReadable);
    const head = wire.read(3) as Buffer;
    wire.off('readable', onReadable);
    wire.pause();
    wire.unshift(head);
    const receiver = compressCarrier({ readable: wire, writable: new PassThrough() }, 'deflate');
    const parts: Buffer[] = [];
    receiver.readable.on('data', (chunk: Buffer) => parts.push(chunk));
    await eventually(() => expect(Buffer.concat(parts).length).toBe(10_000));
    expect(Buffer.concat(parts).subarray(0, 5000).toString()).toBe('x'.repeat(5000));
  });

  it('stalls the writer while the carrier does not drain, then delivers everything', async () => {
    const pipe = new PassThrough();
    const sender = compressCarrier({ readable: new PassThrough(), writable: pipe }, 'deflate');
    const chunk = randomBytes(16 * 1024);
    let accepted = 0;
    let drains = 0;
    sender.writable.on('drain', () => { drains += 1; });
    for (let turn = 0; turn < 200; turn++) {
      while (!sender.writable.writableNeedDrain) {
        sender.writable.write(chunk);
        accepted += chunk.length;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Bounded by the target's buffer, two queued blocks and the writer's own buffer.
    expect(accepted).toBeLessThanOrEqual(MIB);
    expect(accepted).toBeGreaterThan(0);
    expect(drains).toBeLessThan(200);
    expect(pipe.writableLength + pipe.readableLength).toBeLessThanOrEqual(MIB);
    const receiver = compressCarrier({ readable: pipe, writable: new PassThrough() }, 'deflate');
    const received = receive(receiver.readable);
    sender.writable.end();
    expect((await received).length).toBe(accepted);
  });

  it.each([
    ['an unknown block kind', blockHeader(7, 10)],
    ['a zero-length block', blockHeader(BLOCK_KIND_STORED, 0)],
    ['an oversized block', blockHeader(BLOCK_KIND_DEFLATED, 64 * MIB)],
  ])('closes the multiplexer with MUTAGEN_PROTOCOL on %s', async (_name, header) => {
    const input = new PassThrough();
    const mux = muxReading(input);
    input.write(header);
    const error = await mux.closed;
    expect(error?.code).toBe('MUTAGEN_PROTOCOL');
    expect(error?.message).toMatch(/^malformed compressed stream: /);
  });

  it('closes the multiplexer with MUTAGEN_PROTOCOL on corrupt deflate data', async () => {
    const input = new PassThrough();
    const mux = muxReading(input);
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x01]);
    input.write(Buffer.concat([blockHeader(BLOCK_KIND_DEFLATED, garbage.length), garbage]));
    const error = await mux.closed;
    expect(error?.code).toBe('MUTAGEN_PROTOCOL');
    expect(error?.message).toMatch(/^corrupt compressed data: /);
  });

  it('closes the multiplexer with MUTAGEN_TRANSPORT when the carrier ends inside a block', async () => {
    const input = new PassThrough();
    const mux = muxReading(input);
    input.end(Buffer.concat([blockHeader(BLOCK_KIND_DEFLATED, 100), Buffer.alloc(10)]));
    const error = await mux.closed;
    expect(error?.code).toBe('MUTAGEN_TRANSPORT');
    expect(error?.message).toBe('the connection closed in the middle of a compressed block');
  });

  it('inflates only as fast as the consumer reads (a compression bomb stays bounded)', async () => {
    const input = new PassThrough();
    const carrier = compressCarrier({ readable: input, writable: new PassThrough() }, 'deflate');
    const bomb = deflateRawSync(Buffer.alloc(64 * MIB));
    expect(bomb.length).toBeLessThan(100_000);
    input.write(Buffer.concat([blockHeader(BLOCK_KIND_DEFLATED, bomb.length), bomb]));
    await eventually(() => expect(carrier.readable.readableLength).toBeGreaterThan(0));
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(carrier.readable.readableLength).toBeLessThanOrEqual(64 * 1024);
    let total = 0;
    carrier.readable.on('data', (chunk: Buffer) => { total += chunk.length; });
    await eventually(() => expect(total).toBe(64 * MIB));
  });
});
