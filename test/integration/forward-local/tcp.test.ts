import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { silentLogger } from '../../../src/base/logger.js';
import { localDestination } from '../../../src/forward/local/dialer.js';
import type { LocalListener } from '../../../src/forward/local/listener.js';
import { listenLocal } from '../../../src/forward/local/listener.js';
import { defaultSocket, exchange, freePort, never, startEcho, startForwarder } from './harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(endpoint: string, signal = never): Promise<LocalListener> {
  const listener = await listenLocal(endpoint, { socket: defaultSocket, logger: silentLogger }, signal);
  cleanups.push(() => listener.shutdown());
  return listener;
}

async function listenError(endpoint: string): Promise<MutagenError> {
  try {
    const listener = await listen(endpoint);
    throw new Error(`listening on ${JSON.stringify(listener.address)}`);
  } catch (error) {
    if (error instanceof MutagenError) return error;
    throw error;
  }
}

async function reachable(options: net.NetConnectOpts): Promise<boolean> {
  const socket = net.connect(options);
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

function tcpPort(listener: LocalListener): number {
  if (listener.address.kind !== 'tcp') throw new Error('not tcp');
  return listener.address.port;
}

describe('local TCP forwarding', () => {
  it('forwards a connection end to end and counts its bytes', async () => {
    const echo = await startEcho();
    cleanups.push(() => echo.close());
    const forwarder = await startForwarder('tcp:127.0.0.1:0', `tcp:127.0.0.1:${echo.port}`);
    cleanups.push(() => forwarder.stop());
    expect((await exchange(forwarder.connectOptions(), 'hello through the forward')).toString()).toBe('hello through the forward');
    expect((await exchange(forwarder.connectOptions(), 'again')).toString()).toBe('again');
    await forwarder.stop();
    expect(forwarder.counters).toMatchObject({ open: 0, total: 2, dropped: 0, outbound: 30, inbound: 30 });
  });

  it('keeps the reply direction open after the client half-closes', async () => {
    // A target that answers only after it has read the whole request (EOF).
    const target = net.createServer({ allowHalfOpen: true }, (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => socket.end(`got ${Buffer.concat(chunks).length} bytes`));
    });
    target.listen({ host: '127.0.0.1', port: 0 });
    await once(target, 'listening');
    cleanups.push(() => new Promise((resolve) => target.close(() => resolve())));
    const address = target.address();
    if (typeof address !== 'object' || address === null) throw new Error('no address');
    const forwarder = await startForwarder('tcp:127.0.0.1:0', `tcp:127.0.0.1:${address.port}`);
    cleanups.push(() => forwarder.stop());
    expect((await exchange(forwarder.connectOptions(), Buffer.alloc(100_000, 7))).toString()).toBe('got 100000 bytes');
  });

  it('binds the first IPv4 address of a host name', async () => {
    const listener = await listen('tcp:localhost:0');
    expect(listener.address).toEqual({ kind: 'tcp', host: '127.0.0.1', port: tcpPort(listener) });
  });

  it('binds all interfaces, dual stack, for an empty tcp host', async () => {
    const listener = await listen('tcp::0');
    expect(listener.address).toMatchObject({ kind: 'tcp', host: '::' });
    expect(await reachable({ host: '127.0.0.1', port: tcpPort(listener) })).toBe(true);
    expect(await reachable({ host: '::1', port: tcpPort(listener) })).toBe(true);
  });

  it('restricts the family for tcp4 and tcp6', async () => {
    const four = await listen('tcp4::0');
    expect(four.address).toMatchObject({ kind: 'tcp', host: '0.0.0.0' });
    expect(await reachable({ host: '127.0.0.1', port: tcpPort(four) })).toBe(true);
    expect(await reachable({ host: '::1', port: tcpPort(four) })).toBe(false);
    const six = await listen('tcp6::0');
    expect(six.address).toMatchObject({ kind: 'tcp', host: '::' });
    expect(await reachable({ host: '::1', port: tcpPort(six) })).toBe(true);
    expect(await reachable({ host: '127.0.0.1', port: tcpPort(six) })).toBe(false);
  });

  it('binds loopback only when the URL says 127.0.0.1', async () => {
    const listener = await listen('tcp:127.0.0.1:0');
    expect(listener.address).toMatchObject({ kind: 'tcp', host: '127.0.0.1' });
    expect(await reachable({ host: '::1', port: tcpPort(listener) })).toBe(false);
  });

  it('says which port is in use', async () => {
    const first = await listen('tcp:127.0.0.1:0');
    const port = tcpPort(first);
    const error = await listenError(`tcp:127.0.0.1:${port}`);
    expect(error.code).toBe('MUTAGEN_FORWARD_LISTEN');
    expect(error.message).toBe(`unable to listen on tcp:127.0.0.1:${port}: port ${port} is already in use (on 127.0.0.1)`);
    expect(error.hint).toBe(`Another program listens on port ${port}; stop it, or choose another port.`);
  });

  it('says when the address is not one of this host', async () => {
    const error = await listenError('tcp:192.0.2.1:0');
    expect(error.code).toBe('MUTAGEN_FORWARD_LISTEN');
    expect(error.message).toBe('unable to listen on tcp:192.0.2.1:0: address 192.0.2.1 is not assigned to any interface of this host');
  });

  it('keeps the URL error codes for malformed endpoints', async () => {
    await expect(listenError('tcp:127.0.0.1')).resolves.toMatchObject({
      code: 'MUTAGEN_INVALID_URL',
      message: 'unable to listen on tcp:127.0.0.1: invalid forwarding endpoint "tcp:127.0.0.1": missing port in address',
    });
    await expect(listenError('npipe:x')).resolves.toMatchObject({
      code: 'MUTAGEN_UNSUPPORTED',
      message: 'unable to listen on npipe:x: Windows named pipes not supported on POSIX systems',
    });
  });

  it('frees the port at shutdown, keeps accepted connections open and rejects accept', async () => {
    const listener = await listenLocal('tcp:127.0.0.1:0', { socket: defaultSocket, logger: silentLogger }, never);
    const port = tcpPort(listener);
    const client = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const accepted = await listener.accept(never);
    await listener.shutdown();
    await listener.shutdown();
    await expect(listener.accept(never)).rejects.toMatchObject({ code: 'MUTAGEN_CANCELLED' });
    expect(await reachable({ host: '127.0.0.1', port })).toBe(false);
    const again = await listen(`tcp:127.0.0.1:${port}`);
    expect(tcpPort(again)).toBe(port);
    // The accepted connection still works both ways.
    accepted.write('still open');
    const [data] = (await once(client, 'data')) as [Buffer];
    expect(data.toString()).toBe('still open');
    client.destroy();
    accepted.destroy();
  });

  it('cancels: an aborted listen binds nothing, an aborted accept leaves the listener usable', async () => {
    const port = await freePort();
    const aborted = new AbortController();
    aborted.abort();
    await expect(listenLocal(`tcp:127.0.0.1:${port}`, { socket: defaultSocket, logger: silentLogger }, aborted.signal)).rejects.toMatchObject({ code: 'MUTAGEN_CANCELLED' });
    expect(await reachable({ host: '127.0.0.1', port })).toBe(false);
    const listener = await listen(`tcp:127.0.0.1:${port}`);
    const controller = new AbortController();
    const pending = listener.accept(controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'MUTAGEN_CANCELLED' });
    const client = net.connect({ host: '127.0.0.1', port });
    const accepted = await listener.accept(never);
    expect(accepted).toBeInstanceOf(net.Socket);
    client.destroy();
    accepted.destroy();
  });

  it('drops a connection the queue holds when its client goes away before accept', async () => {
    const listener = await listen('tcp:127.0.0.1:0');
    const gone = net.connect({ host: '127.0.0.1', port: tcpPort(listener) });
    await once(gone, 'connect');
    gone.resetAndDestroy();
    const kept = net.connect({ host: '127.0.0.1', port: tcpPort(listener) });
    await once(kept, 'connect');
    kept.write('kept');
    // The reset connection may or may not have been dropped yet; the first live one arrives either way.
    let accepted = await listener.accept(never);
    if (accepted.closed || accepted.destroyed) accepted = await listener.accept(never);
    accepted.on('error', () => undefined);
    const [data] = (await once(accepted, 'data')) as [Buffer];
    expect(data.toString()).toBe('kept');
    kept.destroy();
    accepted.destroy();
  });
});

