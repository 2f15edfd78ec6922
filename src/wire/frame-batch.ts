import type { FrameType } from './frame.js';
import { FRAME_HEADER_SIZE, writeFrameHeader } from './frame.js';

interface QueuedFrame {
  readonly stream: number;
  readonly type: FrameType;
  readonly payload: Uint8Array | undefined;
}

/**
 * Frames waiting for the next carrier write. Payloads are kept by reference and copied exactly
 * once, into the single buffer take() returns, so many small frames become one write.
 */
export class FrameBatch {
  private frames: QueuedFrame[] = [];
  private size = 0;

  /** Encoded size of the queued frames. */
  get bytes(): number {
    return this.size;
  }

  push(stream: number, type: FrameType, payload: Uint8Array | undefined): void {
    this.frames.push({ stream, type, payload });
    this.size += FRAME_HEADER_SIZE + (payload?.length ?? 0);
  }

  /**
   * The queued frames encoded back to back (undefined when empty); the batch is emptied. They
   * are written into the front of `into` when they fit, else into a new buffer.
   */
  take(into?: Buffer): Buffer | undefined {
    if (this.frames.length === 0) return undefined;
    const frames = this.frames;
    const buffer = into !== undefined && into.length >= this.size ? into.subarray(0, this.size) : Buffer.allocUnsafe(this.size);
    this.frames = [];
    this.size = 0;
    let offset = 0;
    for (const frame of frames) {
      const length = frame.payload?.length ?? 0;
      writeFrameHeader(buffer, offset, frame.stream, frame.type, length);
      if (frame.payload !== undefined) buffer.set(frame.payload, offset + FRAME_HEADER_SIZE);
      offset += FRAME_HEADER_SIZE + length;
    }
    return buffer;
  }

  clear(): void {
    this.frames = [];
    this.size = 0;
  }
}

/** Size of a reusable carrier write buffer: a full batch (256 KiB) plus one more frame fits. */
export const WRITE_BUFFER_SIZE = 512 * 1024;
/** Spare write buffers kept for reuse. */
const MAX_SPARE_WRITE_BUFFERS = 4;

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
    if (this.spare.length < MAX_SPARE_WRITE_BUFFERS) this.spare.push(buffer);
  }
}
