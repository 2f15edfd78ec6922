import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { MutagenError } from '../../base/errors.js';
import { startScriptWorker, type ScriptWorkerHandlers } from '../../base/script-worker.js';
import { createHasher, HASH_CHUNK_SIZE, hashPath, type PathHashResult, type Yielder } from './hasher.js';
import type { WrittenStat } from './staging-writer.js';

/** Algorithms the threads hash with (node:crypto); xxh128 (hash-wasm) stays on the loop. */
export type PooledAlgorithm = 'sha1' | 'sha256';

/** Files below this size may go to the pool (larger ones are hashed on the loop, read ahead and interruptible). */
export const POOLED_FILE_LIMIT = 4 * 1024 * 1024;
/** A batch is sent once it holds this many files, else at the next turn of the event loop. */
const BATCH_FILES = 64;
/** Threads end after this long without work (a scan is a burst; the next one starts them again). */
const IDLE_EXIT_MS = 2_000;

/**
 * The file thread (a classic script: `eval` workers cannot import). Each job of a batch is one of:
 * - ['hash', file, expectedSize, algorithm]: exactly what hasher.ts hashPath() does for a file
 *   that fits its first reads: open without following links and without blocking, read until end
 *   of file (a short read at or past the expected size ends it), fstat, compare sizes, close.
 *   ['hashed', digest, bytesRead] | ['vanished'] | ['open-failed', code, message] | ['problem', text].
 * - ['stat-hash', file, algorithm, limit, copy?]: the same for a file the scan did not lstat: the
 *   descriptor's fstat stands in for it (a file newly seen, typed by its directory listing).
 *   ['hashed', digest, bytesRead, ino, size, mtimeNs, mode] (that fstat) | ['vanished'] |
 *   ['problem', text] | ['unsuitable'] (not a regular file, `limit` bytes or more, or the open
 *   failed: the scan lstats it and decides as usual). With copy = [target, mode, copyLimit], a
 *   suitable file of at most copyLimit bytes is also written, as it is read, to `target`
 *   (created exclusively with `mode`): its stat is appended to 'hashed' (ino, size, mtimeNs,
 *   mode). Whatever goes wrong with the copy leaves nothing at `target` and the hash unchanged.
 * - ['copy', source, target, mode, algorithm, limit]: the same open of `source`, which must be a
 *   regular file of at most `limit` bytes; `target` is created exclusively with `mode` and gets
 *   every byte read, hashed on the way. ['copied', digest, ino, size, mtimeNs, mode] (the target's
 *   stat) | ['skipped', reason]: nothing is left at `target` then.
 */
