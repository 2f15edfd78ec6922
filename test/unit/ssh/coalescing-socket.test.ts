import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { installSshPacketPool, SSH_PACKET_CAPACITY, SSH_PACKET_POOL_KEY, SSH_PACKET_POOL_MINIMUM, SshPacketPool } from '../../../src/agent/transport/ssh/packet-pool.js';
import { CoalescingSocket } from '../../../src/agent/transport/ssh/socket.js';
import { eventually } from '../../helpers/eventually.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A loopback server recording the size of every chunk each accepted connection receives, and a digest of all bytes. */
async function recordingServer(): Promise<{ port: number; chunks: number[]; ended: () => boolean; digest: () => string }> {
  const chunks: number[] = [];
  const hash = createHash('sha256');
  let ended = false;
  const server = net.createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk.length);
      hash.update(chunk);
    });
    socket.on('end', () => { ended = true; socket.end(); });
  });
  cleanups.push(() => server.close());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  return { port: address.port, chunks, ended: () => ended, digest: () => hash.digest('hex') };
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

describe('SshPacketPool', () => {
  it('takes back a buffer written whole, once; not a view of it, nor one it did not hand out', () => {
    const pool = new SshPacketPool();
    const packet = pool.take(SSH_PACKET_POOL_MINIMUM);
    expect(packet.byteLength).toBe(SSH_PACKET_POOL_MINIMUM);
    expect(pool.releaser(packet.subarray(0, 4))).toBeUndefined();
    expect(pool.releaser(packet.subarray(4))).toBeUndefined();
    expect(pool.releaser(Buffer.alloc(SSH_PACKET_POOL_MINIMUM))).toBeUndefined();
    const release = pool.releaser(packet);
    expect(release).toBeDefined();
    expect(pool.releaser(packet)).toBeUndefined(); // once per take()
    release?.();
    const next = pool.take(32_805);
    expect(next.buffer).toBe(packet.buffer); // the same memory again
    expect(pool.take(32_805).buffer).not.toBe(packet.buffer);
  });

  it('hands out small packets and packets larger than its buffers as plain, unpooled buffers', () => {
    const pool = new SshPacketPool();
    for (const size of [SSH_PACKET_CAPACITY + 1, SSH_PACKET_POOL_MINIMUM - 1, 100]) {
      const plain = pool.take(size);
      expect(plain.byteLength).toBe(size);
      expect(pool.releaser(plain)).toBeUndefined();
    }
  });

  it('is registered once, under the global the patched ssh2 reads', () => {
    const pool = installSshPacketPool();
    expect(installSshPacketPool()).toBe(pool);
    expect((globalThis as Record<symbol, unknown>)[SSH_PACKET_POOL_KEY]).toBe(pool);
  });

  it('gets pooled packets back from CoalescingSocket once written, with every byte delivered intact', async () => {
    const server = await recordingServer();
    const socket = new CoalescingSocket().connect({ host: '127.0.0.1', port: server.port });
    cleanups.push(() => socket.destroy());
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const pool = installSshPacketPool();
    const expected = createHash('sha256');
    const backings = new Set<ArrayBufferLike>();
    // Packets written, filled with a pattern, then (after their writes completed) reused.
    for (let round = 0; round < 20; round++) {
      let completed = 0;
      for (let i = 0; i < 40; i++) {
        const packet = pool.take(32_768 + 37);
        packet.fill((round * 40 + i) & 0xff);
        backings.add(packet.buffer);
        expected.update(packet);
        socket.write(packet, () => { completed++; });
      }
      await eventually(() => expect(completed).toBe(40));
    }
    socket.end();
    await eventually(() => expect(server.ended()).toBe(true));
    expect(server.digest()).toBe(expected.digest('hex'));
    // 800 packets came from far fewer buffers: they were taken back after their writes.
    expect(backings.size).toBeLessThanOrEqual(80);
  });
});
