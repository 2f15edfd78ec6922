import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { duplexPair } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../../src/wire/frame.js';
import { encodeFrame, FrameDecoder, INITIAL_STREAM_CREDIT } from '../../../src/wire/frame.js';
import { Multiplexer } from '../../../src/wire/multiplexer.js';
import { MAX_STREAM_WINDOW } from '../../../src/wire/receive-window.js';
import { eventually } from '../../helpers/eventually.js';
import { carrierOf, readAll, writeRandom, useCleanups } from './pair.js';

const never = new AbortController().signal;
const { pair, defer } = useCleanups();

/** A client multiplexer whose carrier's other end is decoded frame by frame (and answered by hand). */
function tappedClient(): { mux: Multiplexer; raw: Duplex; frames: Frame[] } {
  const [a, b] = duplexPair();
  defer(() => { a.destroy(); b.destroy(); });
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  b.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk)));
  return { mux: new Multiplexer(carrierOf(a), { role: 'client' }), raw: b, frames };
}

describe('receive-window auto-tuning', () => {
  it('grows the window of a stream whose consumer keeps up, up to the per-stream maximum', async () => {
    const { client, server } = pair();
    const local = client.open();
    const sent = writeRandom(local, 32 * 1024 * 1024, 256 * 1024);
    const remote = await server.accept(never);
    remote.tuneReceiveWindow(MAX_STREAM_WINDOW);
    const received = await readAll(remote);
    expect(received).toEqual({ bytes: 32 * 1024 * 1024, sha256: await sent });
    expect(remote.receiveWindow).toBeGreaterThan(INITIAL_STREAM_CREDIT);
    expect(remote.receiveWindow).toBeLessThanOrEqual(MAX_STREAM_WINDOW);
  });

  it('keeps the initial window of streams that did not ask for tuning, and stops at their own maximum', async () => {
    const { client, server } = pair();
    const [plain, capped] = [client.open(), client.open()];
    const sent = [writeRandom(plain, 8 * 1024 * 1024, 256 * 1024), writeRandom(capped, 8 * 1024 * 1024, 256 * 1024)];
    const [plainRemote, cappedRemote] = [await server.accept(never), await server.accept(never)];
    cappedRemote.tuneReceiveWindow(2 * INITIAL_STREAM_CREDIT);
    const received = await Promise.all([readAll(plainRemote), readAll(cappedRemote)]);
    expect(received.map((r) => r.sha256)).toEqual(await Promise.all(sent));
    expect(plainRemote.receiveWindow).toBe(INITIAL_STREAM_CREDIT);
    expect(cappedRemote.receiveWindow).toBe(2 * INITIAL_STREAM_CREDIT);
  });

  it('never grows the window of a stream whose consumer does not read', async () => {
    const { client, server } = pair();
    const slow = client.open();
    const writing = writeRandom(slow, 4 * 1024 * 1024, 64 * 1024).catch(() => '');
    const remote = await server.accept(never);
    remote.tuneReceiveWindow(MAX_STREAM_WINDOW);
    remote.pause();
    await eventually(() => expect(remote.readableLength).toBe(INITIAL_STREAM_CREDIT));
    // The writer is blocked (and said so); the window stayed put and nothing more arrived.
    await eventually(() => expect(slow.blockedSent).toBe(true));
    expect(remote.receiveWindow).toBe(INITIAL_STREAM_CREDIT);
    expect(remote.readableLength).toBe(INITIAL_STREAM_CREDIT);
    remote.destroy();
    await writing;
  });

  it('keeps the growth of all streams of a connection within its budget', async () => {
    const budget = 1024 * 1024;
    const { client, server } = pair({ server: { maxWindowGrowth: budget } });
    const streams = [client.open(), client.open(), client.open()];
    const sent = streams.map((stream) => writeRandom(stream, 8 * 1024 * 1024, 256 * 1024));
    const remotes = [await server.accept(never), await server.accept(never), await server.accept(never)];
    for (const remote of remotes) remote.tuneReceiveWindow(MAX_STREAM_WINDOW);
    let largest = 0;
    const readers = remotes.map(async (remote) => {
      const hash = createHash('sha256');
      for await (const chunk of remote) {
        hash.update(chunk as Buffer);
        largest = Math.max(largest, remotes.reduce((sum, r) => sum + (r.destroyed ? 0 : r.receiveWindow - INITIAL_STREAM_CREDIT), 0));
      }
      return hash.digest('hex');
    });
    expect(await Promise.all(readers)).toEqual(await Promise.all(sent));
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThanOrEqual(budget);
  });

  it('delivers everything to a reader that keeps pausing and resuming', async () => {
    const { client, server } = pair();
    const local = client.open();
    const sent = writeRandom(local, 16 * 1024 * 1024, 100_000);
    const remote = await server.accept(never);
    remote.tuneReceiveWindow(MAX_STREAM_WINDOW);
    const hash = createHash('sha256');
    let bytes = 0;
    let seed = 7;
    await new Promise<void>((resolve, reject) => {
      remote.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
        seed = (seed * 48_271) % 2_147_483_647;
        if (seed % 3 === 0) {
          remote.pause();
          const resume = (): void => { remote.resume(); };
          if (seed % 2 === 0) setImmediate(resume); else setTimeout(resume, 1);
        }
      });
      remote.once('end', resolve);
      remote.once('error', reject);
    });
    expect({ bytes, sha256: hash.digest('hex') }).toEqual({ bytes: 16 * 1024 * 1024, sha256: await sent });
  });
});

