import { Writable } from 'node:stream';
import { constants, createDeflateRaw } from 'node:zlib';
import type { DeflateRaw } from 'node:zlib';
import { BLOCK_KIND_DEFLATED, BLOCK_KIND_STORED, blockHeader, shouldStore, MAX_BLOCK_PAYLOAD } from './compression-block.js';
import { asError } from '../base/errors.js';

/** Bytes accepted (pending + queued blocks) before write callbacks wait: two blocks, so one
 *  block fills while the previous one is compressed. */
const QUEUE_LIMIT = 2 * MAX_BLOCK_PAYLOAD;
/** A deflated block of at least this size that shrank by less than 3% ... */
const POOR_RESULT_MIN_SIZE = 16 * 1024;
const POOR_RATIO = 0.97;
/** ... makes the writer store the next MiB without probing, then probe again. */
const STORE_AFTER_POOR_RESULT = 1024 * 1024;

/**
 * Writable side of the 'deflate' carrier (format in compression-block.ts). Writes made in the same
 * tick are coalesced (flushed on process.nextTick: the multiplexer already batches per event-loop
 * turn, so a setImmediate here would only add latency) and cut into blocks of MAX_BLOCK_PAYLOAD.
 * Each block is stored, or pushed through one persistent deflateRaw (level 1) and flushed with
 * Z_SYNC_FLUSH, so a lone small message is never stuck in the compressor. Blocks reach `target` in
 * order; the next block compresses while `target` drains. Write callbacks wait while more than
 * QUEUE_LIMIT bytes are queued. Owns `target`: final() ends it, destroy() destroys it, and a
 * target error or close destroys this writer.
 */
export class BlockWriter extends Writable {
  private readonly deflate: DeflateRaw = createDeflateRaw({ level: constants.Z_BEST_SPEED, chunkSize: 64 * 1024 });
  private readonly histogram = new Uint32Array(256);
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly blocks: Buffer[] = [];
  private queuedBytes = 0;
  private running = false;
  private flushScheduled = false;
  private storeBudget = 0;
  private blocked: (() => void) | undefined;
  private idle: (() => void) | undefined;

  constructor(private readonly target: Writable) {
    super({ highWaterMark: 65_536 });
    const fail = (error: Error): void => { this.destroy(error); };
    this.deflate.on('error', fail);
    target.on('error', fail);
    target.on('close', () => { if (!this.destroyed && !this.writableFinished) this.destroy(); });
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    for (const { chunk } of chunks) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    while (this.pendingBytes >= MAX_BLOCK_PAYLOAD) this.enqueue(this.takePending(MAX_BLOCK_PAYLOAD));
    if (this.pendingBytes > 0) this.scheduleFlush();
    if (this.queuedBytes + this.pendingBytes < QUEUE_LIMIT) callback();
    else this.blocked = () => { callback(); };
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.pendingBytes > 0) this.enqueue(this.takePending(this.pendingBytes));
    const end = (): void => {
      const { target } = this;
      const done = (): void => {
        target.off('finish', done);
        target.off('close', done);
        callback();
      };
      if (target.writableFinished || target.destroyed) return done();
      target.on('finish', done);
      target.on('close', done);
      target.end();
    };
    if (this.running) this.idle = end;
    else end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.deflate.destroy();
    if (!this.target.destroyed) this.target.destroy();
    this.pending = [];
    this.blocks.length = 0;
    this.blocked = undefined;
    this.idle = undefined;
    callback(error);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => {
      this.flushScheduled = false;
      if (this.pendingBytes > 0 && !this.destroyed) this.enqueue(this.takePending(this.pendingBytes));
    });
  }

  /** The first `count` pending bytes as one buffer (a view when they lie in one chunk). */
  private takePending(count: number): Buffer {
    const parts: Buffer[] = [];
    let taken = 0;
    while (taken < count) {
      const chunk = this.pending[0];
      if (chunk === undefined) break;
      const n = Math.min(count - taken, chunk.length);
      parts.push(chunk.subarray(0, n));
      if (n === chunk.length) this.pending.shift();
      else this.pending[0] = chunk.subarray(n);
      taken += n;
    }
    this.pendingBytes -= taken;
    return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts, taken);
  }

  private enqueue(block: Buffer): void {
    this.blocks.push(block);
    this.queuedBytes += block.length;
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (let block = this.blocks.shift(); block !== undefined && !this.destroyed; block = this.blocks.shift()) {
        await this.send(block);
        this.queuedBytes -= block.length;
        this.release();
      }
    } catch (error) {
      this.destroy(asError(error));
    } finally {
      this.running = false;
    }
    const idle = this.idle;
    this.idle = undefined;
    if (idle !== undefined && !this.destroyed) idle();
  }

  private release(): void {
    const blocked = this.blocked;
    if (blocked === undefined || this.queuedBytes + this.pendingBytes >= QUEUE_LIMIT) return;
    this.blocked = undefined;
    blocked();
  }

  private async send(block: Buffer): Promise<void> {
    let kind = BLOCK_KIND_DEFLATED;
    let payload = block;
    if (this.storeBudget > 0 || shouldStore(block, this.histogram)) {
      kind = BLOCK_KIND_STORED;
      this.storeBudget = Math.max(0, this.storeBudget - block.length);
    } else {
      payload = await this.compress(block);
      if (block.length >= POOR_RESULT_MIN_SIZE && payload.length > block.length * POOR_RATIO) this.storeBudget = STORE_AFTER_POOR_RESULT;
    }
    // Waiting for drain only now lets the next block compress while the previous one is sent.
    if (this.target.writableNeedDrain) await drained(this.target);
    if (this.destroyed) return;
    this.target.write(blockHeader(kind, payload.length));
    this.target.write(payload);
  }

  /** `block` through the persistent deflate stream, up to a sync-flush boundary. */
  private compress(block: Buffer): Promise<Buffer> {
    const { deflate } = this;
    return new Promise((resolve) => {
      const out: Buffer[] = [];
      const read = (): void => {
        for (let chunk: unknown = deflate.read(); chunk !== null; chunk = deflate.read()) {
          if (Buffer.isBuffer(chunk)) out.push(chunk);
        }
      };
      deflate.on('readable', read);
      deflate.write(block);
      deflate.flush(constants.Z_SYNC_FLUSH, () => {
        read();
        deflate.off('readable', read);
        resolve(out.length === 1 && out[0] !== undefined ? out[0] : Buffer.concat(out));
      });
    });
  }
}

/** Resolves on 'drain'; rejects when the stream closes or fails first. */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onClose);
    };
    const onDrain = (): void => { cleanup(); resolve(); };
    const onClose = (): void => { cleanup(); reject(new Error('the carrier closed while writing')); };
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    stream.on('error', onClose);
  });
}
