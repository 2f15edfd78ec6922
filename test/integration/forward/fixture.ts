import { mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, expect } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { ForwardManager } from '../../../src/forward/manager.js';
import { emptyForwardConfiguration, type ForwardConfiguration } from '../../../src/model/configuration.js';
import type { ForwardSessionState, ForwardSpec, SessionId } from '../../../src/model/session.js';
import { testLogger } from '../../helpers/engine.js';
import { makeTempDirectory } from '../../helpers/temp.js';
import { ForwardLoop } from './forward-loop.js';

export const signal = new AbortController().signal;
/** Short enough that reconnect tests finish quickly; long enough to see the wait. */
export const RETRY_DELAY_MS = 300;

export interface ForwardWorkspace {
  /** Temp base (short: Unix socket paths are limited); removed after the test. */
  readonly base: string;
  readonly dataDirectory: string;
  readonly manager: ForwardManager;
  /** With `{ remote: true }`: the in-process agent behind ssh/docker endpoints (home: `<base>/home`). */
  readonly loop: ForwardLoop | undefined;
  /** Closes the current manager and opens a new one on the same data directory (a daemon restart). */
  restart(): Promise<ForwardManager>;
}

export interface ForwardTest {
  /** A ForwardManager on a temp data directory; it and its sessions are closed after the test. */
  workspace(options?: { readonly remote?: boolean; readonly retryDelayMs?: number }): Promise<ForwardWorkspace>;
  /**
   * A target server on 127.0.0.1 (port 0 = any) or a Unix socket; `onConnection` handles each
   * connection (default: echo). Closed after the test.
   */
  server(where: { readonly port?: number; readonly path?: string }, onConnection?: (socket: net.Socket) => void): Promise<TestServer>;
}

/** Registers the per-test cleanup; call once at the top of a test file. */
export function useForwardTest(): ForwardTest {
  const managers: ForwardManager[] = [];
  const bases: string[] = [];
  const servers: TestServer[] = [];
  const loops: ForwardLoop[] = [];
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((manager) => manager.close()));
    await Promise.all(loops.splice(0).map((loop) => loop.close()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
    await Promise.all(bases.splice(0).map((base) => rm(base, { recursive: true, force: true })));
  });
  const workspace = async (options: { readonly remote?: boolean; readonly retryDelayMs?: number } = {}): Promise<ForwardWorkspace> => {
    const base = await makeTempDirectory('mtf-');
    bases.push(base);
    const dataDirectory = path.join(base, 'data');
    let loop: ForwardLoop | undefined;
    if (options.remote === true) {
      await mkdir(path.join(base, 'home'));
      loop = new ForwardLoop(path.join(base, 'home'));
      loops.push(loop);
    }
    const open = async (): Promise<ForwardManager> => {
      const manager = new ForwardManager({
        dataDirectory, logger: testLogger(), version: '0.1.0-test', retryDelayMs: options.retryDelayMs ?? RETRY_DELAY_MS, remote: loop,
      });
      managers.push(manager);
      await manager.initialize();
      return manager;
    };
    const created = {
      base,
      dataDirectory,
      manager: await open(),
      loop,
      restart: async (): Promise<ForwardManager> => {
        await created.manager.close();
        created.manager = await open();
        return created.manager;
      },
    };
    return created;
  };
  return {
    workspace,
    server: async (where, onConnection) => {
      const server = await startServer(where, onConnection);
      servers.push(server);
      return server;
    },
  };
}

export function forwardSpec(source: string, destination: string, options: {
  /** Puts that side on a (fake) ssh host served by the workspace's ForwardLoop. */
  readonly remote?: 'source' | 'destination';
  readonly name?: string;
  readonly labels?: Record<string, string>;
  readonly configuration?: ForwardConfiguration;
  readonly configurationSource?: ForwardConfiguration;
} = {}): ForwardSpec {
  return {
    name: options.name ?? '',
    labels: options.labels ?? {},
    source: options.remote === 'source' ? { kind: 'forward', protocol: 'ssh', host: 'loop', path: source } : { kind: 'forward', protocol: 'local', path: source },
    destination: options.remote === 'destination'
      ? { kind: 'forward', protocol: 'ssh', host: 'loop', path: destination }
      : { kind: 'forward', protocol: 'local', path: destination },
    configuration: options.configuration ?? emptyForwardConfiguration(),
    configurationSource: options.configurationSource ?? emptyForwardConfiguration(),
    configurationDestination: emptyForwardConfiguration(),
  };
}