describe('credit frames', () => {
  it('sends "blocked" once when out of credit, and grants back in steps of a quarter window', async () => {
    const { mux, raw, frames } = tappedClient();
    const stream = mux.open();
    stream.write(Buffer.alloc(INITIAL_STREAM_CREDIT + 1000, 1));
    await eventually(() => expect(frames.filter((f) => f.type === 'blocked')).toHaveLength(1));
    const dataBytes = frames.filter((f) => f.type === 'data').reduce((sum, f) => sum + f.payload.length, 0);
    expect(dataBytes).toBe(INITIAL_STREAM_CREDIT);
    // A grant ends the blocked state; running out again is reported again.
    const grant = Buffer.alloc(4);
    grant.writeUInt32BE(500, 0);
    raw.write(encodeFrame({ stream: stream.id, type: 'credit', payload: grant }));
    await eventually(() => expect(frames.filter((f) => f.type === 'blocked')).toHaveLength(2));
    expect(frames.filter((f) => f.type === 'data').reduce((sum, f) => sum + f.payload.length, 0)).toBe(INITIAL_STREAM_CREDIT + 500);
  });

  it('grants credit in a few large frames, not one per read', async () => {
    const [a, b] = duplexPair();
    defer(() => { a.destroy(); b.destroy(); });
    const client = new Multiplexer(carrierOf(a), { role: 'client' });
    const frames: Frame[] = [];
    const decoder = new FrameDecoder();
    const server = new Multiplexer({ readable: b, writable: tapWrites(b, (chunk) => frames.push(...decoder.push(chunk))) }, { role: 'server' });
    defer(() => Promise.all([client.close(), server.close()]).then(() => undefined));
    const local = client.open();
    const sent = writeRandom(local, 8 * 1024 * 1024, 16 * 1024);
    const remote = await server.accept(never);
    expect((await readAll(remote)).sha256).toBe(await sent);
    const credits = frames.filter((f) => f.type === 'credit');
    // At least a quarter of the (initial) window per frame: 8 MiB needs at most 8 MiB / 64 KiB of them.
    expect(credits.length).toBeGreaterThan(0);
    expect(credits.length).toBeLessThanOrEqual((8 * 1024 * 1024) / (INITIAL_STREAM_CREDIT / 4));
  });
});

/** `duplex` as a Writable that reports every chunk written to it first. */
function tapWrites(duplex: Duplex, tap: (chunk: Buffer) => void): Duplex {
  const write = duplex.write.bind(duplex);
  return Object.assign(duplex, {
    write: (chunk: Buffer, ...rest: unknown[]): boolean => {
      tap(chunk);
      return Reflect.apply(write, duplex, [chunk, ...rest]) === true;
    },
  });
}
