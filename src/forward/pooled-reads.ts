import net from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Forwarded sockets read without a new buffer per read.
 *
 * Node gives every read of a socket a fresh 64 KiB buffer outside the V8 heap; forwarding a GiB
 * that way is 16,000 such buffers, and V8 answers the external memory with a full garbage
 * collection every few MiB (profiled: a fifth of the daemon's time on a bulk forward). Sockets
 * made here read into ONE buffer shared by the whole thread (its `onread` option: each read is
 * handed over synchronously, so two sockets never use it at once) and each read is copied into a
 * chunk from a small pool. Whoever writes a chunk somewhere that is done with it once the write
 * callback ran (a socket, a multiplexed stream) gives it back with releaseChunk().
 */

/** Bytes of one read, and of one pooled chunk. */
const READ_SIZE = 64 * 1024;
/** Chunks kept for reuse (4 MiB). */
const MAX_SPARE_CHUNKS = 64;

const sharedReadBuffer = Buffer.allocUnsafe(READ_SIZE);
const spareChunks: ArrayBuffer[] = [];
/** Backing stores of the chunks this pool handed out (only these are ever taken back). */
const pooled = new WeakSet<ArrayBufferLike>();

function copyIntoChunk(source: Uint8Array, length: number): Buffer {
  let store = spareChunks.pop();
  if (store === undefined) {
    store = new ArrayBuffer(READ_SIZE);
    pooled.add(store);
  }
  const chunk = Buffer.from(store, 0, length);
  chunk.set(source.subarray(0, length));
  return chunk;
}

/**
 * Gives a chunk from a pooled read back once nothing refers to its bytes any more. Anything else
 * (a chunk not from here) is ignored. Release a chunk at most once.
 */
export function releaseChunk(chunk: Uint8Array): void {
  if (chunk.byteOffset !== 0 || !pooled.has(chunk.buffer) || spareChunks.length >= MAX_SPARE_CHUNKS) return;
  spareChunks.push(chunk.buffer as ArrayBuffer);
}

/** Takes one chunk; false asks the socket to stop reading until it is resumed. */
export type ChunkConsumer = (chunk: Buffer) => boolean;

/**
 * Where a pooled socket's reads go: into the socket's own readable side (so it reads like any
 * socket) until a consumer takes them over.
 */
class ReadTap {
  private consumer: ChunkConsumer | undefined;

  constructor(private readonly socket: () => net.Socket | undefined) {}

  onRead(length: number, buffer: Uint8Array): boolean {
    const chunk = copyIntoChunk(buffer, length);
    if (this.consumer !== undefined) return this.consumer(chunk);
    // Like Node's own reads: buffered in the stream, reading stops once it is full.
    return this.socket()?.push(chunk) ?? false;
  }

  /** Hands what the stream buffered, then every later read, to `consumer`. */
  attach(socket: net.Socket, consumer: ChunkConsumer): void {
    this.consumer = consumer;
    let more = true;
    for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) more = consumer(chunk) && more;
    // Flowing (with no 'data' listener) so that 'end' is emitted; reading restarts unless paused.
    socket.resume();
    if (!more) socket.pause();
  }
}

const taps = new WeakMap<Duplex, ReadTap>();

function tapped(create: (onread: net.OnReadOpts) => net.Socket): net.Socket {
  // The tap reads `socket` only from read callbacks, which come after it is set.
  const tap = new ReadTap(() => socket);
  const socket = create({ buffer: sharedReadBuffer, callback: (length, buffer) => tap.onRead(length, buffer) });
  taps.set(socket, tap);
  return socket;
}

/** net.connect() whose reads are pooled (see consumePooledReads). */
export function connectPooled(options: net.NetConnectOpts): net.Socket {
  return tapped((onread) => net.connect({ ...options, onread }));
}

/**
 * The same connection as `accepted`, now with pooled reads. Call it from the server's
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
 * Sends `stream`'s reads to `consumer` when it is a pooled socket (and resumes it); false when it
 * is not, and the caller reads it the usual way ('data' events).
 */
export function consumePooledReads(stream: Duplex, consumer: ChunkConsumer): boolean {
  const tap = taps.get(stream);
  if (tap === undefined || !(stream instanceof net.Socket)) return false;
  taps.delete(stream);
  tap.attach(stream, consumer);
  return true;
}
