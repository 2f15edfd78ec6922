/**
 * Reused buffers for ssh2's outgoing packets. ssh2 allocates a new buffer for every packet it
 * sends (up to about 35 KB each), encrypts it in place and writes it to the socket: a bulk
 * transfer allocates as many bytes outside the JavaScript heap as it sends, and V8 answers with
 * a full garbage collection every few tens of MiB (a fifth of the daemon's CPU on a forward).
 *
 * The daemon's bundle routes ssh2's packet allocation here (scripts/build.ts, plugin
 * `ssh2-crypto`, through a global registered by installSshPacketPool()), and the SSH
 * socket (socket.ts) hands a packet's buffer back once its write has completed: from then on
 * nothing refers to its bytes. Only a buffer written whole, exactly as take() returned it, is
 * taken back, and at most once per take(); anything else is left to the garbage collector.
 */

/** ssh2's largest packet (MAX_PACKET_SIZE 35000) plus room for its length, padding and tag. */
export const SSH_PACKET_CAPACITY = 35_000 + 64;
/** Packets from this size come from the pool (smaller ones come from Node's own 8 KiB slabs). */
export const SSH_PACKET_POOL_MINIMUM = 4 * 1024;
/** Spare buffers kept (a little over 2 MiB): enough for what one event-loop turn writes. */
const MAX_SPARE_PACKETS = 64;
/** The global the patched ssh2 looks for (see scripts/build.ts). */
export const SSH_PACKET_POOL_KEY = Symbol.for('mutagen-ts.ssh2-packet-pool');

export class SshPacketPool {
  private readonly spare: ArrayBufferLike[] = [];
  /** Buffers handed out and not yet given back, by backing store, with the length handed out. */
  private readonly out = new WeakMap<ArrayBufferLike, number>();

  /**
   * A buffer of `size` bytes for one packet. Only bulk packets are pooled: a small one queued
   * behind a slow socket would otherwise hold a whole pooled buffer for a few bytes.
   */
  take(size: number): Buffer {
    if (size > SSH_PACKET_CAPACITY || size < SSH_PACKET_POOL_MINIMUM) return Buffer.allocUnsafe(size);
    const backing = this.spare.pop() ?? new ArrayBuffer(SSH_PACKET_CAPACITY);
    this.out.set(backing, size);
    return Buffer.from(backing, 0, size);
  }

  /** When `chunk` is a whole packet buffer from take(), a callback that takes it back; else undefined. */
  releaser(chunk: Uint8Array): (() => void) | undefined {
    const backing = chunk.buffer;
    if (chunk.byteOffset !== 0 || this.out.get(backing) !== chunk.byteLength) return undefined;
    this.out.delete(backing);
    return () => {
      if (this.spare.length < MAX_SPARE_PACKETS) this.spare.push(backing);
    };
  }
}

let installed: SshPacketPool | undefined;

/** The process's pool, registered for the patched ssh2 on first use. */
export function installSshPacketPool(): SshPacketPool {
  if (installed === undefined) {
    installed = new SshPacketPool();
    (globalThis as Record<symbol, unknown>)[SSH_PACKET_POOL_KEY] = installed;
  }
  return installed;
}
