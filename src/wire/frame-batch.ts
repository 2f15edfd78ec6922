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

  /** The queued frames encoded back to back (undefined when empty); the batch is emptied. */
  take(): Buffer | undefined {
    if (this.frames.length === 0) return undefined;
    const frames = this.frames;
    const buffer = Buffer.allocUnsafe(this.size);
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