/** The session's live state, waiting (on the list long-poll) until `accept` holds. */
export async function waitForState(
  manager: ForwardManager, id: SessionId, accept: (state: ForwardSessionState) => boolean, timeoutMs = 20_000,
): Promise<ForwardSessionState> {
  const deadline = AbortSignal.timeout(timeoutMs);
  let since: number | undefined;
  let last: ForwardSessionState | undefined;
  for (;;) {
    let answer: { stateIndex: number; sessions: ForwardSessionState[] };
    try {
      answer = await manager.list({ specifications: [id] }, since, deadline);
    } catch (error) {
      throw new Error(`session state never matched; last: ${JSON.stringify(last && { ...last, session: undefined })}`, { cause: error });
    }
    last = answer.sessions[0];
    if (last !== undefined && accept(last)) return last;
    since = answer.stateIndex;
  }
}

export async function stateOf(manager: ForwardManager, id: SessionId): Promise<ForwardSessionState> {
  const { sessions } = await manager.list({ specifications: [id] }, undefined, signal);
  const state = sessions[0];
  if (state === undefined) throw new Error(`no session ${id}`);
  return state;
}

export { freePort } from '../../helpers/net.js';

export type Address = { readonly port: number } | { readonly path: string };

/** The network endpoint string of an address (`tcp:127.0.0.1:P` / `unix:/p`). */
export function endpointOf(address: Address): string {
  return 'port' in address ? `tcp:127.0.0.1:${address.port}` : `unix:${address.path}`;
}

export interface TestServer {
  readonly address: Address;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

async function startServer(where: { readonly port?: number; readonly path?: string }, onConnection: (socket: net.Socket) => void = echo): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (where.path !== undefined) server.listen(where.path, resolve);
    else server.listen(where.port ?? 0, '127.0.0.1', resolve);
  });
  server.maxConnections = 10_000;
  const bound = server.address();
  const address: Address = where.path !== undefined ? { path: where.path } : { port: typeof bound === 'object' && bound !== null ? bound.port : 0 };
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
    return closing;
  };
  return { address, get accepted() { return accepted; }, close };
}

export function echo(socket: net.Socket): void {
  socket.pipe(socket);
}

/** Connects to an address; rejects with the connect error (ECONNREFUSED, ENOENT). */
export function connect(address: Address): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = 'port' in address
      ? net.connect({ port: address.port, host: '127.0.0.1', allowHalfOpen: true })
      : net.connect({ path: address.path, allowHalfOpen: true });
    socket.once('connect', () => { socket.off('error', reject); resolve(socket); });
    socket.once('error', reject);
  });
}

/** Sends `payload`, half-closes, and collects everything the peer sends until it ends. */
export async function roundTrip(address: Address, payload: Buffer | string): Promise<Buffer> {
  const socket = await connect(address);
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve());
    socket.once('error', reject);
  });
  socket.end(payload);
  await done;
  socket.destroy();
  return Buffer.concat(chunks);
}

/**
 * Connects, sends `payload` and waits until the peer ends or resets the connection; resolves with the
 * bytes received (a reset counts as a close: a dropped connection may discard unread data).
 */
export async function untilClosed(address: Address, payload = ''): Promise<number> {
  const socket = await connect(address);
  let received = 0;
  socket.on('data', (chunk: Buffer) => { received += chunk.length; });
  socket.on('error', () => undefined);
  // The client is half-open capable: the peer's FIN alone ends the wait.
  const closed = new Promise<void>((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
  socket.write(payload);
  await closed;
  socket.destroy();
  return received;
}

/** The error code of a failed connect (`ECONNREFUSED`, `ENOENT`). */
export async function connectError(address: Address): Promise<string | undefined> {
  try {
    const socket = await connect(address);
    socket.destroy();
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
}

export async function expectMutagenError(promise: Promise<unknown>, code: string, fragment: string): Promise<MutagenError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(MutagenError);
  expect(error).toMatchObject({ code });
  expect((error as MutagenError).message).toContain(fragment);
  return error as MutagenError;
}
