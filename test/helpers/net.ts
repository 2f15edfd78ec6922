import net from 'node:net';

/** A TCP port on 127.0.0.1 nothing listens on (bound once, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** Connects (a 127.0.0.1 port or a Unix socket path), sends `text`, half-closes, and resolves with everything read until the peer closed. */
export function roundTrip(where: number | string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = typeof where === 'string' ? net.connect(where) : net.connect(where, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { received += chunk; });
    socket.once('error', reject);
    socket.once('close', () => resolve(received));
    socket.once('connect', () => socket.end(text));
  });
}
