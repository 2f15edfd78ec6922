import type { FrameType } from './frame.js';
import { FRAME_HEADER_SIZE, writeFrameHeader } from './frame.js';

/** Size of a reusable carrier write buffer: a full batch (256 KiB) plus one more frame fits. */
export const WRITE_BUFFER_SIZE = 512 * 1024;
/**
 * Spare write buffers kept for reuse (4 MiB). A bulk transfer keeps up to five in flight (1 MiB
 * of backlog in batches of 256 KiB and more, plus the one being filled); with 4 spares a 2 GiB
 * forward allocated 350 new ones and ran 14 full GCs, with 8 only the first 8 and 4.
 */
const MAX_SPARE_WRITE_BUFFERS = 8;
/** Batches below this size go out as a copy of their own, and the batch keeps its buffer. */
const SMALL_BATCH = 16 * 1024;
/** First encoding buffer on a carrier without reusable writes; it grows as needed and is kept. */
const INITIAL_UNPOOLED_SIZE = 64 * 1024;

/**
 * Write buffers handed back by the carrier's write callbacks, for the next batches. Without it
 * every batch is a new buffer of up to hundreds of KiB: on a bulk transfer that is as many bytes
 * of short-lived memory outside the heap as are sent, and V8 answers that with a full garbage
 * collection every few tens of MiB.
 */
export class WriteBufferPool {
  private readonly spare: Buffer[] = [];

  /** A buffer of WRITE_BUFFER_SIZE bytes to encode a batch into. */
  get(): Buffer {
    return this.spare.pop() ?? Buffer.allocUnsafe(WRITE_BUFFER_SIZE);
  }

  /** Takes `buffer` (from get()) back once nothing refers to its bytes any more. */
  release(buffer: Buffer): void {
    if (buffer.length >= WRITE_BUFFER_SIZE && this.spare.length < MAX_SPARE_WRITE_BUFFERS) this.spare.push(buffer);
  }
}

/** Encoded frames for one carrier write; `release` (when set) hands the buffer back once written. */
export interface TakenBatch {
  readonly bytes: Buffer;
  readonly release: (() => void) | undefined;
}

/**
 * Frames waiting for the next carrier write, encoded as they are pushed: a payload is copied at
 * once, so its buffer is free again as soon as push() returns. Many small frames become one
 * write. With a pool (carriers whose writes are done with a buffer once their callback ran), bulk
 * batches go out in the reused buffer they were encoded into; small ones, and every batch on
 * other carriers, go out as an exact copy of their own (so a write queued behind a slow carrier
 * never holds a whole pooled buffer for a few bytes, and a carrier may keep what it was given).
 */
export class FrameBatch {
  private buffer: Buffer | undefined;
  private size = 0;

  constructor(private readonly pool?: WriteBufferPool) {}

  /** Encoded size of the queued frames. */
  get bytes(): number {
    return this.size;
  }

  push(stream: number, type: FrameType, payload: Uint8Array | undefined): void {
    const length = payload?.length ?? 0;
    const end = this.size + FRAME_HEADER_SIZE + length;
    const buffer = this.capacity(end);
    writeFrameHeader(buffer, this.size, stream, type, length);
    if (payload !== undefined && length > 0) buffer.set(payload, this.size + FRAME_HEADER_SIZE);
    this.size = end;
  }

  /** The queued frames encoded back to back (undefined when empty); the batch is emptied. */
  take(): TakenBatch | undefined {
    const buffer = this.buffer;
    if (buffer === undefined || this.size === 0) return undefined;
    const size = this.size;
    this.size = 0;
    const pool = this.pool;
    if (pool === undefined || size < SMALL_BATCH) {
      // A buffer of its own, exactly this size (a port carrier can then transfer it whole).
      const bytes = size < SMALL_BATCH ? Buffer.allocUnsafe(size) : Buffer.allocUnsafeSlow(size);
      buffer.copy(bytes, 0, 0, size);
      return { bytes, release: undefined };
    }
    this.buffer = undefined;
    return { bytes: buffer.subarray(0, size), release: () => pool.release(buffer) };
  }

  clear(): void {
    this.size = 0;
  }

  /** The current buffer, replaced by a larger one (keeping what is queued) when `end` bytes do not fit. */
  private capacity(end: number): Buffer {
    const current = this.buffer;
    if (current !== undefined && current.length >= end) return current;
    const pool = this.pool;
    const next = pool !== undefined && end <= WRITE_BUFFER_SIZE
      ? pool.get()
      : Buffer.allocUnsafe(Math.max(end, 2 * (current?.length ?? 0), INITIAL_UNPOOLED_SIZE));
    if (current !== undefined) {
      current.copy(next, 0, 0, this.size);
      pool?.release(current);
    }
    this.buffer = next;
    return next;
  }
}
