import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/base/logger.js';
import { localDestination } from '../../../src/forward/local/dialer.js';
import { listenLocal } from '../../../src/forward/local/listener.js';
import { splice } from '../../../src/forward/splice.js';
import { eventually } from '../../helpers/eventually.js';
import { MiB, sendBlocks } from './fixtures/stream.js';
import { defaultSocket, never, startEcho, startForwarder } from './harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('forwarding throughput and scale', () => {
  it('carries 1 GiB tcp → tcp byte-identical', async () => {
    // Sender and sink run in a child process; this process only forwards.
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/stream-child.ts', import.meta.url)), '1024'], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        process.kill(child.pid, 'SIGKILL');
        await once(child, 'exit');
      }
    });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const { port } = z.object({ port: z.number() }).parse(JSON.parse(String((await lines.next()).value)));
    const forwarder = await startForwarder('tcp:127.0.0.1:0', `tcp:127.0.0.1:${port}`);
    cleanups.push(() => forwarder.stop());
    const forwarderPort = forwarder.listener.address.kind === 'tcp' ? forwarder.listener.address.port : 0;
    child.stdin.end(`${forwarderPort}\n`);
    const result = z.object({ sent: z.string(), received: z.string(), bytes: z.number(), reply: z.string(), seconds: z.number() })
      .parse(JSON.parse(String((await lines.next()).value)));
    expect(result.bytes).toBe(1024 * MiB);
    expect(result.received).toBe(result.sent);
    // The sink's digest came back through the reply direction after the sender half-closed.
    expect(result.reply).toBe(result.sent);
    await eventually(() => expect(forwarder.counters).toMatchObject({ open: 0, total: 1, outbound: 1024 * MiB, inbound: 64 }));
    process.stderr.write(`[fwd-local] 1 GiB through splice in ${result.seconds.toFixed(2)} s (${(1024 / result.seconds).toFixed(0)} MiB/s; sender and sink hash in a child process)\n`);
  }, 120_000);

  it('echoes 1,000 concurrent connections with flat memory', async () => {
    const echo = await startEcho();
    cleanups.push(() => echo.close());
    const forwarder = await startForwarder('tcp:127.0.0.1:0', `tcp:127.0.0.1:${echo.port}`);
    cleanups.push(() => forwarder.stop());
    const count = 1000;
    const size = 16 * 1024;
    globalThis.gc?.();
    const before = process.memoryUsage();
    // Phase 1: every client connects, sends its payload and reads it back; all stay open.
    const clients = await Promise.all(Array.from({ length: count }, async (_, index) => {
      const payload = Buffer.alloc(size, index % 251);
      payload.writeUInt32LE(index, 0);
      const socket = net.connect({ ...forwarder.connectOptions(), allowHalfOpen: true } as net.NetConnectOpts);
      await once(socket, 'connect');
      const chunks: Buffer[] = [];
      let length = 0;
      const echoed = new Promise<void>((resolve) => {
        socket.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          length += chunk.length;
          if (length === size) resolve();
        });
      });
      socket.write(payload);
      await echoed;
      return { socket, payload, chunks };
    }));
    expect(forwarder.counters.open).toBe(count);
    const during = process.memoryUsage();
    // Phase 2: all half-close; each sees EOF after its echo, nothing more.
    await Promise.all(clients.map(async ({ socket, payload, chunks }) => {
      const ended = once(socket, 'end');
      socket.end();
      await ended;
      socket.destroy();
      expect(Buffer.concat(chunks).equals(payload)).toBe(true);
    }));
    await eventually(() => expect(forwarder.counters).toMatchObject({ open: 0, total: count, dropped: 0, outbound: count * size, inbound: count * size }));
    const growth = (during.rss - before.rss) / MiB;
    process.stderr.write(`[fwd-local] 1,000 open forwarded connections: rss +${growth.toFixed(1)} MiB, heap +${((during.heapUsed - before.heapUsed) / MiB).toFixed(1)} MiB (clients, echo server and forwarder in one process)\n`);
    // 4,000 sockets in this process (clients, accepted, dialled, echo side); far less than 16 KiB ×
    // 4,000 × a few copies would mean buffers are not being released.
    expect(growth).toBeLessThan(256);
  }, 120_000);

  it('keeps the bytes it holds bounded when the target stops reading', async () => {
    // A target that reads nothing until told to.
    let targetSocket: net.Socket | undefined;
    const target = net.createServer({ allowHalfOpen: true }, (socket) => { socket.pause(); targetSocket = socket; });
    target.listen({ host: '127.0.0.1', port: 0 });
    await once(target, 'listening');
    cleanups.push(() => new Promise((resolve) => { targetSocket?.destroy(); target.close(() => resolve()); }));
    const targetAddress = target.address();
    if (typeof targetAddress !== 'object' || targetAddress === null) throw new Error('no address');
    const listener = await listenLocal('tcp:127.0.0.1:0', { socket: defaultSocket, logger: silentLogger }, never);
    cleanups.push(() => listener.shutdown());
    const destination = localDestination(`tcp:127.0.0.1:${targetAddress.port}`, { logger: silentLogger });
    if (listener.address.kind !== 'tcp') throw new Error('not tcp');
    const client = net.connect({ host: '127.0.0.1', port: listener.address.port, allowHalfOpen: true });
    const accepted = await listener.accept(never);
    const dialled = await destination.dial(never);
    let outbound = 0;
    const done = splice(accepted, dialled, { onOutbound: (n) => { outbound += n; } }, never);
    const total = 256;
    const sending = sendBlocks(client, total);
    // The chain fills up: the splice waits for 'drain' and the client's own writes back up.
    await eventually(() => {
      expect(dialled.writableNeedDrain).toBe(true);
      expect(client.writableNeedDrain).toBe(true);
    });
    let maxHeld = 0;
    for (let sample = 0; sample < 50; sample += 1) {
      maxHeld = Math.max(maxHeld, dialled.writableLength + accepted.readableLength);
      await delay(10);
    }
    process.stderr.write(`[fwd-local] paused target: splice holds at most ${(maxHeld / 1024).toFixed(0)} KiB; ${(outbound / MiB).toFixed(1)} MiB of ${total} MiB read from the client so far\n`);
    expect(maxHeld).toBeLessThanOrEqual(MiB);
    expect(outbound).toBeLessThan(64 * MiB);
    // Once the target reads again, everything arrives intact.
    const hash = createHash('sha256');
    let received = 0;
    const drained = new Promise<void>((resolve) => {
      targetSocket?.on('data', (chunk: Buffer) => { received += chunk.length; hash.update(chunk); });
      targetSocket?.on('end', () => resolve());
    });
    targetSocket?.resume();
    const sent = await sending;
    await drained;
    expect(received).toBe(total * MiB);
    expect(hash.digest('hex')).toBe(sent);
    targetSocket?.end();
    client.end();
    await done;
    client.destroy();
  }, 120_000);
});