const WORKER_SOURCE = `
'use strict';
const fs = require('node:fs');
const crypto = require('node:crypto');
const { parentPort } = require('node:worker_threads');
const FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | (fs.constants.O_NONBLOCK || 0);
const buffer = Buffer.allocUnsafe(256 * 1024);
// Reads fd to its end, hashing every byte; a short read at or past \`expected\` is the end (of a
// regular file, at that moment). Each chunk (in \`buffer\`) also goes to \`each\` with its offset
// before the next read. Returns the byte count; read errors and those of \`each\` propagate.
function pump(fd, hash, expected, each) {
  let total = 0;
  for (;;) {
    const count = fs.readSync(fd, buffer, 0, buffer.length, null);
    if (count > 0) {
      if (each !== undefined) each(count, total);
      hash.update(buffer.subarray(0, count));
    }
    total += count;
    if (count === 0 || (count < buffer.length && total >= expected)) return total;
  }
}
// Writes the \`count\` bytes of \`buffer\` at \`offset\` of fd.
function writeAll(fd, count, offset) {
  for (let written = 0; written < count;) {
    const bytes = fs.writeSync(fd, buffer, written, count - written, offset + written);
    if (bytes === 0) throw new Error('short write');
    written += bytes;
  }
}
// A copy made on the way by hashOne(): created at once, dropped (file removed) on any failure.
function sideCopy(target, mode) {
  let fd = -1;
  try {
    fd = fs.openSync(target, 'wx', mode);
  } catch {
    return undefined;
  }
  const drop = () => {
    if (fd < 0) return;
    try { fs.closeSync(fd); } catch {}
    try { fs.rmSync(target, { force: true }); } catch {}
    fd = -1;
  };
  return {
    write(count, offset) {
      if (fd < 0) return;
      try { writeAll(fd, count, offset); } catch { drop(); }
    },
    finish() {
      if (fd < 0) return undefined;
      try {
        const stat = fs.fstatSync(fd, { bigint: true });
        fs.closeSync(fd);
        fd = -1;
        return [stat.ino, stat.size, stat.mtimeNs, stat.mode];
      } catch {
        drop();
        return undefined;
      }
    },
    drop,
  };
}
function hashOne(file, expected, algorithm, limit, copy) {
  let fd;
  try {
    fd = fs.openSync(file, FLAGS);
  } catch (error) {
    if (error.code === 'ENOENT') return ['vanished'];
    return limit === undefined ? ['open-failed', String(error.code || ''), String(error.message)] : ['unsuitable'];
  }
  try {
    let stat;
    if (limit !== undefined) {
      try {
        stat = fs.fstatSync(fd, { bigint: true });
      } catch (error) {
        return ['problem', 'unable to hash file contents: ' + error.message];
      }
      if (!stat.isFile() || stat.size >= BigInt(limit)) return ['unsuitable'];
      expected = Number(stat.size);
    }
    const side = copy !== undefined && stat !== undefined && stat.size <= BigInt(copy[2]) ? sideCopy(copy[0], copy[1]) : undefined;
    try {
      const hash = crypto.createHash(algorithm);
      let total;
      try {
        total = pump(fd, hash, expected, side === undefined ? undefined : (count, offset) => side.write(count, offset));
      } catch (error) {
        return ['problem', 'unable to hash file contents: ' + error.message];
      }
      let size;
      try {
        size = fs.fstatSync(fd).size;
      } catch (error) {
        return ['problem', 'unable to hash file contents: ' + error.message];
      }
      if (total !== size) return ['problem', 'hashed size mismatch: ' + total + ' != ' + size];
      if (total !== expected) return ['problem', 'hashed size mismatch: ' + total + ' != ' + expected];
      if (stat === undefined) return ['hashed', hash.digest(), total];
      const result = ['hashed', hash.digest(), total, stat.ino, stat.size, stat.mtimeNs, stat.mode];
      const copied = side === undefined ? undefined : side.finish();
      return copied === undefined ? result : result.concat(copied);
    } finally {
      if (side !== undefined) side.drop();
    }
  } finally {
    fs.closeSync(fd);
  }
}
function copyOne(source, target, mode, algorithm, limit) {
  let input;
  try {
    input = fs.openSync(source, FLAGS);
  } catch (error) {
    return ['skipped', 'unable to open file: ' + error.message];
  }
  let output = -1;
  let created = false;
  try {
    const stat = fs.fstatSync(input);
    if (!stat.isFile()) return ['skipped', 'not a regular file'];
    if (stat.size > limit) return ['skipped', 'too large'];
    output = fs.openSync(target, 'wx', mode);
    created = true;
    const hash = crypto.createHash(algorithm);
    pump(input, hash, stat.size, (count, offset) => {
      if (offset + count > limit) throw new Error('too large');
      writeAll(output, count, offset);
    });
    const written = fs.fstatSync(output, { bigint: true });
    const closing = output;
    output = -1;
    fs.closeSync(closing);
    created = false;
    return ['copied', hash.digest(), written.ino, written.size, written.mtimeNs, written.mode];
  } catch (error) {
    return ['skipped', error instanceof Error ? error.message : String(error)];
  } finally {
    fs.closeSync(input);
    if (output >= 0) { try { fs.closeSync(output); } catch {} }
    if (created) { try { fs.rmSync(target, { force: true }); } catch {} }
  }
}
function run(job) {
  try {
    switch (job[0]) {
      case 'copy': return copyOne(job[1], job[2], job[3], job[4], job[5]);
      case 'stat-hash': return hashOne(job[1], -1, job[2], job[3], job[4]);
      default: return hashOne(job[1], job[2], job[3]);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return job[0] === 'copy' ? ['skipped', message] : ['problem', 'unable to hash file contents: ' + message];
  }
}
// The digests of a batch travel packed in one transferred buffer (one ArrayBuffer per batch, not
// one per file, for the collector to track): a result's digest slot holds its offset there.
parentPort.on('message', ({ id, jobs }) => {
  const results = jobs.map(run);
  let size = 0;
  for (const result of results) if (result[0] === 'hashed' || result[0] === 'copied') size += result[1].length;
  const digests = new Uint8Array(size);
  let offset = 0;
  for (const result of results) {
    if (result[0] !== 'hashed' && result[0] !== 'copied') continue;
    digests.set(result[1], offset);
    const length = result[1].length;
    result[1] = offset;
    offset += length;
  }
  parentPort.postMessage({ id, results, digests }, [digests.buffer]);
});
`;

