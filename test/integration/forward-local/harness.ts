import { once } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { silentLogger } from '../../../src/base/logger.js';
import type { SocketOptions } from '../../../src/forward/endpoint.js';
import { localDestination } from '../../../src/forward/local/dialer.js';
import type { LocalListener } from '../../../src/forward/local/listener.js';
import { listenLocal } from '../../../src/forward/local/listener.js';
import { splice } from '../../../src/forward/splice.js';

export const defaultSocket: SocketOptions = { overwriteMode: 'leave', permissionMode: 0o600 };
export const never = new AbortController().signal;

export interface Counters {
  open: number;
  total: number;
  dropped: number;
  outbound: number;
  inbound: number;
  lastError: unknown;
}

export interface Forwarder {
  readonly listener: LocalListener;
  readonly counters: Counters;
  /** Where a client connects: `{ port, host: '127.0.0.1' }` or `{ path }`. */
  connectOptions(): net.NetConnectOpts;
  /** Stops accepting, closes open connections, waits for every splice to finish. */
  stop(): Promise<void>;
}

/**
 * The serving loop a forward session runs, reduced to its core (accept → dial → splice; a
 * failed dial drops one connection): what the controller does, without its state machine.
 */
export async function startForwarder(source: string, destination: string, socket: SocketOptions = defaultSocket): Promise<Forwarder> {
  const listener = await listenLocal(source, { socket, logger: silentLogger }, never);
  const target = localDestination(destination, { logger: silentLogger });
  const controller = new AbortController();
  const counters: Counters = { open: 0, total: 0, dropped: 0, outbound: 0, inbound: 0, lastError: undefined };
  const running = new Set<Promise<void>>();
  const serve = async (incoming: Duplex): Promise<void> => {
    counters.open += 1;
    counters.total += 1;
    try {
      const outgoing = await target.dial(controller.signal);
      await splice(incoming, outgoing, { onOutbound: (n) => { counters.outbound += n; }, onInbound: (n) => { counters.inbound += n; } }, controller.signal);
    } catch (error) {
      counters.dropped += 1;
      counters.lastError = error;
      incoming.destroy();
    } finally {
      counters.open -= 1;
    }
  };
  const loop = (async () => {
    for (;;) {
      let incoming: Duplex;
      try {
        incoming = await listener.accept(controller.signal);
      } catch {
        return;
      }
      const task = serve(incoming);
      running.add(task);
      void task.finally(() => running.delete(task));
    }
  })();
  const { address } = listener;
  return {
    listener,
    counters,
    connectOptions: () => (address.kind === 'tcp' ? { host: '127.0.0.1', port: address.port } : { path: address.path }),
    stop: async () => {
      controller.abort();
      await Promise.all([listener.shutdown(), target.shutdown()]);
      await loop;
      await Promise.all([...running]);
    },
  };
}

/** An echo server (half-close aware: it ends its side after the client ended). */
export async function startEcho(where: net.ListenOptions = { host: '127.0.0.1', port: 0 }): Promise<{ server: net.Server; port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  server.listen(where);
  await once(server, 'listening');
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address !== null ? address.port : 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Connects, sends `payload`, half-closes, and returns everything received until EOF. */
export async function exchange(options: net.NetConnectOpts, payload: Buffer | string): Promise<Buffer> {
  const socket = net.connect({ ...options, allowHalfOpen: true });
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve());
    socket.once('error', reject);
  });
  socket.end(payload);
  await ended;
  socket.destroy();
  return Buffer.concat(chunks);
}

export { freePort } from '../../helpers/net.js';
