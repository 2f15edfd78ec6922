import { randomBytes } from 'node:crypto';
import { lstatSync, openSync, type Dirent } from 'node:fs';
import { readdir as readdirAsync, rm as removeTree, unlink as unlinkAsync } from 'node:fs/promises';
import { mkdir, readdir, rm, unlink } from './sync-fs.js';
import path from 'node:path';
import { errnoCode, errorMessage, MutagenError } from '../../base/errors.js';
import { forEachConcurrently } from '../../base/concurrency.js';
import { childPath } from '../../base/paths.js';
import type { HashAlgorithm } from '../../model/configuration.js';
import { digestHex } from '../../model/entry.js';
import { hashPool, POOLED_FILE_LIMIT, type CopyResult, type SideCopy } from './hash-pool.js';
import { createHasher, hashWhole } from './hasher.js';
import { StagedIndex, type StagedFile } from './staging-index.js';
import { JOURNAL_NAME, StagingJournal } from './staging-journal.js';
import { stagingWriter, WRITER_FILE_LIMIT, type WrittenStat } from './staging-writer.js';
import { FileSink, LARGE_BUFFER_SIZE, WRITE_BUFFER_SIZE, type SinkBuffers } from './staging-sink.js';

/**
 * A file's bytes are kept in a buffer of this size until it is committed, and the staging
 * writer thread creates it then (staging-writer.ts); a file that outgrows it is created and
 * written on the loop from then on.
 */
const HELD_BUFFER_SIZE = WRITER_FILE_LIMIT;
/** Files up to this size are copied by a file thread (copyIn); larger ones are streamed, interruptibly. */
const COPY_LIMIT = POOLED_FILE_LIMIT;
/** A committed file at least this large is journaled at once (a crash would cost its transfer). */
const JOURNAL_NOW_SIZE = 1024 * 1024;
/**
 * Staged files are spread over this many subdirectories of the root (`<shard>/<name>`, by
 * counter). File threads creating files in one directory wait for each other on its lock
 * (measured: a tenth of an initial sync's CPU time was spent spinning on it) and make it huge.
 */
const SHARDS = 16;

/**
 * One file being received. Bytes are hashed as they are written; commit() records the file under
 * the digest actually computed. Calls are sequential. After a failed write, abort() or commit()
 * (which rejects) may follow; abort() is idempotent and never stages anything. A chunk is no
 * longer used once write() resolved (the caller may reuse its memory).
 */
export interface StagingSink {
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<Uint8Array>;
  abort(): Promise<void>;
}

/** See StagingStore.claim(). */
export interface StagingClaim {
  readonly copy: SideCopy;
  commit(digest: Uint8Array, stat: WrittenStat): Promise<void>;
}

