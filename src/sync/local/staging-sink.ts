import { closeSync, fdatasync, fstatSync, write, writeSync } from 'node:fs';
import { errorMessage, MutagenError } from '../../base/errors.js';
import type { Hasher } from './hasher.js';
import type { StagingSink } from './staging.js';
import type { WrittenStat } from './staging-writer.js';
import { rm } from './sync-fs.js';

/** Small writes are coalesced up to this size before they reach the disk (sync-semantics §8). */
export const WRITE_BUFFER_SIZE = 64 * 1024;
/**
 * Once a file passes this size, its bytes are copied into one of two buffers of this size, and
 * a full buffer is written in the thread pool while the other fills and the next bytes are
 * hashed (one write in flight). The two buffers are reused from file to file: a large file costs
 * no allocation (fresh buffers per chunk cost major garbage collections: 256 MiB of external
 * memory per 256 MiB file).
 */
export const LARGE_BUFFER_SIZE = 1024 * 1024;
/**
 * A sink that will replace an existing file (createSink's `replacing`) has what it wrote so far
 * flushed (fdatasync in the thread pool, not waited for) each time this much more was written.
 * Renaming a file over another makes ext4 (auto_da_alloc) start writing back all of the new
 * file's delayed-allocation pages inside rename(2): 70-110 ms for 256 MiB here, on the loop,
 * between the patched file being complete and it being in place. Flushed early, those pages are
 * on their way while the rest is received, and the new content is on disk before it replaces
 * the old. Not for new files (placed by link(2), which flushes nothing).
 */
const EARLY_FLUSH_BYTES = 16 * 1024 * 1024;

export interface SinkBuffers {
  /** Coalesces small writes once the file is open (WRITE_BUFFER_SIZE). */
  readonly write: Buffer;
  /** Holds the file's bytes until commit (HELD_BUFFER_SIZE). */
  readonly held: Buffer;
}

export interface FileSinkOptions {
  readonly file: string;
  readonly hasher: Hasher;
  readonly maxSize: number;
  readonly buffers: SinkBuffers;
  /** Creates the staged file (exclusive) on the loop; throws a MUTAGEN_STAGING error. */
  readonly open: () => number;
  /** Hands a complete held file to the writer thread, which records it once written; false if it cannot. */
  readonly hand: (data: Uint8Array, digest: Uint8Array) => Promise<boolean>;
  readonly takeLarge: () => [Buffer, Buffer];
  /** Gives the buffers back; called once, when the sink is done or failed (no write in flight). */
  readonly release: () => void;
  readonly record: (digest: Uint8Array, stat: WrittenStat) => Promise<void>;
  /** Flush large files as they are written (EARLY_FLUSH_BYTES). */
  readonly flushEarly: boolean;
}

/**
 * One file being received into a staging store (staging.ts, which makes its names, buffers and
 * records): small files are held in memory and handed to the writer thread whole, larger ones are
 * created on the loop and written through the two large buffers; every byte is hashed on the way.
 */
export class FileSink implements StagingSink {
  /** The staged file, once created on the loop (the file outgrew the held buffer). */
  private fd: number | undefined;
  private held = 0;
  private buffered = 0;
  private size = 0;
  /** File offset of the first byte in the write buffer (small-file path) or in the large buffer being filled. */
  private bufferStart = 0;
  /** The two large buffers once the file passed LARGE_BUFFER_SIZE: [filling, other]. */
  private large: [Buffer, Buffer] | undefined;
  private filled = 0;
  /** The write of the other large buffer, in the thread pool (at most one). */
  private inFlight: Promise<void> | undefined;
  /** An fdatasync of what was written up to `flushedUpTo`, in the thread pool (at most one; never rejects). */
  private flushing: Promise<void> | undefined;
  private flushedUpTo = 0;
  private closed = false;
  private state: 'open' | 'failed' | 'done' = 'open';

