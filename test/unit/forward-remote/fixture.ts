import { once } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { silentLogger } from '../../../src/base/logger.js';
import type { SocketOptions } from '../../../src/forward/endpoint.js';
import { serveForwardEndpoint } from '../../../src/forward/remote/server.js';
import { Channel, type RequestHandler } from '../../../src/wire/channel.js';
import type { Multiplexer } from '../../../src/wire/multiplexer.js';
import { muxPair } from '../wire/pair.js';

export const SOCKET: SocketOptions = { overwriteMode: 'leave', permissionMode: 0o600 };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs `cleanup` after the current test (last registered, first run). */
export function defer(cleanup: () => Promise<void> | void): void {
  cleanups.push(async () => { await cleanup(); });
}

export interface AgentLoop {
  /** The daemon's end (client role). */
  readonly client: Multiplexer;
  /** The agent's end (server role). */
  readonly server: Multiplexer;
  /** serveForwardEndpoint's promise (or the fake agent's). */
  readonly served: Promise<void>;
  /** Cuts the link as a dropped connection would. */
  cut(): Promise<void>;
}

/** serveForwardEndpoint on one end of an in-memory pipe, the daemon's multiplexer on the other. */
export function agentLoop(options: { readonly home: string; readonly maxConnections?: number }): AgentLoop {
  const pair = muxPair();
  const stop = new AbortController();
  const served = serveForwardEndpoint(pair.server, {
    homeDirectory: options.home,
    logger: silentLogger,
    ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
  }, stop.signal);
  defer(async () => {
    stop.abort();
    await served;
    await pair.close();
  });
  return { client: pair.client, server: pair.server, served, cut: pair.close };
}

/** An agent that answers on the channel with `handler` (for lies); `channel` is its end of stream 1. */
export function fakeAgent(handler: RequestHandler): AgentLoop & { readonly channel: Promise<Channel> } {
  const pair = muxPair();
  const channel = pair.server.accept(AbortSignal.timeout(10_000)).then((stream) => new Channel(stream, { handler }));
  const served = channel.then(async (open) => {
    await Promise.race([open.closed, pair.server.closed]);
    await open.close();
  });
  served.catch(() => undefined);
  defer(async () => {
    await pair.close();
    await served.catch(() => undefined);
  });
  return { client: pair.client, server: pair.server, served, cut: pair.close, channel };
}

/** A TCP server on 127.0.0.1 (random port) calling `onConnection` for each socket; closed after the test. */
export async function tcpTarget(onConnection: (socket: net.Socket) => void): Promise<{ readonly port: number; readonly server: net.Server }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { port: address.port, server };
}

/** A TCP port on 127.0.0.1 nobody listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** Connects to a Unix socket; the socket is destroyed after the test. */
export async function connectUnix(socketPath: string): Promise<net.Socket> {
  const socket = net.createConnection(socketPath);
  defer(() => { socket.destroy(); });
  await once(socket, 'connect');
  return socket;
}

/** `CODE: message` of a rejection, 'resolved' otherwise. */
export async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof MutagenError ? `${error.code}: ${error.message}` : `not a MutagenError: ${String(error)}`;
  }
  return 'resolved';
}

/**
 * Reads everything until EOF, as text. (Not `for await`: its iterator destroys the stream at
 * the end, which would reset the write direction the test still uses.)
 */
export function textOf(stream: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.once('error', reject);
  });
}
