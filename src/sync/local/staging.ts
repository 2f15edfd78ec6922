import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, writeSync, type BigIntStats } from 'node:fs';
import { mkdir, readdir, rm, unlink } from './sync-fs.js';
import path from 'node:path';
import { errnoCode, errorMessage, MutagenError } from '../../base/errors.js';
import type { HashAlgorithm } from '../../model/configuration.js';
import { digestHex } from '../../model/entry.js';
import { createHasher, type Hasher } from './hasher.js';
import { JOURNAL_NAME, StagingJournal } from './staging-journal.js';

/** Small writes are coalesced up to this size before they reach the disk (sync-semantics §8). */
const WRITE_BUFFER_SIZE = 64 * 1024;
/** A committed file at least this large is journaled at once (a crash would cost its transfer). */
const JOURNAL_NOW_SIZE = 1024 * 1024;

/**
 * One file being received. Bytes are hashed as they are written; commit() records the file under
 * the digest actually computed. Calls are sequential. After a failed write, abort() or commit()
 * (which rejects) may follow; abort() is idempotent and never stages anything.
 */
export interface StagingSink {
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<Uint8Array>;
  abort(): Promise<void>;
}

/** A committed staged file: where it is, and its stat when it was closed (unknown after a restart). */
export interface StagedFile {
  readonly file: string;
  readonly stat: BigIntStats | undefined;
}

export interface StagingStoreOptions {
  readonly root: string;
  readonly hash: HashAlgorithm;
  /** A sink that would grow past this many bytes fails (sync-semantics §6.7). */
  readonly maxFileSize: number;
  /** Permission bits staged files are created with (the umask applies); 0600 when unset. */
  readonly fileMode?: number;
}

/**
 * Store of received files (sync-semantics §6.5), looked up by (path, digest actually computed):
 * a lookup by (path, expected digest) misses when the received bytes hashed to something else,
 * which is the only content check. Files are written once, directly under their final name in a
 * flat root; an append-only journal (staging-journal.ts) records each committed file, so a later
 * process finds them again and everything else in the root is a partial file to remove. This
 * replaces the per-file rename to a content-addressed name of §6.5 with a journal line (one
 * buffered write per 64 KiB of records, at once for files of 1 MiB and more, and at the end of
 * each stage phase). One owner (an endpoint) uses it sequentially; wipe()
 * after each transition removes everything.
 */
export class StagingStore {
  private readonly options: StagingStoreOptions;
  private readonly journal: StagingJournal;
  /** `<digest hex>:<path>` → committed file. Loaded from the journal by the first initialize(). */
  private readonly index = new Map<string, StagedFile>();
  private loaded = false;
  private rootReady: Promise<void> | undefined;
  /** Names are `<tag>-<counter>`: the tag is unique to this store instance (process). */
  private readonly tag = randomBytes(6).toString('hex');
  private counter = 0;
  private spareBuffer: Buffer | undefined;

  constructor(options: StagingStoreOptions) {
    this.options = options;
    this.journal = new StagingJournal(path.join(options.root, JOURNAL_NAME));
  }

  get root(): string {
    return this.options.root;
  }

  /**
   * Creates the root (0700). The first call also reads the journal left by an earlier process
   * and removes every file it does not list (partial writes of an interrupted cycle).
   */
  async initialize(): Promise<void> {
    await this.ensureRoot();
    if (this.loaded) return;
    const records = StagingJournal.read(path.join(this.options.root, JOURNAL_NAME));
    const names = new Set(await readdir(this.options.root));
    const kept = new Set<string>([JOURNAL_NAME]);
    for (const record of records) {
      if (!names.has(record.name)) continue;
      const key = indexKey(record.digestHex, record.path);
      const previous = this.index.get(key);
      if (previous !== undefined) kept.delete(path.basename(previous.file));
      this.index.set(key, { file: path.join(this.options.root, record.name), stat: undefined });
      kept.add(record.name);
    }
    for (const name of names) {
      if (!kept.has(name)) await rm(path.join(this.options.root, name), { force: true, recursive: true });
    }
    this.loaded = true;
  }

  async contains(relative: string, digest: Uint8Array): Promise<boolean> {
    return Promise.resolve(this.lookup(relative, digest) !== undefined);
  }

  /** Absolute path of the staged file for (path, digest), or undefined if none is staged. */
  async stagedFile(relative: string, digest: Uint8Array): Promise<string | undefined> {
    return Promise.resolve(this.lookup(relative, digest)?.file);
  }

  /** The staged file for (path, digest), without touching the disk. */
  lookup(relative: string, digest: Uint8Array): StagedFile | undefined {
    return this.index.get(indexKey(digestHex(digest), relative));
  }

  /** Forgets a staged file that was moved into place or found missing. */
  release(relative: string, digest: Uint8Array): void {
    this.index.delete(indexKey(digestHex(digest), relative));
  }

  /** Writes buffered journal records (end of a stage phase). */
  persist(): void {
    try {
      this.journal.flush();
    } catch (error) {
      throw new MutagenError('MUTAGEN_STAGING', `unable to write staging journal: ${errorMessage(error)}`, { cause: error });
    }
  }

