import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { duplexPair, PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { INITIAL_STREAM_CREDIT } from '../../../src/wire/frame.js';
import type { Carrier, WireStream } from '../../../src/wire/multiplexer.js';
import { Multiplexer } from '../../../src/wire/multiplexer.js';
import { eventually } from '../../helpers/eventually.js';
import { carrierOf, errorOf, readAll, text, writeRandom, useCleanups } from './pair.js';
import { socketPair } from '../forward/socket-pairs.js';

const never = new AbortController().signal;
const { pair } = useCleanups();

describe('Multiplexer streams', () => {
  it('opens streams both ways with client-odd and server-even ids', async () => {
    const { client, server } = pair();
    const c1 = client.open();
    const c3 = client.open();
    const s2 = server.open();
    expect([c1.id, c3.id, s2.id]).toEqual([1, 3, 2]);
    c1.end('one');
    c3.end('three');
    s2.end('two');
    const [a, b, c] = [await server.accept(never), await server.accept(never), await client.accept(never)];
    expect([a.id, b.id, c.id]).toEqual([1, 3, 2]);
    expect(await Promise.all([text(a), text(b), text(c)])).toEqual(['one', 'three', 'two']);
  });

  it('half-closes each direction independently', async () => {
    const { client, server } = pair();
    const local = client.open();
    local.end('request');
    const remote = await server.accept(never);
    expect(await text(remote)).toBe('request');
    // The client's write side is closed, yet the server can still answer.
    remote.end('response');
    expect(await text(local)).toBe('response');
    await eventually(() => expect(local.destroyed && remote.destroyed).toBe(true));
  });

  it('carries a reset with code, message and hint to the peer', async () => {
    const { client, server } = pair();
    const local = client.open();
    local.write('x');
    const remote = await server.accept(never);
    const failed = errorOf(remote);
    local.destroy(new MutagenError('MUTAGEN_STAGING', 'disk full', { hint: 'Free some space.' }));
    const error = await failed;
    expect(error).toBeInstanceOf(MutagenError);
    expect([(error as MutagenError).code, error.message, (error as MutagenError).hint]).toEqual(['MUTAGEN_STAGING', 'disk full', 'Free some space.']);
    // And back the other way.
    const other = server.open();
    const mirror = await client.accept(never);
    const mirrored = errorOf(mirror);
    other.destroy(new MutagenError('MUTAGEN_SCAN', 'gone'));
    expect(await mirrored).toMatchObject({ code: 'MUTAGEN_SCAN', message: 'gone' });
  });

  it('resets without an error as a cancellation', async () => {
    const { client, server } = pair();
    const local = client.open();
    local.write('x');
    const remote = await server.accept(never);
    const failed = errorOf(remote);
    local.destroy();
    expect(await failed).toMatchObject({ code: 'MUTAGEN_CANCELLED' });
  });

  it.each(['none', 'deflate'] as const)('moves 64 MiB byte-identical (compression %s)', async (compression) => {
    const { client, server } = pair({ compression });
    const local = client.open();
    const sent = writeRandom(local, 64 * 1024 * 1024);
    const remote = await server.accept(never);
    const received = await readAll(remote);
    expect(received).toEqual({ bytes: 64 * 1024 * 1024, sha256: await sent });
  }, 120_000);

  it('stops a writer whose reader does not read, without blocking other streams', async () => {
    const { client, server } = pair();
    const slow = client.open();
    let acknowledged = 0;
    const chunk = Buffer.alloc(16 * 1024, 1);
    const writeLoop = (async (): Promise<void> => {
      for (let i = 0; i < 64; i++) {  // 1 MiB, four times the credit
        await new Promise<void>((resolve, reject) => slow.write(chunk, (error) => (error ? reject(error) : resolve())));
        acknowledged += chunk.length;
      }
      slow.end();
    })();
    const slowRemote = await server.accept(never);
    slowRemote.pause();
    // The receiver buffers exactly the credit, and the writer makes no further progress.
    await eventually(() => expect(slowRemote.readableLength).toBe(INITIAL_STREAM_CREDIT));
    expect(acknowledged).toBeLessThanOrEqual(INITIAL_STREAM_CREDIT + chunk.length);
    // Another stream flows freely meanwhile.
    const fast = client.open();
    const sent = writeRandom(fast, 4 * 1024 * 1024);
    const fastRemote = await server.accept(never);
    expect((await readAll(fastRemote)).sha256).toBe(await sent);
    expect(slowRemote.readableLength).toBe(INITIAL_STREAM_CREDIT);
    expect(acknowledged).toBeLessThanOrEqual(INITIAL_STREAM_CREDIT + chunk.length);
    // Reading resumes the writer until everything arrived.
    slowRemote.resume();
    const all = await readAll(slowRemote);
    await writeLoop;
    expect(all.bytes).toBe(64 * chunk.length);
    expect(all.sha256).toBe(createHash('sha256').update(Buffer.alloc(64 * chunk.length, 1)).digest('hex'));
  });

  it('ends every stream with "connection closed" when the carrier ends', async () => {
    const [a, b] = duplexPair();
    const client = new Multiplexer(carrierOf(a), { role: 'client' });
    const stream = client.open();
    const failed = errorOf(stream);
    const waiting = client.accept(never);
    b.end();
    expect(await client.closed).toBeUndefined();
    expect(await failed).toMatchObject({ code: 'MUTAGEN_TRANSPORT', message: 'connection closed' });
    await expect(waiting).rejects.toMatchObject({ code: 'MUTAGEN_TRANSPORT', message: 'connection closed' });
    expect(() => client.open()).toThrow(expect.objectContaining({ code: 'MUTAGEN_PROTOCOL' }) as Error);
    await client.close();
    b.destroy();
  });

  it('reports a carrier failure as the cause', async () => {
    const [a, b] = duplexPair();
    const client = new Multiplexer(carrierOf(a), { role: 'client' });
    const stream = client.open();
    const failed = errorOf(stream);
    a.destroy(new Error('EPIPE: broken pipe'));
    const error = await client.closed;
    expect(error).toMatchObject({ code: 'MUTAGEN_TRANSPORT', message: 'connection failed: EPIPE: broken pipe' });
    expect(await failed).toBe(error);
    b.destroy();
  });

  it('close() is idempotent, destroys streams with its error and lets the peer see EOF', async () => {
    const { client, server } = pair();
    const stream = client.open();
    stream.write('hi');
    const remote = await server.accept(never);
    const remoteFailed = errorOf(remote);
    const failed = errorOf(stream);
    await Promise.all([client.close(), client.close()]);
    expect(await client.closed).toBeUndefined();
    expect(await failed).toMatchObject({ code: 'MUTAGEN_TRANSPORT' });
    expect(await server.closed).toBeUndefined();
    expect(await remoteFailed).toMatchObject({ code: 'MUTAGEN_TRANSPORT', message: 'connection closed' });
  });

  it('rejects accept() when its signal aborts', async () => {
    const { client } = pair();
    const abort = new AbortController();
    const waiting = client.accept(abort.signal);
    abort.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'MUTAGEN_CANCELLED' });
  });

  it('counts carrier bytes', async () => {
    const { client, server } = pair();
    const stream = client.open();
    stream.end(Buffer.alloc(1000));
    const remote = await server.accept(never);
    await readAll(remote);
    expect(client.bytesWritten).toBeGreaterThan(1000);
    expect(server.bytesRead).toBe(client.bytesWritten);
  });

  it('keeps stream order under many concurrent streams', async () => {
    const { client, server } = pair();
    const count = 200;
    const senders = Array.from({ length: count }, (_, i) => {
      const stream = client.open();
      return writeRandom(stream, 1000 + i * 997, 4096);
    });
    const received: Promise<{ id: number; sha256: string }>[] = [];
    for (let i = 0; i < count; i++) {
      const stream: WireStream = await server.accept(never);
      received.push(readAll(stream).then((r) => ({ id: stream.id, sha256: r.sha256 })));
    }
    const results = await Promise.all(received);
    const hashes = await Promise.all(senders);
    expect(results.map((r) => r.sha256)).toEqual(hashes);
    expect(results.map((r) => r.id)).toEqual(Array.from({ length: count }, (_, i) => 2 * i + 1));
  });
});

