/**
 * The forwarding bench's target: a TCP server on 127.0.0.1 (own process, so the bench's client
 * and this end do not share an event loop). Prints `listening <port>` on stdout, then serves
 * connections by their first byte:
 *   'S' + uint64 BE length  sink: read exactly that many pattern bytes, answer `ok <n> <intact>\n`
 *   'G' + uint64 BE length  source: send exactly that many pattern bytes, then end
 *   'E'                     echo every byte back (round-trip latency)
 *   'I'                     idle: answer 'k' once, then hold the connection open
 * A connection that closes before its first byte (a readiness probe) is simply dropped.
 *
 *   node --import tsx bench/target-server.ts
 */
import net from 'node:net';
import { makePattern, PatternVerifier } from './lib/pattern.js';

const pattern = makePattern();

/** Calls `onLength` with the request's u64 BE length (once 8 bytes arrived) and the bytes after it. */
function readLength(socket: net.Socket, first: Buffer, onLength: (length: number, rest: Buffer) => void): void {
  let header = first;
  const check = (): boolean => {
    if (header.length < 8) return false;
    socket.off('data', onData);
    onLength(Number(header.readBigUInt64BE(0)), header.subarray(8));
    return true;
  };
  const onData = (chunk: Buffer): void => {
    header = Buffer.concat([header, chunk]);
    check();
  };
  socket.on('data', onData);
  check();
}

function sink(socket: net.Socket, first: Buffer): void {
  readLength(socket, first, (expected, rest) => {
    const verifier = new PatternVerifier(pattern);
    const onData = (data: Buffer): void => {
      verifier.push(data);
      if (verifier.received < expected) return;
      socket.off('data', onData);
      socket.end(`ok ${verifier.received} ${verifier.received === expected && verifier.intact ? 'intact' : 'corrupt'}\n`);
    };
    socket.on('data', onData);
    onData(rest);
  });
}

/** Sends the requested number of pattern bytes, then ends the connection. */
function source(socket: net.Socket, first: Buffer): void {
  readLength(socket, first, (length) => {
    let left = length;
    const pump = (): void => {
      while (left > 0) {
        const chunk = pattern.subarray(0, Math.min(pattern.length, left));
        left -= chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
}

function serve(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.once('data', (first: Buffer) => {
    const mode = String.fromCharCode(first[0] ?? 0);
    const rest = first.subarray(1);
    if (mode === 'S') sink(socket, rest);
    else if (mode === 'G') source(socket, rest);
    else if (mode === 'E') {
      if (rest.length > 0) socket.write(rest);
      socket.pipe(socket);
    } else if (mode === 'I') socket.write('k');
    else socket.destroy();
  });
}

const server = net.createServer({ noDelay: true }, serve);
server.maxConnections = 100_000;
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected server address');
  process.stdout.write(`listening ${address.port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
