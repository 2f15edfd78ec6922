import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/base/logger.js';
import { connectRemoteDestination } from '../../../src/forward/remote/client.js';
import { useTempDirectories } from '../../helpers/temp.js';
import { agentLoop, closedPort, defer, outcome, SOCKET, tcpTarget, textOf } from './fixture.js';

const temp = useTempDirectories();
const timeout = (): AbortSignal => AbortSignal.timeout(10_000);

/** 'pending' unless `promise` settled within a couple of event-loop turns. */
async function settledSoon(promise: Promise<unknown>): Promise<'settled' | 'pending'> {
  const turns = new Promise<'pending'>((resolve) => setImmediate(() => setImmediate(() => resolve('pending'))));
  return Promise.race([promise.then(() => 'settled' as const), turns]);
}

describe('remote destination (agent dialer)', () => {
  it('dials the target once per dial() and carries bytes both ways after the status byte, with half-close', async () => {
    const home = await temp('mtfd-');
    const target = await tcpTarget((socket) => {
      // Answers only after the request ended: proves the daemon's end() reached the target as EOF.
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => socket.end(`echo:${Buffer.concat(chunks).toString('utf8')}`));
    });
    const loop = agentLoop({ home });
    const destination = await connectRemoteDestination(loop.client, { endpoint: `tcp:127.0.0.1:${target.port}`, socket: SOCKET }, { logger: silentLogger }, timeout());
    const streams = await Promise.all([destination.dial(timeout()), destination.dial(timeout()), destination.dial(timeout())]);
    streams.forEach((stream, index) => stream.end(`request ${index}`));
    expect(await Promise.all(streams.map((stream) => textOf(stream)))).toEqual(['echo:request 0', 'echo:request 1', 'echo:request 2']);
    await destination.shutdown();
    expect((await destination.failure).code).toBe('MUTAGEN_CANCELLED');
  });

  it('a refused dial rejects with MUTAGEN_FORWARD_DIAL and drops only that connection', async () => {
    const home = await temp('mtfd-');
    const loop = agentLoop({ home });
    const destination = await connectRemoteDestination(loop.client, { endpoint: `tcp:127.0.0.1:${await closedPort()}`, socket: SOCKET }, { logger: silentLogger }, timeout());
    const refused = await outcome(destination.dial(timeout()));
    expect(refused).toMatch(/^MUTAGEN_FORWARD_DIAL: /);
    expect(refused).toMatch(/ECONNREFUSED|refused/i);
    expect(await settledSoon(destination.failure)).toBe('pending');
    // Still usable: the next dial is refused the same way, not by a dead connection.
    expect(await outcome(destination.dial(timeout()))).toMatch(/^MUTAGEN_FORWARD_DIAL: /);
    await destination.shutdown();
  });

  it('a missing Unix socket target is a dial failure; once it exists, dials succeed on the same endpoint', async () => {
    const home = await temp('mtfd-');
    const socketPath = path.join(home, 'target.sock');
    const loop = agentLoop({ home });
    const destination = await connectRemoteDestination(loop.client, { endpoint: 'unix:~/target.sock', socket: SOCKET }, { logger: silentLogger }, timeout());
    expect(await outcome(destination.dial(timeout()))).toMatch(/^MUTAGEN_FORWARD_DIAL: /);
    const server = net.createServer((socket) => socket.end('hello from the unix target'));
    server.listen(socketPath);
    await once(server, 'listening');
    defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const stream = await destination.dial(timeout());
    stream.end();
    expect(await textOf(stream)).toBe('hello from the unix target');
    await destination.shutdown();
  });

  it('an invalid target address fails initialize with the address error', async () => {
    const home = await temp('mtfd-');
    const missingPort = agentLoop({ home });
    expect(await outcome(connectRemoteDestination(missingPort.client, { endpoint: 'tcp:127.0.0.1', socket: SOCKET }, { logger: silentLogger }, timeout())))
      .toMatch(/^MUTAGEN_INVALID_URL: remote initialization failure: /);
    const pipe = agentLoop({ home });
    expect(await outcome(connectRemoteDestination(pipe.client, { endpoint: 'npipe:\\\\.\\pipe\\x', socket: SOCKET }, { logger: silentLogger }, timeout())))
      .toBe('MUTAGEN_UNSUPPORTED: remote initialization failure: Windows named pipes not supported on POSIX systems');
  });

  it('an aborted dial rejects with MUTAGEN_CANCELLED', async () => {
    const home = await temp('mtfd-');
    const target = await tcpTarget((socket) => socket.end());
    const loop = agentLoop({ home });
    const destination = await connectRemoteDestination(loop.client, { endpoint: `tcp:127.0.0.1:${target.port}`, socket: SOCKET }, { logger: silentLogger }, timeout());
    const controller = new AbortController();
    controller.abort();
    expect(await outcome(destination.dial(controller.signal))).toBe('MUTAGEN_CANCELLED: operation cancelled');
    const stream = await destination.dial(timeout());
    stream.end();
    expect(await textOf(stream)).toBe('');
    await destination.shutdown();
  });

  it('a lost agent connection resolves failure (MUTAGEN_TRANSPORT) and later dials reject with it', async () => {
    const home = await temp('mtfd-');
    const target = await tcpTarget((socket) => socket.resume());
    const loop = agentLoop({ home });
    const destination = await connectRemoteDestination(loop.client, { endpoint: `tcp:127.0.0.1:${target.port}`, socket: SOCKET }, { logger: silentLogger }, timeout());
    const open = await destination.dial(timeout());
    const openError = new Promise<Error>((resolve) => open.once('error', resolve));
    await loop.cut();
    const failure = await destination.failure;
    expect([failure.code, failure.message.startsWith('connection to agent lost: ')]).toEqual(['MUTAGEN_TRANSPORT', true]);
    expect(await outcome(destination.dial(timeout()))).toBe(`MUTAGEN_TRANSPORT: ${failure.message}`);
    // Connections in flight end with the transport's error.
    expect((await openError).message).toMatch(/connection|closed/);
  });
});
