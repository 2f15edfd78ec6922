import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { adoptPooled, consumeReads, copyIntoChunk, releaseChunk } from '../../../src/wire/pooled-reads.js';
import { splice } from '../../../src/forward/splice.js';
import type { SocketPair } from './socket-pairs.js';
import { closed, readAll, socketPair } from './socket-pairs.js';

const never = new AbortController().signal;
const pairs: SocketPair[] = [];
afterEach(() => {
  for (const pair of pairs.splice(0)) pair.close();
});

async function pair(pooled: boolean): Promise<SocketPair> {
  const made = await socketPair('tcp', undefined, { pooled });
  pairs.push(made);
  return made;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('pooled reads', () => {
  it('leaves a socket nobody consumes reading like any socket, both ends', async () => {
    const { outer, inner } = await pair(true);
    outer.end('from the dialled end');
    expect((await readAll(inner)).toString()).toBe('from the dialled end');
    inner.end('from the accepted end');
    expect((await readAll(outer)).toString()).toBe('from the accepted end');
  });

  it('hands buffered reads first, then later ones, to the consumer that takes a socket over', async () => {
    const { outer, inner } = await pair(true);
    outer.write('early');
    await once(inner, 'readable');
    const got: string[] = [];
    const ended = once(inner, 'end');
    expect(consumeReads(inner, (bytes) => {
      got.push(bytes.toString());
      return true;
    })).toBe(true);
    // A stream is taken over once: a second consumer is refused.
    expect(consumeReads(inner, () => true)).toBe(false);
    outer.end('late');
    await ended;
    expect(got.join('')).toBe('earlylate');
  });

  it('reuses a chunk given back, and ignores buffers that are not its own', () => {
    const first = copyIntoChunk(Buffer.alloc(10_000, 1));
    expect(first.equals(Buffer.alloc(10_000, 1))).toBe(true);
    releaseChunk(first);
    // Not from the pool, or a view into a pooled chunk: never taken.
    releaseChunk(Buffer.alloc(65_536));
    const second = copyIntoChunk(Buffer.alloc(20_000, 2));
    expect(second.buffer).toBe(first.buffer);
    releaseChunk(second.subarray(1));
    expect(copyIntoChunk(Buffer.alloc(20_000, 3)).buffer).not.toBe(second.buffer);
    // Small copies are plain buffers, never taken back.
    const tiny = copyIntoChunk(Buffer.from('tiny'));
    expect(tiny.toString()).toBe('tiny');
    releaseChunk(tiny);
    expect(copyIntoChunk(Buffer.alloc(20_000, 4)).buffer).not.toBe(tiny.buffer);
  });

  it('leaves plain sockets to their reader', async () => {
    const { outer, inner } = await pair(false);
    expect(consumeReads(inner, () => true)).toBe(false);
    outer.end('plain');
    expect((await readAll(inner)).toString()).toBe('plain');
  });

  it('returns a socket without a handle unchanged', async () => {
    const { inner } = await pair(false);
    inner.destroy();
    await closed(inner);
    expect(adoptPooled(inner, { allowHalfOpen: true })).toBe(inner);
  });

  it('carries 32 MiB intact through a splice while the target stalls now and then', async () => {
    const front = await pair(true);
    const back = await pair(true);
    const done = splice(front.inner, back.outer, {}, never);
    const data = randomBytes(32 * 1024 * 1024);
    const received: Buffer[] = [];
    let stalls = 0;
    back.inner.on('data', (chunk: Buffer) => {
      received.push(Buffer.from(chunk));
      // Stop reading for a moment every few MiB: chunks queue up and the reader pauses.
      if (received.length % 200 === 0) {
        stalls++;
        back.inner.pause();
        setTimeout(() => back.inner.resume(), 30);
      }
    });
    const ended = once(back.inner, 'end');
    front.outer.end(data);
    await ended;
    back.inner.end();
    await done;
    expect(stalls).toBeGreaterThan(0);
    expect(sha256(Buffer.concat(received))).toBe(sha256(data));
  });
});