describe('local TCP destination', () => {
  it('reports a refused dial as MUTAGEN_FORWARD_DIAL with a hint', async () => {
    const port = await freePort();
    const destination = localDestination(`tcp:127.0.0.1:${port}`, { logger: silentLogger });
    const failure = await destination.dial(never).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(MutagenError);
    expect(failure).toMatchObject({
      code: 'MUTAGEN_FORWARD_DIAL',
      message: `unable to connect to tcp:127.0.0.1:${port}: connection refused`,
      hint: `Nothing accepts connections at tcp:127.0.0.1:${port}; start the target service or check the address.`,
    });
    await destination.shutdown();
  });

  it('validates the endpoint at once', () => {
    expect(() => localDestination('tcp:nowhere', { logger: silentLogger })).toThrow(expect.objectContaining({ code: 'MUTAGEN_INVALID_URL' }) as Error);
    expect(() => localDestination('npipe:x', { logger: silentLogger })).toThrow(expect.objectContaining({ code: 'MUTAGEN_UNSUPPORTED' }) as Error);
  });

  it('dials the loopback address for an empty host, and cancels after shutdown or abort', async () => {
    const echo = await startEcho();
    cleanups.push(() => echo.close());
    const destination = localDestination(`tcp::${echo.port}`, { logger: silentLogger });
    const socket = await destination.dial(never);
    socket.end('ping');
    const [data] = (await once(socket, 'data')) as [Buffer];
    expect(data.toString()).toBe('ping');
    socket.destroy();
    const aborted = new AbortController();
    aborted.abort();
    await expect(destination.dial(aborted.signal)).rejects.toMatchObject({ code: 'MUTAGEN_CANCELLED' });
    await destination.shutdown();
    await expect(destination.dial(never)).rejects.toMatchObject({ code: 'MUTAGEN_CANCELLED' });
  });

  it('drops only the one connection when the target refuses; the listener keeps serving', async () => {
    const port = await freePort();
    const forwarder = await startForwarder('tcp:127.0.0.1:0', `tcp:127.0.0.1:${port}`);
    cleanups.push(() => forwarder.stop());
    expect((await exchange(forwarder.connectOptions(), 'lost')).length).toBe(0);
    expect(forwarder.counters).toMatchObject({ dropped: 1, total: 1 });
    expect(forwarder.counters.lastError).toMatchObject({ code: 'MUTAGEN_FORWARD_DIAL' });
    // The target comes up on that port: the same listener now forwards.
    const echo = await startEcho({ host: '127.0.0.1', port });
    cleanups.push(() => echo.close());
    expect((await exchange(forwarder.connectOptions(), 'found')).toString()).toBe('found');
    expect(forwarder.counters).toMatchObject({ dropped: 1, total: 2 });
  });
});
