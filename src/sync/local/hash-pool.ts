import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { MutagenError } from '../../base/errors.js';
import { startScriptWorker, type ScriptWorkerHandlers } from '../../base/script-worker.js';
import { createHasher, HASH_CHUNK_SIZE, hashPath, type PathHashResult, type Yielder } from './hasher.js';
import type { WrittenStat } from './staging-writer.js';
import { WORKER_SOURCE } from './hash-pool-worker.js';

/** Algorithms the threads hash with (node:crypto); xxh128 (hash-wasm) stays on the loop. */
export type PooledAlgorithm = 'sha1' | 'sha256';

/** Files below this size may go to the pool (larger ones are hashed on the loop, read ahead and interruptible). */
export const POOLED_FILE_LIMIT = 4 * 1024 * 1024;
/** A batch is sent once it holds this many files, else at the next turn of the event loop. */
const BATCH_FILES = 64;
/**
 * Threads end after this long without work (a scan is a burst; the next one starts them again).
 * Long enough to outlast the pause between one session's end and the next one's start (terminate,
 * create): a fresh thread costs its start and its compilation again (~0.1 s of CPU for two).
 */
const IDLE_EXIT_MS = 30_000;


type HashJob = readonly ['hash', string, number, PooledAlgorithm]
  | readonly ['stat-hash', string, PooledAlgorithm, number, (readonly [string, number, number])?];
type CopyJob = readonly ['copy', string, string, number, PooledAlgorithm, number] | readonly ['link', string, string]
  | readonly ['remove-tree', string];

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

type CopyWireResult = readonly ['copied', Uint8Array, bigint, bigint, bigint, bigint] | readonly ['skipped', string]
  | readonly ['linked'] | readonly ['link-failed', string, string] | readonly ['removed'] | readonly ['remove-failed', string];

/** What a file thread posts back for one batch: each digest slot is an offset into `digests`. */
export interface HashMessage {
  readonly id: number;
  readonly results: unknown[][];
  readonly digests: Uint8Array;
}

/** Digest sizes of the pooled algorithms (a result's digest is that many bytes at its offset). */
const DIGEST_LENGTH: Readonly<Record<PooledAlgorithm, number>> = { sha1: 20, sha256: 32 };

/** The algorithm a job hashes with; undefined for jobs without a digest. */
function jobAlgorithm(job: HashJob | CopyJob): PooledAlgorithm | undefined {
  switch (job[0]) {
    case 'hash': return job[3];
    case 'stat-hash': return job[2];
    case 'copy': return job[4];
    default: return undefined;
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
    if (result[0] !== 'copied') return { kind: 'skipped', reason: result[0] === 'skipped' ? result[1] : 'unexpected result from a file thread' };
    const [, digest, ino, size, mtimeNs, fileMode] = result;
    return { kind: 'copied', digest, stat: { ino, size, mtimeNs, mode: fileMode } };
  }

  /**
   * Hard-links `existing` at `target` in a file thread (transitions placing many staged files),
   * then calls `done`: with no argument once linked, else with the error code of the link ('' if
   * none, no thread could start or its thread was lost). A callback, not a promise: a transition
   * starts tens of thousands.
   */
  linkThen(existing: string, target: string, done: (failure?: string) => void): void {
    this.enqueue({
      job: ['link', existing, target],
      resolve: (result) => (result?.[0] === 'linked' ? done() : done(result?.[0] === 'link-failed' ? result[1] : '')),
      reject: () => done(''),
    });
  }

  /**
   * Removes `root`, a directory of files and directories of files (a staging root), in a file
   * thread: true once it is gone, false when it could not be (or no thread could start).
   */
  async removeTree(root: string): Promise<boolean> {
    const result = await this.submit(['remove-tree', root]).catch(() => undefined);
    return result?.[0] === 'removed';
  }

  /**
   * Starts the threads now (a thread takes tens of milliseconds to start): an endpoint about to
   * scan calls this first. They end again after IDLE_EXIT_MS without work.
   */
  warm(): void {
    try {
      while (this.lanes.length < this.size) this.start();
    } catch {
      // Started on demand later, or files are hashed on the loop.
    }
    this.idleCheck();
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
    return new Promise<WireResult | StatedWireResult | CopyWireResult | undefined>((resolve, reject) => this.enqueue({ job, resolve, reject }));
  }

  private enqueue(request: Request): void {
    this.queued.push(request);
    if (this.queued.length >= BATCH_FILES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
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
      const algorithm = jobAlgorithm(request.job);
      if (algorithm !== undefined && (result[0] === 'hashed' || result[0] === 'copied')) {
        // A view of the batch's buffer: the digest is not copied again.
        const offset = result[1] as number;
        result[1] = digests.subarray(offset, offset + DIGEST_LENGTH[algorithm]);
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
