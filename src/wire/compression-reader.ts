import { Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import type { InflateRaw } from 'node:zlib';
import { asError, ProtocolError, TransportError } from '../base/errors.js';
import { ByteQueue } from './byte-queue.js';
import { BLOCK_HEADER_SIZE, BLOCK_KIND_DEFLATED, BLOCK_KIND_STORED, MAX_BLOCK_WIRE_SIZE } from './compression-block.js';

/** Raw bytes buffered from the carrier before it is paused (two full blocks). */
const INPUT_LIMIT = 2 * MAX_BLOCK_WIRE_SIZE;
const OUTPUT_CHUNK = 32 * 1024;

interface Block {
  readonly kind: number;
  remaining: number;
}

/**
 * Readable side of the 'deflate' carrier (format in compression-block.ts): parses blocks from
 * `source`, passes stored ones through and feeds deflated ones to one persistent inflateRaw, in
 * order. Output is produced only as fast as it is read (inflate runs while the consumer pulls),
 * so a compression bomb stays bounded; at most INPUT_LIMIT raw bytes are buffered before `source`
 * is paused. A malformed block header fails with MUTAGEN_PROTOCOL, corrupt deflate data with the
 * zlib error (code `Z_*`), EOF inside a block with MUTAGEN_TRANSPORT, a `source` error with that
 * error. Owns `source`: destroying this readable destroys it.
 */
export class BlockReader extends Readable {
  private readonly inflate: InflateRaw = createInflateRaw({ chunkSize: OUTPUT_CHUNK });
  private readonly input = new ByteQueue();
  private block: Block | undefined;
  private inflating = false;
  private sourceEnded = false;
  private wanted = true; // prefetch up to highWaterMark before the first read
  private pumping = false;
  private pumpAgain = false;

  constructor(private readonly source: Readable) {
    super({ highWaterMark: OUTPUT_CHUNK });
    source.on('data', (chunk: Buffer) => {
      this.input.push(chunk);
      if (this.input.length >= INPUT_LIMIT) source.pause();
      this.pump();
    });
    source.on('end', () => { this.sourceEnded = true; this.pump(); });
    source.on('error', (error) => { this.destroy(error); });
    source.on('close', () => { if (!this.sourceEnded && !this.destroyed) this.destroy(new TransportError('the connection closed')); });
    source.resume(); // like pipe(): a source left paused (the handshake reads in paused mode) flows
    this.inflate.on('readable', () => { this.pump(); });
    this.inflate.on('error', (error) => { this.destroy(error); });
  }

  override _read(): void {
    this.wanted = true;
    this.pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inflate.destroy();
    if (!this.source.destroyed) this.source.destroy();
    callback(error);
  }

  /** Moves data on as far as the consumer wants it; re-entrant calls just ask for another round. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        while (this.wanted && !this.destroyed && this.step()) { /* step until it has to wait */ }
      } while (this.pumpAgain);
    } catch (error) {
      this.destroy(asError(error));
    } finally {
      this.pumping = false;
    }
  }

  /** One unit of progress; false when it must wait for input, inflate output or the consumer. */
  private step(): boolean {
    if (this.inflating || this.inflate.readableLength > 0) return this.stepInflate();
    const block = this.block ?? this.readHeader();
    if (block === undefined) return false;
    if (block.kind === BLOCK_KIND_STORED) {
      const count = Math.min(block.remaining, this.input.length);
      if (count === 0) return this.needInput();
      block.remaining -= count;
      if (block.remaining === 0) this.block = undefined;
      this.emitChunk(this.input.take(count));
      return true;
    }
    if (this.input.length < block.remaining) return this.needInput();
    const compressed = this.input.take(block.remaining);
    this.block = undefined;
    this.refill();
    this.inflating = true;
    this.inflate.write(compressed, () => {
      this.inflating = false;
      this.pump();
    });
    return true;
  }

  private stepInflate(): boolean {
    const chunk: unknown = this.inflate.read();
    if (!Buffer.isBuffer(chunk)) return false;
    this.emitChunk(chunk);
    return true;
  }

  private emitChunk(chunk: Buffer): void {
    this.refill();
    if (!this.push(chunk)) this.wanted = false;
  }

  private readHeader(): Block | undefined {
    if (this.input.length < BLOCK_HEADER_SIZE) {
      if (!this.sourceEnded) {
        this.needInput();
      } else if (this.input.length === 0) {
        this.wanted = false;
        this.push(null);
      } else {
        throw truncated();
      }
      return undefined;
    }
    const kind = this.input.byteAt(0);
    const length = this.input.peekUInt32(1);
    if (kind !== BLOCK_KIND_STORED && kind !== BLOCK_KIND_DEFLATED) {
      throw new ProtocolError(`malformed compressed stream: unknown block kind ${kind}`);
    }
    if (length === 0 || length > MAX_BLOCK_WIRE_SIZE) {
      throw new ProtocolError(`malformed compressed stream: block length ${length} is not in 1..${MAX_BLOCK_WIRE_SIZE}`);
    }
    this.input.skip(BLOCK_HEADER_SIZE);
    this.block = { kind, remaining: length };
    return this.block;
  }

  private needInput(): false {
    if (this.sourceEnded) throw truncated();
    this.source.resume();
    return false;
  }

  private refill(): void {
    if (!this.sourceEnded && this.input.length < INPUT_LIMIT / 2) this.source.resume();
  }
}

function truncated(): TransportError {
  return new TransportError('the connection closed in the middle of a compressed block');
}
