import net from 'node:net';
import type { Duplex, Readable } from 'node:stream';

/**
 * Sockets that read without a new buffer per read.
 *
 * Node gives every read of a socket a fresh 64 KiB buffer outside the V8 heap; forwarding a GiB
 * that way is 16,000 such buffers, and V8 answers the external memory with a full garbage
 * collection every few MiB (profiled: a fifth of the daemon's and the agent's time on a bulk
 * forward). Sockets made here read into ONE buffer shared by the whole thread (their `onread`
 * option: each read is handed over synchronously, so two sockets never use it at once):
 *
 * - A consumer that took the socket over (consumeReads) sees each read in that shared buffer and
 *   copies what it keeps, typically into a chunk of a small pool (copyIntoChunk).
 * - Until then the socket reads like any other: each read is copied into a pooled chunk and
 *   pushed into its readable side.
 *
 * Whoever writes a pooled chunk somewhere that is done with it once the write callback ran (a
 * socket, a multiplexed stream) gives it back with releaseChunk(); a chunk never given back is
 * simply garbage.
 */

/** Bytes of one read, and of one pooled chunk (a loopback TCP read often brings more than 64 KiB). */
const READ_SIZE = 128 * 1024;
/** Copies smaller than this are plain buffers (Node's own slabs): not worth a pooled chunk. */
const POOLED_MINIMUM = 4 * 1024;
/** Chunks kept for reuse (4 MiB): back-pressure keeps a few per busy connection in flight. */
const MAX_SPARE_CHUNKS = 32;

const sharedReadBuffer = Buffer.allocUnsafe(READ_SIZE);
const spareChunks: ArrayBuffer[] = [];
/** Backing stores of the chunks this pool handed out (only these are ever taken back). */
const pooled = new WeakSet<ArrayBufferLike>();

/** A copy of `bytes`: a pooled chunk, or a plain buffer when small (or larger than a read). */
export function copyIntoChunk(bytes: Uint8Array): Buffer {
  if (bytes.length < POOLED_MINIMUM || bytes.length > READ_SIZE) return Buffer.from(bytes);
  let store = spareChunks.pop();
  if (store === undefined) {
    store = new ArrayBuffer(READ_SIZE);
    pooled.add(store);
  }
  const chunk = Buffer.from(store, 0, bytes.length);
  chunk.set(bytes);
  return chunk;
}

/**
 * Gives a chunk from copyIntoChunk() back once nothing refers to its bytes any more. Anything
 * else (a buffer not from the pool, a view into one) is ignored. Give a chunk back at most once.
 */
export function releaseChunk(chunk: Uint8Array): void {
  if (chunk.byteOffset !== 0 || !pooled.has(chunk.buffer) || spareChunks.length >= MAX_SPARE_CHUNKS) return;
  spareChunks.push(chunk.buffer as ArrayBuffer);
}

/**
 * Takes the bytes of one read, which lie in a buffer that is reused after it returns (copy what
 * you keep); false asks the socket to stop reading until it is resumed.
 */
export type ReadConsumer = (bytes: Buffer) => boolean;

/** Where a socket's reads go: into its own readable side until a consumer takes them over. */
class ReadTap {
  private consumer: ReadConsumer | undefined;

  constructor(private readonly socket: () => net.Socket | undefined) {}

  onRead(length: number, buffer: Uint8Array): boolean {
    const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, length);
    if (this.consumer !== undefined) return this.consumer(bytes);
    // Like Node's own reads: buffered in the stream, reading stops once it is full.
    return this.socket()?.push(copyIntoChunk(bytes)) ?? false;
  }

  /** Hands what the stream buffered, then every later read, to `consumer`. */
  attach(socket: net.Socket, consumer: ReadConsumer): void {
    this.consumer = consumer;
    let more = true;
    for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
      more = consumer(chunk) && more;
      releaseChunk(chunk);
    }
    // Flowing (with no 'data' listener) so that 'end' is emitted; reading restarts unless paused.
    socket.resume();
    if (!more) socket.pause();
  }
}

const taps = new WeakMap<Readable, ReadTap>();

function tapped(create: (onread: net.OnReadOpts) => net.Socket): net.Socket {
  // The tap reads `socket` only from read callbacks, which come after it is set.
  const tap = new ReadTap(() => socket);
  const socket = create({ buffer: sharedReadBuffer, callback: (length, buffer) => tap.onRead(length, buffer) });
  taps.set(socket, tap);
  return socket;
}

/** net.connect() with shared-buffer reads. */
export function connectPooled(options: net.NetConnectOpts): net.Socket {
  return tapped((onread) => net.connect({ ...options, onread }));
}

/**
 * The same connection as `accepted`, now with shared-buffer reads. Call it from the server's
 * 'connection' listener, before anything reads: Node has no public way to give accepted sockets
 * an `onread` buffer, so this moves the connection's handle to a new socket made with one. When
 * that is not possible (no handle), `accepted` is returned unchanged and reads the usual way.
 */
export function adoptPooled(accepted: net.Socket, options: { readonly allowHalfOpen: boolean }): net.Socket {
  const internal = accepted as unknown as { _handle?: object | null };
  const handle = internal._handle;
  if (handle === undefined || handle === null || accepted.destroyed) return accepted;
  internal._handle = null;
  // Without a handle, destroy() only settles the old socket's state (and its server's count).
  accepted.destroy();
  return tapped((onread) => new net.Socket({ handle, onread, allowHalfOpen: options.allowHalfOpen, readable: true, writable: true } as net.SocketConstructorOpts));
}

/**
 * A read-only socket on an inherited pipe or socket descriptor (an agent's stdin) with
 * shared-buffer reads; undefined when `fd` is neither (a file, a terminal).
 */
export function openPooledReader(fd: number): net.Socket | undefined {
  try {
    return tapped((onread) => new net.Socket({ fd, onread, readable: true, writable: false, allowHalfOpen: true } as net.SocketConstructorOpts));
  } catch {
    return undefined;
  }
}

/**
 * Sends `stream`'s reads to `consumer` when it is a socket made here (what it had buffered
 * first), and resumes it; false when it is not, and the caller reads it the usual way.
 */
export function consumeReads(stream: Readable | Duplex, consumer: ReadConsumer): boolean {
  const tap = taps.get(stream);
  if (tap === undefined || !(stream instanceof net.Socket)) return false;
  taps.delete(stream);
  tap.attach(stream, consumer);
  return true;
}
