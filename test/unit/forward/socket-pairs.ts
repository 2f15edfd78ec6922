import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { adoptPooled, connectPooled } from '../../../src/wire/pooled-reads.js';

/** Both ends of one real connection: `outer` dialled by the test, `inner` accepted by a server. */
export interface SocketPair {
  readonly outer: net.Socket;
  readonly inner: net.Socket;
  close(): void;
}

/**
 * A real loopback TCP (or Unix socket, in `directory`) connection, half-open capable on both ends;
 * `pooled` makes both ends read into pooled chunks (forward/pooled-reads.ts), as forwarding does.
 */
export async function socketPair(kind: 'tcp' | 'unix', directory?: string, options: { readonly pooled?: boolean } = {}): Promise<SocketPair> {
  const pooled = options.pooled === true;
  const server = net.createServer({ allowHalfOpen: true });
  const where: net.ListenOptions = kind === 'tcp' ? { host: '127.0.0.1', port: 0 } : { path: path.join(directory ?? '/tmp', `p${Math.random().toString(36).slice(2, 10)}.sock`) };
  server.listen(where);
  await once(server, 'listening');
  const address = server.address();
  const accepted = new Promise<net.Socket>((resolve) => {
    server.once('connection', (socket: net.Socket) => resolve(pooled ? adoptPooled(socket, { allowHalfOpen: true }) : socket));
  });
  const connect = pooled ? connectPooled : net.connect;
  const outer = typeof address === 'string' || address === null
    ? connect({ path: where.path ?? '', allowHalfOpen: true })
    : connect({ host: '127.0.0.1', port: address.port, allowHalfOpen: true });
  await once(outer, 'connect');
  const inner = await accepted;
  server.close();
  return {
    outer,
    inner,
    close: () => {
      outer.destroy();
      inner.destroy();
    },
  };
}

/** Everything `socket` sends until EOF. */
export function readAll(socket: net.Socket): Promise<Buffer> {
  // Not `for await`: its end destroys the socket, which would close the other direction too.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

/** Resolves once `socket` has closed. */
export function closed(socket: net.Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
