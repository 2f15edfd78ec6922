import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Transmission } from '../../../src/sync/endpoint.js';
import { ReadAhead } from '../../../src/sync/remote/read-ahead.js';
import { TransmissionBatcher } from '../../../src/sync/remote/transfer-batch.js';
import { encodeTransmissionMessage, MAX_BATCH_ITEMS, TransmissionChecker, unbatch } from '../../../src/sync/remote/transmission.js';
import { batchValue, transmissionValue } from '../../helpers/transmission-values.js';
import { EMPTY_SIGNATURE } from '../../../src/sync/rsync/types.js';
import { decodeValue, encodeValue } from '../../../src/wire/codec.js';
import { MessageReader, MessageWriter } from '../../../src/wire/messages.js';
import { prng } from '../../helpers/random.js';
import { eventually } from '../../helpers/eventually.js';

const data = (size: number, fill: number): Transmission => ({ kind: 'operation', operation: { kind: 'data', data: new Uint8Array(size).fill(fill) }, expectedSize: size });
const done: Transmission = { kind: 'done' };
const signal = (): AbortSignal => AbortSignal.timeout(10_000);
/** Byte arrays as `bytes:<length>:<first byte>` (decoded ones are Buffers, sent ones are not). */
const plain = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return `bytes:${value.length}:${value[0] ?? ''}`;
  return Array.isArray(value) ? value.map(plain) : value;
};

/** Every message on `pipe` until its end. */
async function readAll(pipe: PassThrough): Promise<unknown[]> {
  const reader = new MessageReader(pipe);
  const messages: unknown[] = [];
  for (let value = await reader.read(signal()); value !== undefined; value = await reader.read(signal())) messages.push(value);
  return messages;
}