/** The other side's staging area, taking copies of new files from the reads that hash them (Endpoint.acceptPrestaging). */
export interface Prestager {
  /** Where to copy the file at `relative`; undefined: not wanted (any more). */
  claim(relative: string): StagingClaim | undefined;
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
  /** (path, digest) → committed file. Loaded from the journal by the first initialize(). */
  private readonly index = new StagedIndex();
  private loaded = false;
  private loading: Promise<void> | undefined;
  private rootReady: Promise<void> | undefined;
  /** Whether rootReady resolved (claim() needs the root and its shards in place at once). */
  private rootSettled = false;
  /** Names are `<shard>/<tag>-<counter>`: the tag is unique to this store instance (process). */
  private readonly tag = randomBytes(6).toString('hex');
  private counter = 0;
  private spareBuffers: SinkBuffers | undefined;
  private spareLarge: [Buffer, Buffer] | undefined;
  /** Removal of the root by the last wipe(), still running or done. */
  private cleanup: Promise<void> = Promise.resolve();

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
    // Once, even when called again meanwhile (prestaging starts it while a cycle may too).
    this.loading ??= this.load();
    await this.loading;
  }

  private async load(): Promise<void> {
    const records = StagingJournal.read(path.join(this.options.root, JOURNAL_NAME));
    const names = new Set(await listStagingRoot(this.options.root, async (directory) => readdir(directory, { withFileTypes: true })));
    const kept = new Set<string>([JOURNAL_NAME]);
    for (const record of records) {
      if (!names.has(record.name) || placedAlready(path.join(this.options.root, record.name))) continue;
      const previous = this.index.set(record.path, Buffer.from(record.digestHex, 'hex'), { file: path.join(this.options.root, record.name), stat: undefined });
      if (previous !== undefined) kept.delete(path.relative(this.options.root, previous.file));
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
    return this.index.get(relative, digest);
  }

  /** Forgets a staged file that was moved into place or found missing. */
  release(relative: string, digest: Uint8Array): void {
    this.index.delete(relative, digest);
  }

  /** Resolves once every file committed so far is written and in the index (not yet journaled). */
  async settled(): Promise<void> {
    await stagingWriter.drain();
  }

  /**
   * Waits for files the writer thread still creates, then writes buffered journal records (end
   * of a stage phase): the transition that follows finds every committed file in the index.
   */
  async persist(): Promise<void> {
    await this.settled();
    try {
      this.journal.flush();
    } catch (error) {
      throw new MutagenError('MUTAGEN_STAGING', `unable to write staging journal: ${errorMessage(error)}`, { cause: error });
    }
  }

  /** Whether copyIn() can work at all (the file threads hash with node:crypto only). */
  get copiesInThreads(): boolean {
    return this.options.hash !== 'xxh128';
  }

  /**
   * Stages a copy of the local file `source` for `relative`, made and hashed by a file thread
   * (hash-pool.ts; local↔local sessions, where the sender's files are on this very machine).
   * Recorded under the digest of the bytes copied, as a committed sink would be. Resolves to the
   * copied size, or undefined when the thread skipped the file (not a regular file, larger than
   * COPY_LIMIT or the maximum staging file size, unreadable...): the caller streams it instead.
   */
  async copyIn(relative: string, source: string): Promise<number | undefined> {
    const algorithm = this.options.hash;
    if (algorithm === 'xxh128') return undefined;
    const name = await this.newName();
    const limit = Math.min(COPY_LIMIT, this.options.maxFileSize);
    let result: CopyResult;
    try {
      result = await hashPool.copy(source, childPath(this.options.root, name), this.options.fileMode ?? 0o600, algorithm, limit);
    } catch {
      return undefined; // the thread was lost: streamed instead
    }
    if (result.kind === 'skipped') return undefined;
    await this.record(relative, name, result.digest, result.stat);
    return Number(result.stat.size);
  }

  /**
   * A name for a file to be staged for `relative` by a scan of the sending side, which copies it
   * as it hashes it (prestaging, LocalEndpoint.acceptPrestaging): `commit` records it under the
   * digest of the bytes copied, as copyIn() does. Undefined unless the store is loaded, its root
   * is in place and it hashes with `algorithm`.
   */
  claim(relative: string, algorithm: HashAlgorithm): StagingClaim | undefined {
    if (!this.loaded || !this.rootSettled || algorithm !== this.options.hash) return undefined;
    const name = this.nextName();
    return {
      copy: { target: childPath(this.options.root, name), mode: this.options.fileMode ?? 0o600, limit: Math.min(COPY_LIMIT, this.options.maxFileSize) },
      commit: async (digest, stat) => this.record(relative, name, digest, stat),
    };
  }

  /**
   * Opens a sink for the file that will be staged for `relative`; `replacing` when it is meant
   * to replace a file there (a patch against that file), see EARLY_FLUSH_BYTES.
   */
  async createSink(relative: string, replacing = false): Promise<StagingSink> {
    const name = await this.newName();
    const hasher = await createHasher(this.options.hash);
    const file = childPath(this.options.root, name);
    const mode = this.options.fileMode ?? 0o600;
    // Sinks are used one after the other: they share their buffers instead of allocating them
    // per file (which costs garbage collection with many small files).
    const buffers = this.spareBuffers ?? { write: Buffer.allocUnsafe(WRITE_BUFFER_SIZE), held: Buffer.allocUnsafe(HELD_BUFFER_SIZE) };
    this.spareBuffers = undefined;
    let large: [Buffer, Buffer] | undefined;
    const takeLarge = (): [Buffer, Buffer] => {
      large = this.spareLarge ?? [Buffer.allocUnsafe(LARGE_BUFFER_SIZE), Buffer.allocUnsafe(LARGE_BUFFER_SIZE)];
      this.spareLarge = undefined;
      return large;
    };
    const release = (): void => {
      this.spareBuffers = buffers;
      if (large !== undefined) this.spareLarge = large;
    };
    const open = (): number => {
      try {
        return openSync(file, 'wx', mode);
      } catch (error) {
        throw new MutagenError('MUTAGEN_STAGING', `unable to create staged file: ${errorMessage(error)}`, { cause: error });
      }
    };
    return new FileSink({
      file, hasher, maxSize: this.options.maxFileSize, buffers, open, takeLarge,
      hand: async (data, digest) => this.hand(relative, name, data, digest), release, flushEarly: replacing,
      record: (digest, stat) => this.record(relative, name, digest, stat),
    });
  }

  /**
   * Stages a whole small file that arrived in one piece without a sink (StagingReceiver
   * .writeWhole): hashed here in one call, written by the writer thread and recorded once
   * written. Undefined when that does not apply (root not ready yet, too large, a hash without a
   * one-shot form); resolves to false when there is no writer thread. Either way nothing was
   * staged then: use createSink().
   */
  stageWhole(relative: string, data: Uint8Array): Promise<boolean> | undefined {
    if (!this.loaded || !this.rootSettled || data.byteLength > Math.min(WRITER_FILE_LIMIT, this.options.maxFileSize)) return undefined;
    const digest = hashWhole(this.options.hash, data);
    if (digest === undefined) return undefined;
    return this.hand(relative, this.nextName(), data, digest);
  }

  /** Hands a complete file to the writer thread, to be recorded once written; false if there is no thread. */
  private async hand(relative: string, name: string, data: Uint8Array, digest: Uint8Array): Promise<boolean> {
    try {
      // Recorded once written; a file that could not be written is simply not staged (the
      // transition reports it missing and the next cycle retries, §5.7).
      await stagingWriter.add(childPath(this.options.root, name), this.options.fileMode ?? 0o600, data, (result) => {
        if (result instanceof Error) return;
        void this.record(relative, name, digest, result).catch(() => undefined);
      });
      return true;
    } catch {
      return false; // no writer thread (it could not start)
    }
  }

  /** A fresh name in the root, once the root is ready (created, and loaded on first use). */
  private async newName(): Promise<string> {
    if (!this.loaded) await this.initialize();
    else await this.ensureRoot();
    return this.nextName();
  }

  private nextName(): string {
    const counter = this.counter++;
    return `${(counter % SHARDS).toString(36)}/${this.tag}-${counter.toString(36)}`;
  }

  /** Deletes the whole staging root (after a transition, sync-semantics §5.7). */
  async wipe(): Promise<void> {
    // Nothing the writer thread still creates may land in the root after it is removed.
    await stagingWriter.drain();
    this.rootReady = undefined;
    this.rootSettled = false;
    this.journal.close();
    this.index.clear();
    this.loaded = true;
    // The journal goes first, at once: whatever is left in the root is then nothing a later
    // process keeps. The rest (the names of files placed by hard link, one per created file) is
    // removed in the thread pool while the cycle finishes; the next use of the root waits for it.
    await unlink(path.join(this.options.root, JOURNAL_NAME)).catch((error: unknown) => {
      if (errnoCode(error) !== 'ENOENT') throw error;
    });
    const root = this.options.root;
    // After any earlier removal: two must never overlap (the later one's root may be in use).
    this.cleanup = this.cleanup.then(async () => removeInBackground(root));
  }

  /** Resolves once the root a wipe() left behind is gone (it never rejects). */
  async cleaned(): Promise<void> {
    await this.cleanup;
  }

  private ensureRoot(): Promise<void> {
    this.rootReady ??= this.cleanup.then(async () => {
      await mkdir(this.options.root, { recursive: true, mode: 0o700 });
      for (let shard = 0; shard < SHARDS; shard++) {
        await mkdir(path.join(this.options.root, shard.toString(36)), { mode: 0o700 }).catch((error: unknown) => {
          if (errnoCode(error) !== 'EEXIST') throw error;
        });
      }
    }).then(
      () => {
        this.rootSettled = true;
      },
      (error: unknown) => {
        this.rootReady = undefined;
        throw new MutagenError('MUTAGEN_STAGING', `unable to create staging directory: ${errorMessage(error)}`, { cause: error });
      },
    );
    return this.rootReady;
  }

  private async record(relative: string, name: string, digest: Uint8Array, stat: WrittenStat): Promise<void> {
    this.journal.append({ name, digestHex: digestHex(digest), path: relative }, stat.size >= JOURNAL_NOW_SIZE);
    const previous = this.index.set(relative, digest, { file: childPath(this.options.root, name), stat });
    if (previous !== undefined) await unlink(previous.file).catch((error: unknown) => {
      if (errnoCode(error) !== 'ENOENT') throw error;
    });
  }
}