  /** Opens a sink for the file that will be staged for `relative`. */
  async createSink(relative: string): Promise<StagingSink> {
    if (!this.loaded) await this.initialize();
    else await this.ensureRoot();
    const hasher = await createHasher(this.options.hash);
    const name = `${this.tag}-${(this.counter++).toString(36)}`;
    const file = path.join(this.options.root, name);
    let fd: number;
    try {
      fd = openSync(file, 'wx', this.options.fileMode ?? 0o600);
    } catch (error) {
      throw new MutagenError('MUTAGEN_STAGING', `unable to create staged file: ${errorMessage(error)}`, { cause: error });
    }
    // Sinks are used one after the other: they share one write buffer instead of allocating
    // 64 KiB per file (which costs garbage collection with many small files).
    const buffer = this.spareBuffer ?? Buffer.allocUnsafe(WRITE_BUFFER_SIZE);
    this.spareBuffer = undefined;
    const release = (): void => {
      this.spareBuffer = buffer;
    };
    return new FileSink(fd, file, hasher, this.options.maxFileSize, buffer, release, (digest, stat) => this.record(relative, name, digest, stat));
  }

  /** Deletes the whole staging root (after a transition, sync-semantics §5.7). */
  async wipe(): Promise<void> {
    this.rootReady = undefined;
    this.journal.close();
    this.index.clear();
    this.loaded = true;
    await rm(this.options.root, { recursive: true, force: true });
  }

  private ensureRoot(): Promise<void> {
    this.rootReady ??= mkdir(this.options.root, { recursive: true, mode: 0o700 }).then(
      () => undefined,
      (error: unknown) => {
        this.rootReady = undefined;
        throw new MutagenError('MUTAGEN_STAGING', `unable to create staging directory: ${errorMessage(error)}`, { cause: error });
      },
    );
    return this.rootReady;
  }

  private async record(relative: string, name: string, digest: Uint8Array, stat: BigIntStats): Promise<void> {
    const hex = digestHex(digest);
    const key = indexKey(hex, relative);
    const previous = this.index.get(key);
    this.journal.append({ name, digestHex: hex, path: relative }, stat.size >= JOURNAL_NOW_SIZE);
    this.index.set(key, { file: path.join(this.options.root, name), stat });
    if (previous !== undefined) await unlink(previous.file).catch((error: unknown) => {
      if (errnoCode(error) !== 'ENOENT') throw error;
    });
  }
}

function indexKey(hex: string, relative: string): string {
  return `${hex}:${relative}`;
}

class FileSink implements StagingSink {
  private buffered = 0;
  private size = 0;
  private closed = false;
  private state: 'open' | 'failed' | 'done' = 'open';

  constructor(
    private readonly fd: number,
    private readonly file: string,
    private readonly hasher: Hasher,
    private readonly maxSize: number,
    private readonly buffer: Buffer,
    /** Gives the buffer back; called once, when the sink is done or failed. */
    private readonly release: () => void,
    private readonly record: (digest: Uint8Array, stat: BigIntStats) => Promise<void>,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen();
    if (this.size + chunk.byteLength > this.maxSize) {
      await this.fail();
      throw new MutagenError('MUTAGEN_STAGING', `unable to stage file: file exceeds maximum staging file size (${this.maxSize} bytes)`);
    }
    this.size += chunk.byteLength;
    this.hasher.update(chunk);
    try {
      if (this.buffered + chunk.byteLength > WRITE_BUFFER_SIZE) this.flush();
      if (chunk.byteLength >= WRITE_BUFFER_SIZE) writeAll(this.fd, chunk);
      else {
        this.buffer.set(chunk, this.buffered);
        this.buffered += chunk.byteLength;
      }
    } catch (error) {
      await this.fail();
      throw new MutagenError('MUTAGEN_STAGING', `unable to write staged file: ${errorMessage(error)}`, { cause: error });
    }
  }

  async commit(): Promise<Uint8Array> {
    this.assertOpen();
    let digest: Uint8Array;
    try {
      this.flush();
      const stat = fstatSync(this.fd, { bigint: true });
      closeSync(this.fd);
      this.closed = true;
      digest = this.hasher.digest();
      await this.record(digest, stat);
    } catch (error) {
      await this.fail();
      throw new MutagenError('MUTAGEN_STAGING', `unable to commit staged file: ${errorMessage(error)}`, { cause: error });
    }
    this.state = 'done';
    this.release();
    return digest;
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    await this.fail();
  }

  private assertOpen(): void {
    if (this.state === 'failed') throw new MutagenError('MUTAGEN_STAGING', 'unable to stage file: sink already failed');
    if (this.state === 'done') throw new MutagenError('MUTAGEN_STAGING', 'unable to stage file: sink already committed');
  }

  private flush(): void {
    if (this.buffered === 0) return;
    const length = this.buffered;
    this.buffered = 0;
    writeAll(this.fd, this.buffer.subarray(0, length));
  }

  private async fail(): Promise<void> {
    if (this.state === 'open') this.release();
    this.state = 'failed';
    if (!this.closed) {
      this.closed = true;
      try {
        closeSync(this.fd);
      } catch {
        // already failed; the partial file is removed below
      }
    }
    await rm(this.file, { force: true });
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.byteLength) offset += writeSync(fd, data, offset, data.byteLength - offset);
}