type HashJob = readonly ['hash', string, number, PooledAlgorithm]
  | readonly ['stat-hash', string, PooledAlgorithm, number, (readonly [string, number, number])?];
type CopyJob = readonly ['copy', string, string, number, PooledAlgorithm, number];

export type WireResult =
  | readonly ['hashed', Uint8Array, number]
  | readonly ['vanished']
  | readonly ['open-failed', string, string]
  | readonly ['problem', string];

type StatedWireResult = readonly ['hashed', Uint8Array, number, bigint, bigint, bigint, bigint]
  | readonly ['hashed', Uint8Array, number, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint]
  | readonly ['unsuitable'];

/** A copy statHash() makes of the file as it reads it (prestaging): created exclusively at `target`. */
export interface SideCopy {
  readonly target: string;
  readonly mode: number;
  /** Larger files are not copied (hashed all the same). */
  readonly limit: number;
}

/**
 * Hashing a file the scan did not lstat (statHash()): its digest with the descriptor's stat, or
 * 'unsuitable' when the scan must lstat it and decide as usual (not a regular file, too large,
 * the open failed, no thread).
 */
export type StatedHashResult =
  | {
    readonly kind: 'hashed'; readonly digest: Uint8Array; readonly bytesRead: number; readonly stat: WrittenStat;
    /** The stat of the copy asked for, when it was made (holding exactly the bytes hashed). */
    readonly copied?: WrittenStat;
  }
  | { readonly kind: 'vanished' }
  | { readonly kind: 'problem'; readonly problem: string }
  | { readonly kind: 'unsuitable' };

type CopyWireResult = readonly ['copied', Uint8Array, bigint, bigint, bigint, bigint] | readonly ['skipped', string];

/** What a file thread posts back for one batch: each digest slot is an offset into `digests`. */
export interface HashMessage {
  readonly id: number;
  readonly results: unknown[][];
  readonly digests: Uint8Array;
}

/** Digest sizes of the pooled algorithms (a result's digest is that many bytes at its offset). */
const DIGEST_LENGTH: Readonly<Record<PooledAlgorithm, number>> = { sha1: 20, sha256: 32 };

function jobAlgorithm(job: HashJob | CopyJob): PooledAlgorithm {
  switch (job[0]) {
    case 'hash': return job[3];
    case 'stat-hash': return job[2];
    case 'copy': return job[4];
  }
}

/** A copy made by a file thread: the digest of the bytes it wrote, and the new file's stat. */
export type CopyResult =
  | { readonly kind: 'copied'; readonly digest: Uint8Array; readonly stat: WrittenStat }
  | { readonly kind: 'skipped'; readonly reason: string };

interface Request {
  readonly job: HashJob | CopyJob;
  readonly resolve: (result: WireResult | StatedWireResult | CopyWireResult | undefined) => void;
  readonly reject: (error: Error) => void;
}

interface Lane {
  readonly worker: Worker;
  readonly inFlight: Map<number, Request[]>;
  files: number;
}

/**
 * Hashes small files in worker threads while the scan walks on (sync-semantics §2.5: the same
 * reads and checks as on the loop, so the same result). The scanner hands over files once it has
 * hashed a few on the loop itself, so a rescan after a small change never waits for a thread to
 * start. The same threads copy small files into staging for local↔local sessions (copy()).
 * Threads are started on demand, one per core (at least one, at most two), and end when
 * idle; when none can start, files are hashed on the loop (and copies are skipped). A thread that
 * dies fails its files with MUTAGEN_SCAN_RETRY: the scan is retried, it never records a file it
 * could not hash.
 */
