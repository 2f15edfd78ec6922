import { randomBytes, createHash } from 'node:crypto';
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { portCarrier } from '../../../src/sync/worker/port-carrier.js';
import { Multiplexer } from '../../../src/wire/multiplexer.js';
import { eventually } from '../../helpers/eventually.js';

function sha(chunks: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

describe('portCarrier', () => {
  it('carries bytes in order both ways, transferring whole buffers and copying views', async () => {
    const { port1, port2 } = new MessageChannel();
    const a = portCarrier(port1, { detachWritten: true });
    const b = portCarrier(port2);
    const sent = [randomBytes(100_000), randomBytes(10).subarray(2, 7), Buffer.allocUnsafe(300_000).fill(7), Buffer.from('tail')];
    const expected = sha(sent);
    const received: Buffer[] = [];
    b.readable.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = once(b.readable, 'end');
    const owned = Buffer.allocUnsafe(200_000).fill(9);
    const view = sent[1];
    for (const chunk of sent) a.writable.write(Buffer.from(chunk)); // fresh buffers: the writer gives them up
    a.writable.write(owned);
    a.writable.end();
    await ended;
    const all = Buffer.concat(received);
    expect(all.length).toBe(sent.reduce((n, c) => n + c.length, 0) + 200_000);
    expect(sha([all.subarray(0, all.length - 200_000)])).toBe(expected);
    expect(all.subarray(all.length - 200_000).every((x) => x === 9)).toBe(true);
    // The whole-buffer chunk moved (detached on the writer's side); the view was copied.
    expect(owned.length).toBe(0);
    expect(view?.length).toBe(5);
    // Half-close: the other direction still works, and once both ended the port is closed.
    b.writable.end(Buffer.from('reply'));
    const reply: Buffer[] = [];
    a.readable.on('data', (chunk: Buffer) => reply.push(chunk));
    await once(a.readable, 'end');
    expect(Buffer.concat(reply).toString()).toBe('reply');
    await once(port1, 'close');
  });

  it('stops the writer after `window` unacknowledged bytes until the reader consumes', async () => {
    const { port1, port2 } = new MessageChannel();
    const a = portCarrier(port1, { window: 64 * 1024 });
    const b = portCarrier(port2, { window: 64 * 1024 });
    let accepted = 0;
    const writeAll = (async () => {
      for (let i = 0; i < 64; i++) {
        if (!a.writable.write(Buffer.alloc(16 * 1024))) await once(a.writable, 'drain');
        accepted += 16 * 1024;
      }
    })();
    // Nobody reads b: the writer is held near window + its own highWaterMark, far below 1 MiB.
    await eventually(() => expect(accepted).toBeGreaterThan(0), { timeoutMs: 5_000 });
    await new Promise((resolve) => setImmediate(resolve));
    await eventually(() => expect(b.readable.readableLength).toBeGreaterThanOrEqual(64 * 1024), { timeoutMs: 5_000 });
    expect(accepted).toBeLessThanOrEqual(256 * 1024);
    let read = 0;
    b.readable.on('data', (chunk: Buffer) => { read += chunk.length; });
    await writeAll;
    await eventually(() => expect(read).toBe(64 * 16 * 1024), { timeoutMs: 5_000 });
    // A peer destroyed without an error still ends this side: its halves fail with MUTAGEN_TRANSPORT.
    const failed = once(b.readable, 'error');
    b.writable.on('error', () => undefined);
    a.destroy();
    const [error] = (await failed) as [MutagenError];
    expect([error.code, error.message]).toEqual(['MUTAGEN_TRANSPORT', 'connection closed']);
  });

  it('a terminated peer thread fails both halves with MUTAGEN_TRANSPORT, and a multiplexer on them closes', async () => {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker('require("node:worker_threads").workerData.port.on("message", () => undefined);', {
      eval: true, workerData: { port: port2 }, transferList: [port2],
    });
    await once(worker, 'online');
    const carrier = portCarrier(port1);
    const mux = new Multiplexer(carrier, { role: 'client' });
    await worker.terminate();
    const error = await mux.closed;
    expect(error).toBeInstanceOf(MutagenError);
    expect([error?.code, error?.message]).toEqual(['MUTAGEN_TRANSPORT', 'connection closed']);
  });

  it('rejects a malformed message with MUTAGEN_PROTOCOL', async () => {
    const { port1, port2 } = new MessageChannel();
    const carrier = portCarrier(port1);
    const failed = once(carrier.readable, 'error');
    carrier.writable.on('error', () => undefined);
    port2.postMessage({ type: 'data', chunk: 'not bytes' });
    const [error] = (await failed) as [MutagenError];
    expect([error.code, error.message]).toEqual(['MUTAGEN_PROTOCOL', 'malformed message from the worker thread']);
    port2.close();
  });
});
