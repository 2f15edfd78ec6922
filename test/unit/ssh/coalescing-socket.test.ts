import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CoalescingSocket } from '../../../src/agent/transport/ssh/socket.js';
import { eventually } from '../../helpers/eventually.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A loopback server recording the size of every chunk each accepted connection receives. */
async function recordingServer(): Promise<{ port: number; chunks: number[]; ended: () => boolean }> {
  const chunks: number[] = [];
  let ended = false;
  const server = net.createServer((socket) => {
    socket.on('data', (chunk: Buffer) => chunks.push(chunk.length));
    socket.on('end', () => { ended = true; socket.end(); });
  });
  cleanups.push(() => server.close());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  return { port: address.port, chunks, ended: () => ended };
}

describe('CoalescingSocket', () => {
  it('sends the writes of one turn in one go, in order, and flushes them in the same turn', async () => {
    const server = await recordingServer();
    const socket = new CoalescingSocket().connect({ host: '127.0.0.1', port: server.port });
    cleanups.push(() => socket.destroy());
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.setNoDelay(true);
    const pieces = Array.from({ length: 300 }, (_, i) => Buffer.alloc([4, 1000, 16][i % 3] ?? 1, i));
    for (const piece of pieces) socket.write(piece);
    expect(socket.writableCorked).toBe(1);
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(socket.writableCorked).toBe(0);
    socket.end();
    const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
    await eventually(() => expect(server.ended()).toBe(true));
    expect(server.chunks.reduce((sum, size) => sum + size, 0)).toBe(total);
    // 300 writes became a handful of reads (one writev; the kernel may still split it).
    expect(server.chunks.length).toBeLessThan(10);
  });

  it('keeps write callbacks and encodings working', async () => {
    const server = await recordingServer();
    const socket = new CoalescingSocket().connect({ host: '127.0.0.1', port: server.port });
    cleanups.push(() => socket.destroy());
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const done: string[] = [];
    socket.write(Buffer.from('ab'), () => done.push('buffer'));
    socket.write('6364', 'hex', () => done.push('hex'));
    socket.write('e');
    await eventually(() => expect(done).toEqual(['buffer', 'hex']));
    socket.end();
    await eventually(() => expect(server.ended()).toBe(true));
    expect(server.chunks.reduce((sum, size) => sum + size, 0)).toBe(5);
  });
});
