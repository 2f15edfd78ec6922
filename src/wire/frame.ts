import { MutagenError, ProtocolError } from '../base/errors.js';
import { ByteQueue } from './byte-queue.js';

/** Longest frame payload; a longer frame is a protocol error that closes the whole connection. */
export const MAX_FRAME_PAYLOAD = 65_536;
/**
 * Unacknowledged bytes allowed per stream, per direction, when it opens. A receiver may grant
 * more (see receive-window.ts) when the sender reports being blocked on credit.
 */
export const INITIAL_STREAM_CREDIT = 262_144;
/** u32 payload length | u32 stream id | u8 type. */
export const FRAME_HEADER_SIZE = 9;

/**
 * 'blocked' (empty) tells the receiver that the sender has data waiting but no credit left: the
 * signal for growing a stream's window (like QUIC's STREAM_DATA_BLOCKED).
 */
export type FrameType = 'open' | 'data' | 'credit' | 'close' | 'reset' | 'blocked';
export interface Frame {
  readonly stream: number;
  readonly type: FrameType;
  readonly payload: Uint8Array;
}

/** Wire numbers of the frame types (their index). */
export const FRAME_TYPES: readonly FrameType[] = ['open', 'data', 'credit', 'close', 'reset', 'blocked'];
const TYPE_CODES: Readonly<Record<FrameType, number>> = { open: 0, data: 1, credit: 2, close: 3, reset: 4, blocked: 5 };

/** Writes the 9-byte header of a frame into `target` at `offset`. */
export function writeFrameHeader(target: Buffer, offset: number, stream: number, type: FrameType, length: number): void {
  target.writeUInt32BE(length, offset);
  target.writeUInt32BE(stream, offset + 4);
  target[offset + 8] = TYPE_CODES[type];
}

/** Encodes one frame (header + a copy of the payload). */
export function encodeFrame(frame: Frame): Buffer {
  if (frame.payload.length > MAX_FRAME_PAYLOAD) {
    throw new MutagenError('MUTAGEN_INTERNAL', `frame of ${frame.payload.length} bytes exceeds the ${MAX_FRAME_PAYLOAD}-byte limit`);
  }
  if (!Number.isInteger(frame.stream) || frame.stream < 0 || frame.stream > 0xffff_ffff) {
    throw new MutagenError('MUTAGEN_INTERNAL', `invalid stream id ${frame.stream}`);
  }
  const out = Buffer.allocUnsafe(FRAME_HEADER_SIZE + frame.payload.length);
  writeFrameHeader(out, 0, frame.stream, frame.type, frame.payload.length);
  out.set(frame.payload, FRAME_HEADER_SIZE);
  return out;
}

/**
 * Incremental decoder: feed carrier chunks of any size, get whole frames. Payloads lying inside one
 * chunk are views of it (no copy). An oversized length or unknown type throws MUTAGEN_PROTOCOL as
 * soon as the header is complete, before the payload is buffered; after a throw the decoder is
 * unusable. With `streamData`, a data frame's payload is returned as it arrives, as one or more
 * consecutive data frames of the same stream (views, never copied; a byte stream cannot tell).
 */
export class FrameDecoder {
  private readonly queue = new ByteQueue();
  private header: { readonly length: number; readonly stream: number; readonly type: FrameType } | undefined;
  /** Payload bytes of the current (streamed data) frame not yet returned. */
  private remaining = 0;

  constructor(private readonly options: { readonly streamData?: boolean } = {}) {}

  push(chunk: Uint8Array): Frame[] {
    this.queue.push(chunk);
    const frames: Frame[] = [];
    for (;;) {
      if (this.header === undefined) {
        if (this.queue.length < FRAME_HEADER_SIZE) break;
        this.header = this.readHeader();
        this.remaining = this.header.length;
      }
      const { length, stream, type } = this.header;
      if (this.options.streamData === true && type === 'data' && length > 0) {
        while (this.remaining > 0 && this.queue.length > 0) {
          const piece = this.queue.takeFront(this.remaining);
          this.remaining -= piece.length;
          frames.push({ stream, type, payload: piece });
        }
        if (this.remaining > 0) break;
      } else {
        if (this.queue.length < length) break;
        frames.push({ stream, type, payload: this.queue.take(length) });
      }
      this.header = undefined;
    }
    return frames;
  }

  /** Copies the bytes it still holds, so the buffers pushed so far may be reused. */
  detach(): void {
    this.queue.detach();
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.queue.length + (this.header === undefined ? 0 : FRAME_HEADER_SIZE);
  }

  private readHeader(): { length: number; stream: number; type: FrameType } {
    const length = this.queue.peekUInt32(0);
    const stream = this.queue.peekUInt32(4);
    const code = this.queue.byteAt(8);
    if (length > MAX_FRAME_PAYLOAD) {
      throw new ProtocolError(`frame of ${length} bytes exceeds the ${MAX_FRAME_PAYLOAD}-byte limit`);
    }
    const type = FRAME_TYPES[code];
    if (type === undefined) throw new ProtocolError(`frame of unknown type ${code} on stream ${stream}`);
    this.queue.skip(FRAME_HEADER_SIZE);
    return { length, stream, type };
  }
}