  constructor(private readonly options: FileSinkOptions) {}

  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen();
    if (this.size + chunk.byteLength > this.options.maxSize) {
      await this.fail();
      throw new MutagenError('MUTAGEN_STAGING', `unable to stage file: file exceeds maximum staging file size (${this.options.maxSize} bytes)`);
    }
    const offset = this.size;
    this.size += chunk.byteLength;
    this.options.hasher.update(chunk);
    if (this.fd === undefined && this.held + chunk.byteLength <= this.options.buffers.held.byteLength) {
      this.options.buffers.held.set(chunk, this.held);
      this.held += chunk.byteLength;
      return;
    }
    try {
      const fd = this.fd ?? this.openHeld();
      if (this.large === undefined && this.size <= LARGE_BUFFER_SIZE) {
        // Small files: synchronous writes through the shared 64 KiB buffer.
        if (this.buffered + chunk.byteLength > WRITE_BUFFER_SIZE) this.flush(fd);
        if (chunk.byteLength >= WRITE_BUFFER_SIZE) writeAll(fd, chunk, offset);
        else {
          if (this.buffered === 0) this.bufferStart = offset;
          this.options.buffers.write.set(chunk, this.buffered);
          this.buffered += chunk.byteLength;
        }
        return;
      }
      if (this.large === undefined) {
        this.flush(fd);
        this.large = this.options.takeLarge();
        this.bufferStart = offset;
      }
      for (let copied = 0; copied < chunk.byteLength;) {
        const count = Math.min(LARGE_BUFFER_SIZE - this.filled, chunk.byteLength - copied);
        this.large[0].set(chunk.subarray(copied, copied + count), this.filled);
        this.filled += count;
        copied += count;
        if (this.filled === LARGE_BUFFER_SIZE) await this.issue(fd);
      }
    } catch (error) {
      await this.fail();
      if (error instanceof MutagenError) throw error;
      throw new MutagenError('MUTAGEN_STAGING', `unable to write staged file: ${errorMessage(error)}`, { cause: error });
    }
  }

  async commit(): Promise<Uint8Array> {
    this.assertOpen();
    let digest: Uint8Array;
    try {
      if (this.fd === undefined) {
        digest = this.options.hasher.digest();
        if (!(await this.options.hand(this.options.buffers.held.subarray(0, this.held), digest))) await this.writeOut(this.openHeld(), digest);
      } else {
        digest = await this.writeOut(this.fd);
      }
    } catch (error) {
      await this.fail();
      throw new MutagenError('MUTAGEN_STAGING', `unable to commit staged file: ${errorMessage(error)}`, { cause: error });
    }
    this.state = 'done';
    this.options.release();
    return digest;
  }

  /** Finishes a file written on the loop: pending writes, fstat, close, record. */
  private async writeOut(fd: number, digest?: Uint8Array): Promise<Uint8Array> {
    if (this.filled > 0) await this.issue(fd);
    await this.settle();
    this.flush(fd);
    const stat = fstatSync(fd, { bigint: true });
    this.closed = true;
    // Not waiting for an early flush: the descriptor is closed once it is done.
    const flushing = this.flushing;
    if (flushing === undefined) closeSync(fd);
    else void flushing.then(() => closeQuietly(fd));
    const result = digest ?? this.options.hasher.digest();
    await this.options.record(result, stat);
    return result;
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    await this.fail();
  }

  private assertOpen(): void {
    if (this.state === 'failed') throw new MutagenError('MUTAGEN_STAGING', 'unable to stage file: sink already failed');
    if (this.state === 'done') throw new MutagenError('MUTAGEN_STAGING', 'unable to stage file: sink already committed');
  }

  /** The file outgrew the held buffer: create it on the loop and write what was held. */
  private openHeld(): number {
    const fd = this.options.open();
    this.fd = fd;
    writeAll(fd, this.options.buffers.held.subarray(0, this.held), 0);
    this.held = 0;
    return fd;
  }

  /** Writes the small-file buffer at its offset (synchronous). */
  private flush(fd: number): void {
    if (this.buffered === 0) return;
    const length = this.buffered;
    this.buffered = 0;
    writeAll(fd, this.options.buffers.write.subarray(0, length), this.bufferStart);
  }

  /** Once the other buffer is written, starts writing the filled one and fills the other. */
  private async issue(fd: number): Promise<void> {
    const large = this.large;
    if (large === undefined) return;
    await this.settle();
    const [filled, other] = large;
    const write = writeAllAsync(fd, filled.subarray(0, this.filled), this.bufferStart);
    // A failure surfaces at the next issue() or commit(); never as an unhandled rejection.
    write.catch(() => undefined);
    this.inFlight = write;
    const end = this.bufferStart + this.filled;
    if (this.options.flushEarly && this.flushing === undefined && end - this.flushedUpTo >= EARLY_FLUSH_BYTES) {
      this.flushedUpTo = end;
      this.flushing = write.then(async () => new Promise<void>((resolve) => fdatasync(fd, () => resolve())), () => undefined).finally(() => {
        this.flushing = undefined;
      });
    }
    this.bufferStart += this.filled;
    this.filled = 0;
    this.large = [other, filled];
  }

  /** Waits for the write in flight; rejects with its error. */
  private async settle(): Promise<void> {
    const inFlight = this.inFlight;
    this.inFlight = undefined;
    if (inFlight !== undefined) await inFlight;
  }

  private async fail(): Promise<void> {
    const wasOpen = this.state === 'open';
    this.state = 'failed';
    // The descriptor is closed (and the buffers reused) only once no thread-pool write or flush uses them.
    await this.settle().catch(() => undefined);
    await this.flushing;
    if (wasOpen) this.options.release();
    const fd = this.fd;
    if (fd === undefined) return; // held bytes only (or handed over: the writer removes what it fails)
    if (!this.closed) {
      this.closed = true;
      closeQuietly(fd); // already failed; the partial file is removed below
    }
    await rm(this.options.file, { force: true });
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing more to release
  }
}

function writeAll(fd: number, data: Uint8Array, position: number): void {
  let offset = 0;
  while (offset < data.byteLength) offset += writeSync(fd, data, offset, data.byteLength - offset, position + offset);
}

/** Writes `data` at `position` in the thread pool, again after a short write. */
async function writeAllAsync(fd: number, data: Uint8Array, position: number): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) {
    const written = await new Promise<number>((resolve, reject) => {
      write(fd, data, offset, data.byteLength - offset, position + offset, (error, bytesWritten) => {
        if (error === null) resolve(bytesWritten);
        else reject(error);
      });
    });
    if (written === 0) throw new Error('short write of a staged file');
    offset += written;
  }
}