describe('transmission batches', () => {
  it('writes batch messages that decode to exactly what the generic codec sends', () => {
    const counts = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER];
    const sizes = [1, 31, 32, 255, 256, 4095, 65_535, 65_536];
    const errors = ['', 'x', 'é'.repeat(15), 'e'.repeat(31), 'e'.repeat(32), 'é✓'.repeat(50), 'f'.repeat(256), 'g'.repeat(70_000)];
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
      const length = seed === 1 ? MAX_BATCH_ITEMS : seed === 2 ? 16 : seed === 3 ? 15 : 2 + Math.floor(random() * 40);
      const items: Transmission[] = Array.from({ length }, (): Transmission => {
        const roll = random();
        const expected = random() < 0.3 ? {} : { expectedSize: pick(counts) };
        if (roll < 0.3) return random() < 0.5 ? { kind: 'done' } : { kind: 'done', error: pick(errors) };
        if (roll < 0.6) return { kind: 'operation', operation: { kind: 'blocks', start: pick(counts), count: pick(counts) }, ...expected };
        const size = seed === 1 ? 1 : pick(sizes);
        return { kind: 'operation', operation: { kind: 'data', data: Uint8Array.from({ length: size }, (_, i) => (i * 7 + seed) & 0xff) }, ...expected };
      });
      // Each alone, and all as a batch.
      for (const group of [...items.slice(0, 3).map((item) => [item]), items]) {
        const message = encodeTransmissionMessage(group);
        expect(message.readUInt32BE(0)).toBe(message.length - 4);
        const decoded = decodeValue(message.subarray(4));
        const reference = decodeValue(Buffer.from(encodeValue(group.length === 1 ? transmissionValue(group[0] as Transmission) : batchValue(group.map(transmissionValue)))));
        // The same values: the generic codec encodes both to the same bytes (a quick deep comparison).
        expect(Buffer.from(encodeValue(decoded)).equals(Buffer.from(encodeValue(reference))), `seed ${seed}`).toBe(true);
        expect(unbatch(decoded)).toHaveLength(group.length);
      }
    }
    expect(() => encodeTransmissionMessage([])).toThrow(RangeError);
  });

  it('gathers the transmissions of many small files into a few messages, in order', async () => {
    const pipe = new PassThrough();
    const batcher = new TransmissionBatcher(new MessageWriter(pipe));
    const reading = readAll(pipe);
    for (let i = 0; i < 500; i++) {
      await batcher.write(data(300, i % 256));
      await batcher.write(done);
    }
    await batcher.finish();
    const messages = await reading;
    expect(messages.length).toBeLessThanOrEqual(4);
    const checker = new TransmissionChecker(Array.from({ length: 500 }, () => EMPTY_SIGNATURE));
    const received = messages.flatMap((m) => unbatch(m)).map((item) => checker.check(item));
    expect(received).toHaveLength(1000);
    expect(checker.complete).toBe(true);
    received.forEach((t, i) => {
      if (i % 2 === 1) expect(t).toEqual(done);
      else expect(t.kind === 'operation' && t.operation.kind === 'data' && t.operation.data[0]).toBe((i / 2) % 256);
    });
  });

  it('takes small transmissions at once with offer() until one would fill the batch or a sent batch is unsettled; order is kept with write()', async () => {
    const pipe = new PassThrough();
    const batcher = new TransmissionBatcher(new MessageWriter(pipe));
    const reading = readAll(pipe);
    const sent: Transmission[] = [];
    let offered = 0;
    let refused = 0;
    for (let i = 0; i < 600; i++) {
      for (const t of [data(1000, i % 256), done]) {
        sent.push(t);
        if (batcher.offer(t)) offered++;
        else {
          refused++;
          await batcher.write(t);
        }
      }
      // Every few files the loop turns: the batch goes out at its end and the next offer is refused.
      if (i % 7 === 6) await new Promise((resolve) => setImmediate(resolve));
    }
    // A data operation of 64 KiB always fills a batch: never taken at once.
    expect(batcher.offer(data(65_536, 1))).toBe(false);
    await batcher.finish();
    // 64 KiB batches of ~1 KiB transmissions: refused when a batch would be full, and once after each turn.
    expect(offered).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThanOrEqual(85);
    const messages = await reading;
    const checker = new TransmissionChecker(Array.from({ length: 600 }, () => EMPTY_SIGNATURE));
    const received = messages.flatMap((m) => unbatch(m)).map((item) => checker.check(item));
    expect(checker.complete).toBe(true);
    expect(plain(received.map((t) => transmissionValue(t)))).toEqual(plain(sent.map((t) => transmissionValue(t))));
  });

  it('keeps a file of up to 64 KiB with its done, starts a new batch rather than pass 96 KiB, and keeps the order', async () => {
    const pipe = new PassThrough();
    const batcher = new TransmissionBatcher(new MessageWriter(pipe));
    const reading = readAll(pipe);
    const sent = [data(100, 1), done, data(40_000, 2), done, data(60_000, 3), done, data(65_536, 4), done];
    for (const t of sent) await batcher.write(t);
    await batcher.finish();
    const messages = await reading;
    const encoded = sent.map((t) => transmissionValue(t));
    expect(plain(messages)).toEqual(plain([batchValue(encoded.slice(0, 4)), batchValue(encoded.slice(4, 6)), encoded[6], encoded[7]]));
  });

  it('never writes a message past 96 KiB of data, whatever the sizes', async () => {
    const random = prng(7);
    const pipe = new PassThrough();
    const batcher = new TransmissionBatcher(new MessageWriter(pipe));
    const reading = readAll(pipe);
    const sent: Transmission[] = [];
    for (let i = 0; i < 400; i++) {
      const pieces = random() < 0.1 ? 3 : 1;
      for (let piece = 0; piece < pieces; piece++) sent.push(data(1 + Math.floor(random() ** 2 * 65_536), i % 256));
      sent.push(done);
    }
    for (const t of sent) if (!batcher.offer(t)) await batcher.write(t);
    await batcher.finish();
    const messages = await reading;
    for (const message of messages) {
      const bytes = unbatch(message).reduce((sum: number, item) => sum + (Array.isArray(item) && item[1] instanceof Uint8Array ? item[1].byteLength : 0), 0);
      expect(bytes).toBeLessThanOrEqual(96 * 1024);
    }
    expect(plain(messages.flatMap((m) => unbatch(m)))).toEqual(plain(sent.map((t) => transmissionValue(t))));
  });

  it('does not hold a lone change until finish: it goes out at the end of the turn', async () => {
    const pipe = new PassThrough();
    const batcher = new TransmissionBatcher(new MessageWriter(pipe));
    const reader = new MessageReader(pipe);
    await batcher.write(data(10, 7));
    expect(plain(await reader.read(signal()))).toEqual(plain(transmissionValue(data(10, 7))));
    await batcher.finish();
    expect(await reader.read(signal())).toBeUndefined();
  });

  it('refuses malformed batches and batches inside batches', () => {
    expect(() => unbatch([3, []])).toThrow(/malformed transmission batch/);
    expect(() => unbatch([3, 'x'])).toThrow(/malformed transmission batch/);
    expect(() => unbatch([3, [[2, null]], 1])).toThrow(/malformed transmission batch/);
    expect(() => unbatch([3, Array.from({ length: 4097 }, () => [2, null])])).toThrow(/malformed transmission batch/);
    const checker = new TransmissionChecker([EMPTY_SIGNATURE]);
    const [inner] = unbatch([3, [[3, [[2, null]]]]]);
    expect(() => checker.check(inner)).toThrow(/unknown type/);
    expect(unbatch([2, null])).toEqual([[2, null]]);
  });
});

