import { ProtocolError } from '../base/errors.js';

/** Largest JSON body accepted or sent on the daemon socket; anything longer is a protocol error. */
export const MAX_MESSAGE_SIZE = 32 * 1024 * 1024;

const HEADER_SIZE = 4;

/** One message = u32 big-endian body length + UTF-8 JSON body. */
export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length > MAX_MESSAGE_SIZE) {
    throw new ProtocolError(`message too large (${body.length} bytes, limit ${MAX_MESSAGE_SIZE})`);
  }
  const header = Buffer.allocUnsafe(HEADER_SIZE);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

/**
 * Splits a byte stream into message bodies. Buffers at most one message (the length is checked
 * against MAX_MESSAGE_SIZE before any of the body is kept). After an oversize header it stays
 * failed: the stream cannot be resynchronised, so the owner must close the connection.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected: number | undefined;
  private failed = false;

  /** Feeds bytes; returns the complete bodies they finish (as UTF-8 text). Throws ProtocolError on oversize. */
  push(chunk: Buffer): string[] {
    if (this.failed) throw new ProtocolError('connection already failed');
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const bodies: string[] = [];
    for (;;) {
      if (this.expected === undefined) {
        if (this.buffered < HEADER_SIZE) break;
        const length = this.take(HEADER_SIZE).readUInt32BE(0);
        if (length > MAX_MESSAGE_SIZE) {
          this.failed = true;
          this.chunks = [];
          this.buffered = 0;
          throw new ProtocolError(`message too large (${length} bytes, limit ${MAX_MESSAGE_SIZE})`);
        }
        this.expected = length;
      }
      if (this.buffered < this.expected) break;
      bodies.push(this.take(this.expected).toString('utf8'));
      this.expected = undefined;
    }
    return bodies;
  }

  /** Bytes of an unfinished message (0 at a message boundary). */
  get pending(): number {
    return this.buffered + (this.expected === undefined ? 0 : HEADER_SIZE);
  }

  private take(count: number): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.buffered);
    const taken = all.subarray(0, count);
    const rest = all.subarray(count);
    this.chunks = rest.length === 0 ? [] : [rest];
    this.buffered = rest.length;
    return taken;
  }
}
