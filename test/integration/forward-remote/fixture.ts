import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { Logger, parseLogLevel, silentLogger } from '../../../src/base/logger.js';
import { MutagenError } from '../../../src/base/errors.js';
import { createRemoteEndpoints, type RemoteEndpoints } from '../../../src/daemon/remote.js';
import type { ForwardEndpointRequest, SocketOptions } from '../../../src/forward/endpoint.js';
import type { SessionId } from '../../../src/model/session.js';
import type { EndpointUrl } from '../../../src/model/url.js';
import { useTestAgent } from '../agent/fixture.js';
import { useTempDirectories } from '../../helpers/temp.js';

/** MUTAGEN_TEST_LOG=debug prints the connector's and agents' logs. */
export function forwardTestLogger(): Logger {
  const level = process.env['MUTAGEN_TEST_LOG'];
  return level === undefined || level === '' ? silentLogger : new Logger(process.stderr, parseLogLevel(level));
}

export const SOCKET: SocketOptions = { overwriteMode: 'leave', permissionMode: 0o600 };
const SESSION_ID = 'fwrd_forwardremotetest' as SessionId;

export interface ForwardRemoteFixture {
  /** The daemon's protocol table for this test (closed after it), with `home` as the daemon's HOME. */
  remote(home: string): Promise<RemoteEndpoints>;
  /** A request for `url`; the endpoint the connector returns is shut down after the test when passed to `track`. */
  request(url: EndpointUrl, socket?: SocketOptions): ForwardEndpointRequest;
  track<T extends { shutdown(): Promise<void> }>(endpoint: T): T;
  /** Runs `cleanup` after the test (before the endpoints are shut down). */
  defer(cleanup: () => Promise<void> | void): void;
  readonly temp: (prefix?: string) => Promise<string>;
}

/**
 * Registers hooks (call at the top of a describe block): the agent is built once per file into a
 * temp directory and found through MUTAGEN_AGENT_BUNDLE (as the docker session fixture does);
 * every test gets fresh RemoteEndpoints whose endpoints are shut down after it.
 */
export function useForwardRemote(): ForwardRemoteFixture {
  const bundle = useTestAgent();
  const temp = useTempDirectories();
  const previousBundle = process.env['MUTAGEN_AGENT_BUNDLE'];
  const cleanups: (() => Promise<void> | void)[] = [];
  beforeAll(() => {
    process.env['MUTAGEN_AGENT_BUNDLE'] = bundle().path;
  });
  afterAll(() => {
    if (previousBundle === undefined) delete process.env['MUTAGEN_AGENT_BUNDLE'];
    else process.env['MUTAGEN_AGENT_BUNDLE'] = previousBundle;
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    async remote(home) {
      const data = await temp('mtfr-data-');
      const remote = createRemoteEndpoints({ dataDirectory: data, logger: forwardTestLogger(), logLevel: 'warn', home });
      cleanups.push(() => remote.close());
      return remote;
    },
    request: (url, socket = SOCKET) => ({ url, sessionId: SESSION_ID, socket, logger: forwardTestLogger() }),
    track(endpoint) {
      cleanups.push(() => endpoint.shutdown());
      return endpoint;
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
    temp,
  };
}

/** A TCP server on 127.0.0.1 (random port); every socket is destroyed and the server closed by `close`. */
export async function tcpServer(onConnection: (socket: net.Socket) => void): Promise<{ readonly port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return {
    port: address.port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Answers each connection with everything it received, after it ended (so half-close is exercised). */
export function answerAfterEnd(prefix: string): (socket: net.Socket) => void {
  return (socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => socket.end(Buffer.concat([Buffer.from(prefix), ...chunks])));
  };
}

export { freePort } from '../../helpers/net.js';

export async function connectTcp(port: number): Promise<net.Socket> {
  const socket = net.createConnection({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

/**
 * Everything until EOF. (Not `for await`: its iterator destroys the stream at the end, which
 * would reset the write direction the test still uses.)
 */
export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** sha256 and length of everything until EOF, without keeping it. */
export function digestOf(stream: Readable): Promise<{ readonly bytes: number; readonly sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    stream.once('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    stream.once('error', reject);
  });
}

/** Writes `total` random bytes (honouring back-pressure), then ends; returns their sha256. */
export async function writeRandom(stream: Writable, total: number): Promise<string> {
  const hash = createHash('sha256');
  for (let sent = 0; sent < total;) {
    const chunk = randomBytes(Math.min(1024 * 1024, total - sent));
    hash.update(chunk);
    sent += chunk.length;
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  await new Promise<void>((resolve) => stream.end(resolve));
  return hash.digest('hex');
}

/** Echoes a duplex onto itself (what arrives goes back; EOF half-closes the way back). */
export function echo(stream: Duplex): void {
  stream.pipe(stream);
  stream.on('error', () => undefined);
}

/** The MutagenError a promise rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<MutagenError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MutagenError);
    if (error instanceof MutagenError) return error;
  }
  throw new Error('expected a rejection');
}