/**
 * Whether a journaled file is also linked elsewhere: a transition placed it by hard link and the
 * process ended before wipe() removed its staged name. Its content is the placed file's, which
 * may have been edited in place since: it is no staged file any more.
 */
function placedAlready(file: string): boolean {
  try {
    return lstatSync(file).nlink > 1;
  } catch {
    return true;
  }
}

/** Unlinks removeInBackground() keeps in flight in the thread pool. */
const REMOVALS_IN_FLIGHT = 8;

/**
 * Removes a staging root off the loop: by a file thread (hash-pool.ts), in one job; else (no
 * thread, or it failed) in the thread pool, a few names at a time (fs.promises.rm would start an
 * lstat and an unlink for every one of tens of thousands of names at once, a burst of memory and
 * of work on the loop). Failures are left for the next initialize() (never rejects).
 */
async function removeInBackground(root: string): Promise<void> {
  if (await hashPool.removeTree(root)) return;
  let names: string[];
  try {
    names = await listStagingRoot(root, async (directory) => readdirAsync(directory, { withFileTypes: true }));
  } catch {
    return;
  }
  await forEachConcurrently(names, REMOVALS_IN_FLIGHT, async (name) => {
    const file = childPath(root, name);
    await unlinkAsync(file).catch(async (error: unknown) => {
      const code = errnoCode(error);
      if (code === 'EISDIR' || code === 'EPERM') await removeTree(file, { recursive: true, force: true });
    }).catch(() => undefined);
  });
  // The shards, now empty, and anything else left at the top.
  await removeTree(root, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * The names in a staging root, relative to it: those in its directories (the shards) as
 * `<shard>/<name>`, and the files at its top (the journal, and staged files of the flat layout
 * of earlier versions).
 */
async function listStagingRoot(root: string, list: (directory: string) => Promise<Dirent[]>): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await list(root)) {
    if (!entry.isDirectory()) {
      names.push(entry.name);
      continue;
    }
    const shard = entry.name;
    for (const inner of await list(childPath(root, shard))) names.push(`${shard}/${inner.name}`);
  }
  return names;
}