describe('Multiplexer write buffers', () => {
  /** Largest writableLength each copying writer saw (bytes handed to it and not yet written). */
  const peakQueued = new WeakMap<Writable, number>();

  /**
   * Two carriers joined by writables that copy each chunk only just before calling its write
   * callback, a timer later (after the multiplexer's next flushes): a buffer reused before its
   * callback would arrive corrupted.
   * Records the backing store of every chunk the client writes.
   */
  function copyingCarriers(reusableWrites: boolean, highWaterMark?: number): { carriers: [Carrier, Carrier]; backings: Set<ArrayBufferLike>; destroy: () => void } {
    const backings = new Set<ArrayBufferLike>();
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const copyingWriter = (target: PassThrough): Writable => new Writable({
      ...(highWaterMark === undefined ? {} : { highWaterMark }),
      write(chunk: Buffer, _encoding, callback): void {
        if (target === toServer) backings.add(chunk.buffer);
        peakQueued.set(this, Math.max(peakQueued.get(this) ?? 0, this.writableLength));
        setTimeout(() => {
          target.write(Buffer.from(chunk));
          callback();
        }, 1);
      },
      final(callback): void {
        target.end();
        callback();
      },
    });
    return {
      carriers: [
        { readable: toClient, writable: copyingWriter(toServer), reusableWrites },
        { readable: toServer, writable: copyingWriter(toClient), reusableWrites },
      ],
      backings,
      destroy: () => { toServer.destroy(); toClient.destroy(); },
    };
  }

  it('reuses its write buffers when the carrier allows it, and every byte arrives intact', async () => {
    const { carriers, backings, destroy } = copyingCarriers(true);
    const client = new Multiplexer(carriers[0], { role: 'client' });
    const server = new Multiplexer(carriers[1], { role: 'server' });
    try {
      const streams = [client.open(), client.open(), client.open()];
      const sent = Promise.all(streams.map((stream) => writeRandom(stream, 6 * 1024 * 1024, 100_000)));
      const received = Promise.all(streams.map(async () => readAll(await server.accept(never))));
      const [digests, results] = await Promise.all([sent, received]);
      expect(results.map((result) => result.sha256).sort()).toEqual([...digests].sort());
      // 18 MiB went out in batches of up to 256 KiB: through a handful of buffers.
      expect(client.bytesWritten).toBeGreaterThan(18 * 1024 * 1024);
      expect(backings.size).toBeLessThan(20);
    } finally {
      await Promise.all([client.close(), server.close()]);
      destroy();
    }
  });

  it('keeps about 1 MiB in flight on a carrier that would accept far more, and reuses a few buffers', async () => {
    const { carriers, backings, destroy } = copyingCarriers(true, 64 * 1024 * 1024);
    const client = new Multiplexer(carriers[0], { role: 'client' });
    const server = new Multiplexer(carriers[1], { role: 'server' });
    try {
      // Eight streams have 2 MiB of credit between them from the start.
      const streams = Array.from({ length: 8 }, () => client.open());
      const sent = Promise.all(streams.map((stream) => writeRandom(stream, 2 * 1024 * 1024, 64 * 1024)));
      const received = Promise.all(streams.map(async () => readAll(await server.accept(never))));
      const [digests, results] = await Promise.all([sent, received]);
      expect(results.map((result) => result.sha256).sort()).toEqual([...digests].sort());
      // A carrier that never says "wait" (64 MiB high-water mark) still holds at most the
      // backlog limit plus the batch written when it was reached.
      expect(carriers[0].writable.writableLength).toBe(0);
      expect(peakQueued.get(carriers[0].writable)).toBeLessThanOrEqual(1024 * 1024 + 512 * 1024);
      expect(backings.size).toBeLessThanOrEqual(10);
    } finally {
      await Promise.all([client.close(), server.close()]);
      destroy();
    }
  });

  it('writes every batch from a new buffer otherwise', async () => {
    const { carriers, backings, destroy } = copyingCarriers(false);
    const client = new Multiplexer(carriers[0], { role: 'client' });
    const server = new Multiplexer(carriers[1], { role: 'server' });
    try {
      const stream = client.open();
      const [digest, result] = await Promise.all([writeRandom(stream, 4 * 1024 * 1024, 100_000), server.accept(never).then(readAll)]);
      expect(result.sha256).toBe(digest);
      // At least one new buffer per batch of at most 256 KiB plus one frame.
      expect(backings.size).toBeGreaterThanOrEqual(Math.floor((4 * 1024 * 1024) / (320 * 1024)));
    } finally {
      await Promise.all([client.close(), server.close()]);
      destroy();
    }
  });
});