describe('read-ahead', () => {
  it('reads up to its limit ahead of a consumer that does not take, then delivers everything in order', async () => {
    const pipe = new PassThrough();
    const writer = new MessageWriter(pipe);
    const ahead = new ReadAhead(new MessageReader(pipe), signal(), 256 * 1024);
    let written = 0;
    const writing = (async () => {
      for (let i = 0; i < 32; i++) {
        await writer.write([0, new Uint8Array(64 * 1024).fill(i), null]);
        written++;
      }
      await writer.end();
    })();
    // The reader stops at its limit, so the writer's stream fills and the writer waits.
    await eventually(() => expect(pipe.readableLength + pipe.writableLength).toBeGreaterThan(64 * 1024));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(written).toBeLessThan(32);
    expect(ahead.consumed).toBe(0);
    for (let i = 0; i < 32; i++) {
      const value = await ahead.next();
      expect(Array.isArray(value) && value[1] instanceof Uint8Array && value[1][0]).toBe(i);
    }
    expect(await ahead.next()).toBeUndefined();
    // What the consumer took, counted by payload (plus a small overhead per message).
    expect(ahead.consumed).toBeGreaterThanOrEqual(32 * 64 * 1024);
    expect(ahead.consumed).toBeLessThan(32 * 65 * 1024);
    await writing;
  });

  it('passes a stream failure to the consumer after what was read before it', async () => {
    const pipe = new PassThrough();
    const ahead = new ReadAhead(new MessageReader(pipe), signal());
    await new MessageWriter(pipe).write([2, null]);
    expect(await ahead.next()).toEqual([2, null]);
    pipe.destroy(new Error('carrier gone'));
    await expect(ahead.next()).rejects.toThrow(/carrier gone/);
  });

  it('stops when closed, and when its signal aborts', async () => {
    const pipe = new PassThrough();
    const controller = new AbortController();
    const ahead = new ReadAhead(new MessageReader(pipe), controller.signal);
    const pending = ahead.next();
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow();
    const other = new ReadAhead(new MessageReader(new PassThrough()), signal());
    const waiting = other.next();
    other.close();
    await expect(waiting).rejects.toThrow(/cancelled/);
  });
});
