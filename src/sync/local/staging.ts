import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm } from './sync-fs.js';
import path from 'node:path';
import { createXXHash128, type IHasher } from 'hash-wasm';
import { errnoCode, errorMessage, MutagenError } from '../../base/errors.js';
import type { HashAlgorithm } from '../../model/configuration.js';
import { digestHex } from '../../model/entry.js';
import { createHasher, type Hasher } from './hasher.js';

/** Temporary names inside the staging root; anything with this prefix is a partial write. */
const PARTIAL_PREFIX = '.mutagen-temporary-staging-';
/** Small writes are coalesced up to this size before they reach the disk (sync-semantics §8). */
const WRITE_BUFFER_SIZE = 64 * 1024;

/**
 * One file being received. Bytes are hashed as they are written; commit() names the file by the
 * digest actually computed. Calls are sequential. After a failed write, abort() or commit() (which
 * rejects) may follow; abort() is idempotent and never stages anything.
 */
export interface StagingSink {
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<Uint8Array>;
  abort(): Promise<void>;
}

export interface StagingStoreOptions {
  readonly root: string;
  readonly hash: HashAlgorithm;
  /** A sink that would grow past this many bytes fails (sync-semantics §6.7). */
  readonly maxFileSize: number;
}

/**
 * Content-addressed store of received files (sync-semantics §6.5): a staged file lives at
 * `<root>/<2 hex>/<digest hex><xxh3-128 of path hex>`, so a lookup by (path, expected digest)
 * misses when the received bytes hashed to something else. One owner (an endpoint) uses it
 * sequentially; wipe() after each transition removes everything.
 */
export class StagingStore {
  private readonly options: StagingStoreOptions;
  private pathHasher: Promise<IHasher> | undefined;
  private rootReady: Promise<void> | undefined;
  /** Fan-out directories known to exist (saves a mkdir per commit). */
  private readonly directories = new Set<string>();

  constructor(options: StagingStoreOptions) {
    this.options = options;
  }

  get root(): string {
    return this.options.root;
  }

  /** Creates the root (0700) and removes partial files left by an interrupted cycle. */
  async initialize(): Promise<void> {
    await this.ensureRoot();
    const names = await readdir(this.options.root);
    for (const name of names) {
      if (name.startsWith(PARTIAL_PREFIX)) await rm(path.join(this.options.root, name), { force: true, recursive: true });
    }
  }

  async contains(relative: string, digest: Uint8Array): Promise<boolean> {
    return (await this.stagedFile(relative, digest)) !== undefined;
  }

  /** Absolute path of the staged file for (path, digest), or undefined if none is staged. */
  async stagedFile(relative: string, digest: Uint8Array): Promise<string | undefined> {
    const file = await this.stagedLocation(relative, digest);
    try {
      const stat = await lstat(file);
      return stat.isFile() ? file : undefined;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
      throw error;
    }
  }

  /** Opens a sink for the file that will be staged for `relative`. */
  async createSink(relative: string): Promise<StagingSink> {
    await this.ensureRoot();
    const hasher = await createHasher(this.options.hash);
    const partial = path.join(this.options.root, `${PARTIAL_PREFIX}${randomBytes(8).toString('hex')}`);
    let fd: number;
    try {
      fd = openSync(partial, 'wx', 0o600);
    } catch (error) {
      throw new MutagenError('MUTAGEN_STAGING', `unable to create staged file: ${errorMessage(error)}`, { cause: error });
    }
    return new FileSink(fd, partial, hasher, this.options.maxFileSize, (digest) => this.place(partial, relative, digest));
  }

  /** Deletes the whole staging root (after a transition, sync-semantics §5.7). */
  async wipe(): Promise<void> {
    this.rootReady = undefined;
    this.directories.clear();
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

  /**
   * Where the staged file for (path, digest) lives, without checking that it exists: callers
   * that operate on it anyway (chmod, link) learn of a missing file from ENOENT, saving an lstat.
   */
  async stagedLocation(relative: string, digest: Uint8Array): Promise<string> {
    this.pathHasher ??= createXXHash128();
    const hasher = await this.pathHasher;
    // init/update/digest run synchronously, so sharing one instance is safe.
    const pathHash = hasher.init().update(relative).digest('hex');
    const hex = digestHex(digest);
    return path.join(this.options.root, hex.slice(0, 2).padEnd(2, '0'), `${hex}${pathHash}`);
  }

  /** Renames a finished partial file to its content-addressed name. */
  private async place(partial: string, relative: string, digest: Uint8Array): Promise<void> {
    const target = await this.stagedLocation(relative, digest);
    const directory = path.dirname(target);
    if (!this.directories.has(directory)) {
      await mkdir(directory, { recursive: true, mode: 0o700 });
      this.directories.add(directory);
    }
    try {
      await rename(partial, target);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
      // The fan-out directory vanished behind our back: recreate it once.
      this.directories.delete(directory);
      await mkdir(directory, { recursive: true, mode: 0o700 });
      this.directories.add(directory);
      await rename(partial, target);
    }
  }
}

class FileSink implements StagingSink {
  private readonly buffer = Buffer.allocUnsafe(WRITE_BUFFER_SIZE);
  private buffered = 0;
  private size = 0;
  private closed = false;
  private state: 'open' | 'failed' | 'done' = 'open';

  constructor(
    private readonly fd: number,
    private readonly partial: string,
    private readonly hasher: Hasher,
    private readonly maxSize: number,
    private readonly place: (digest: Uint8Array) => Promise<void>,
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
      closeSync(this.fd);
      this.closed = true;
      digest = this.hasher.digest();
      await this.place(digest);
    } catch (error) {
      await this.fail();
      throw new MutagenError('MUTAGEN_STAGING', `unable to commit staged file: ${errorMessage(error)}`, { cause: error });
    }
    this.state = 'done';
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
    this.state = 'failed';
    if (!this.closed) {
      this.closed = true;
      try {
        closeSync(this.fd);
      } catch {
        // already failed; the partial file is removed below
      }
    }
    await rm(this.partial, { force: true });
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.byteLength) offset += writeSync(fd, data, offset, data.byteLength - offset);
}