/**
 * sha256 of everything `stream` delivers until EOF, without destroying it (its other half may
 * still be writing). It stops reading for a moment now and then, so received data waits in the
 * stream while later reads arrive.
 */
function digestUntilEnd(stream: WireStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let chunks = 0;
    stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      if (++chunks % 50 === 0) {
        stream.pause();
        setTimeout(() => stream.resume(), 5);
      }
    });
    stream.once('end', () => resolve(hash.digest('hex')));
    stream.once('error', reject);
  });
}

/** Many tiny writes (1–16 bytes): their frame headers often straddle two reads. */
async function writeTiny(stream: WireStream, count: number): Promise<string> {
  const hash = createHash('sha256');
  for (let index = 0; index < count; index++) {
    const chunk = randomBytes(1 + (index % 16));
    hash.update(chunk);
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  await new Promise<void>((resolve) => stream.end(resolve));
  return hash.digest('hex');
}

describe('Multiplexer over sockets with shared-buffer reads', () => {
  it('copies what it keeps of each read: streams both ways arrive intact whatever the read boundaries', async () => {
    const sockets = await socketPair('tcp', undefined, { pooled: true });
    const client = new Multiplexer({ readable: sockets.outer, writable: sockets.outer, reusableWrites: true }, { role: 'client' });
    const server = new Multiplexer({ readable: sockets.inner, writable: sockets.inner, reusableWrites: true }, { role: 'server' });
    try {
      const outgoing = [client.open(), client.open(), client.open()];
      // Odd chunk sizes put payloads across read boundaries; the tiny writes put headers there.
      const sent = Promise.all(outgoing.map((stream, index) => (index === 0 ? writeTiny(stream, 60_000) : writeRandom(stream, 6 * 1024 * 1024, 77_777))));
      const received = Promise.all(outgoing.map(async () => {
        const stream = await server.accept(never);
        const [result, answer] = await Promise.all([digestUntilEnd(stream), writeRandom(stream, 2 * 1024 * 1024, 5_003)]);
        return { result, answer };
      }));
      const answers = Promise.all(outgoing.map((stream) => digestUntilEnd(stream)));
      const [digests, results, replies] = await Promise.all([sent, received, answers]);
      expect(results.map(({ result }) => result).sort()).toEqual([...digests].sort());
      expect([...replies].sort()).toEqual(results.map(({ answer }) => answer).sort());
    } finally {
      await Promise.all([client.close(), server.close()]);
      sockets.close();
    }
  });
});