export class HashPool {
  private readonly lanes: Lane[] = [];
  private queued: Request[] = [];
  private flushScheduled = false;
  private nextId = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly size: number) {}

  /** Hashes the regular file at `absolute` (lstat said `expectedSize` bytes). */
  async hash(absolute: string, expectedSize: number, algorithm: PooledAlgorithm): Promise<PathHashResult> {
    const result = await this.submit(['hash', absolute, expectedSize, algorithm]);
    // No thread could start (a process, thread or memory limit): hashed here instead.
    return result === undefined ? hashHere(absolute, expectedSize, algorithm) : fromWire(result as WireResult);
  }

  /**
   * Hashes the file at `absolute` without a prior lstat: the thread opens it (never following a
   * symbolic link) and takes the descriptor's fstat as its stat. Files of `limit` bytes or more
   * and anything but a regular file are 'unsuitable' (as is every file when no thread can start).
   * With `copy`, a hashed file is also written to `copy.target` as it is read (see SideCopy).
   */
  async statHash(absolute: string, algorithm: PooledAlgorithm, limit: number, copy?: SideCopy): Promise<StatedHashResult> {
    const job: HashJob = copy === undefined
      ? ['stat-hash', absolute, algorithm, limit]
      : ['stat-hash', absolute, algorithm, limit, [copy.target, copy.mode, copy.limit]];
    const result = await this.submit(job) as WireResult | StatedWireResult | undefined;
    if (result === undefined || result[0] === 'unsuitable' || result[0] === 'open-failed') return { kind: 'unsuitable' };
    if (result[0] === 'vanished' || result[0] === 'problem') return fromWire(result) as StatedHashResult;
    if (result.length === 7) {
      const [, digest, bytesRead, ino, size, mtimeNs, mode] = result;
      return { kind: 'hashed', digest, bytesRead, stat: { ino, size, mtimeNs, mode } };
    }
    if (result.length === 11 && copy !== undefined) {
      const [, digest, bytesRead, ino, size, mtimeNs, mode, copyIno, copySize, copyMtimeNs, copyMode] = result;
      return {
        kind: 'hashed', digest, bytesRead, stat: { ino, size, mtimeNs, mode },
        copied: { ino: copyIno, size: copySize, mtimeNs: copyMtimeNs, mode: copyMode },
      };
    }
    return { kind: 'problem', problem: 'no stat from a hashing thread' };
  }

  /**
   * Copies the regular file at `source` (not following a symbolic link) to a new file `target`
   * created exclusively with permission bits `mode`, hashing what it copies. Skipped (nothing at
   * `target`) when `source` cannot be opened, is not a regular file, is or grows larger than
   * `limit` bytes, or the copy fails; rejects with MUTAGEN_SCAN_RETRY when its thread is lost.
   */
  async copy(source: string, target: string, mode: number, algorithm: PooledAlgorithm, limit: number): Promise<CopyResult> {
    const result = await this.submit(['copy', source, target, mode, algorithm, limit]) as CopyWireResult | undefined;
    if (result === undefined) return { kind: 'skipped', reason: 'no file thread could start' };
    if (result[0] === 'skipped') return { kind: 'skipped', reason: result[1] };
    const [, digest, ino, size, mtimeNs, fileMode] = result;
    return { kind: 'copied', digest, stat: { ino, size, mtimeNs, mode: fileMode } };
  }

  /** Ends the threads; files in flight fail. */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const lanes = this.lanes.splice(0);
    await Promise.all(lanes.map(async (lane) => {
      this.fail(lane, new MutagenError('MUTAGEN_SCAN_RETRY', 'hashing threads closed'));
      await lane.worker.terminate();
    }));
  }

  /** Queues `job` for a thread; undefined when no thread could start. */
  private async submit(job: HashJob | CopyJob): Promise<WireResult | StatedWireResult | CopyWireResult | undefined> {
    return new Promise<WireResult | StatedWireResult | CopyWireResult | undefined>((resolve, reject) => {
      this.queued.push({ job, resolve, reject });
      if (this.queued.length >= BATCH_FILES) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    if (this.queued.length === 0) return;
    const requests = this.queued;
    this.queued = [];
    let lane: Lane;
    try {
      lane = this.pick();
    } catch {
      for (const request of requests) request.resolve(undefined);
      return;
    }
    const id = this.nextId++;
    lane.inFlight.set(id, requests);
    lane.files += requests.length;
    lane.worker.postMessage({ id, jobs: requests.map((request) => request.job) });
  }

  /** The lane with the fewest files in flight, starting another while below the pool size. */
  private pick(): Lane {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    let best: Lane | undefined;
    for (const lane of this.lanes) if (best === undefined || lane.files < best.files) best = lane;
    if (best !== undefined && (best.files === 0 || this.lanes.length >= this.size)) return best;
    try {
      return this.start();
    } catch (error) {
      if (best !== undefined) return best;
      throw error;
    }
  }

  /** A new file thread, wired to `handlers` (overridable to simulate one that cannot start). */
  protected createWorker(handlers: ScriptWorkerHandlers<HashMessage>): Worker {
    return startScriptWorker(WORKER_SOURCE, 'hashing thread', handlers);
  }

  private start(): Lane {
    const lane: Lane = {
      worker: this.createWorker({
        onMessage: (message) => this.onResults(lane, message),
        onLost: (error) => this.lost(lane, error),
      }),
      inFlight: new Map(),
      files: 0,
    };
    this.lanes.push(lane);
    return lane;
  }

  private onResults(lane: Lane, { id, results, digests }: HashMessage): void {
    const requests = lane.inFlight.get(id);
    if (requests === undefined) return;
    lane.inFlight.delete(id);
    lane.files -= requests.length;
    requests.forEach((request, index) => {
      const result = results[index];
      if (result === undefined) {
        request.reject(new MutagenError('MUTAGEN_SCAN_RETRY', 'no result from a hashing thread'));
        return;
      }
      if (result[0] === 'hashed' || result[0] === 'copied') {
        // A view of the batch's buffer: the digest is not copied again.
        const offset = result[1] as number;
        result[1] = digests.subarray(offset, offset + DIGEST_LENGTH[jobAlgorithm(request.job)]);
      }
      request.resolve(result as unknown as WireResult | StatedWireResult | CopyWireResult);
    });
    this.idleCheck();
  }

  private lost(lane: Lane, error: Error): void {
    const index = this.lanes.indexOf(lane);
    if (index < 0) return;
    this.lanes.splice(index, 1);
    this.fail(lane, new MutagenError('MUTAGEN_SCAN_RETRY', `hashing thread failed: ${error.message}`, { cause: error }));
    this.idleCheck();
  }

  private fail(lane: Lane, error: Error): void {
    for (const requests of lane.inFlight.values()) for (const request of requests) request.reject(error);
    lane.inFlight.clear();
    lane.files = 0;
  }

  private idleCheck(): void {
    if (this.queued.length > 0 || this.lanes.some((lane) => lane.inFlight.size > 0)) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.close(), IDLE_EXIT_MS);
    this.idleTimer.unref();
  }
}

let hereBuffer: Buffer | undefined;
const NEVER_PAUSE: Yielder = { due: () => false, pause: async () => Promise.resolve() };

/** What a thread would do, on the loop (pooled files are small: no pause needed). */
async function hashHere(file: string, expectedSize: number, algorithm: PooledAlgorithm): Promise<PathHashResult> {
  hereBuffer ??= Buffer.allocUnsafe(HASH_CHUNK_SIZE);
  return hashPath(file, expectedSize, await createHasher(algorithm), hereBuffer, NEVER_PAUSE);
}

function fromWire(result: WireResult): PathHashResult {
  switch (result[0]) {
    case 'hashed':
      return { kind: 'hashed', digest: result[1], bytesRead: result[2] };
    case 'vanished':
      return { kind: 'vanished' };
    case 'open-failed':
      return { kind: 'open-failed', error: Object.assign(new Error(result[2]), result[1] === '' ? {} : { code: result[1] }) };
    case 'problem':
      return { kind: 'problem', problem: result[1] };
  }
}

/** The process's pool: one thread per core, one to two. */
export const hashPool = new HashPool(Math.max(1, Math.min(2, availableParallelism())));
