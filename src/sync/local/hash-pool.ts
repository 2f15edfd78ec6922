import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { MutagenError } from '../../base/errors.js';
import { startScriptWorker, type ScriptWorkerHandlers } from '../../base/script-worker.js';
import { createHasher, HASH_CHUNK_SIZE, hashPath, type PathHashResult, type Yielder } from './hasher.js';

/** Algorithms the threads hash with (node:crypto); xxh128 (hash-wasm) stays on the loop. */
export type PooledAlgorithm = 'sha1' | 'sha256';

/** Files below this size may go to the pool (larger ones are hashed on the loop, read ahead and interruptible). */
export const POOLED_FILE_LIMIT = 4 * 1024 * 1024;
/** A batch is sent once it holds this many files, else at the next turn of the event loop. */
const BATCH_FILES = 64;
/** Threads end after this long without work (a scan is a burst; the next one starts them again). */
const IDLE_EXIT_MS = 2_000;

/**
 * The hashing thread (a classic script: `eval` workers cannot import). For each file of a batch,
 * exactly what hasher.ts hashPath() does for a file that fits its first reads: open without
 * following links and without blocking, read until end of file (a short read at or past the
 * expected size ends it), fstat, compare sizes, close. Results, in order:
 * ['hashed', digest, bytesRead] | ['vanished'] | ['open-failed', code, message] | ['problem', text].
 */
const WORKER_SOURCE = `
'use strict';
const fs = require('node:fs');
const crypto = require('node:crypto');
const { parentPort } = require('node:worker_threads');
const FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | (fs.constants.O_NONBLOCK || 0);
const buffer = Buffer.allocUnsafe(256 * 1024);
function hashOne(file, expected, algorithm) {
  let fd;
  try {
    fd = fs.openSync(file, FLAGS);
  } catch (error) {
    return error.code === 'ENOENT' ? ['vanished'] : ['open-failed', String(error.code || ''), String(error.message)];
  }
  try {
    const hash = crypto.createHash(algorithm);
    let total = 0;
    for (;;) {
      let count;
      try {
        count = fs.readSync(fd, buffer, 0, buffer.length, null);
      } catch (error) {
        return ['problem', 'unable to hash file contents: ' + error.message];
      }
      if (count > 0) hash.update(buffer.subarray(0, count));
      total += count;
      if (count === 0 || (count < buffer.length && total >= expected)) break;
    }
    let size;
    try {
      size = fs.fstatSync(fd).size;
    } catch (error) {
      return ['problem', 'unable to hash file contents: ' + error.message];
    }
    if (total !== size) return ['problem', 'hashed size mismatch: ' + total + ' != ' + size];
    if (total !== expected) return ['problem', 'hashed size mismatch: ' + total + ' != ' + expected];
    return ['hashed', hash.digest(), total];
  } finally {
    fs.closeSync(fd);
  }
}
parentPort.on('message', ({ id, files }) => {
  const results = [];
  for (const [file, expected, algorithm] of files) {
    try {
      results.push(hashOne(file, expected, algorithm));
    } catch (error) {
      results.push(['problem', 'unable to hash file contents: ' + (error instanceof Error ? error.message : String(error))]);
    }
  }
  parentPort.postMessage({ id, results });
});
`;

export type WireResult =
  | readonly ['hashed', Uint8Array, number]
  | readonly ['vanished']
  | readonly ['open-failed', string, string]
  | readonly ['problem', string];

/** What a hashing thread posts back for one batch. */
export interface HashMessage {
  readonly id: number;
  readonly results: WireResult[];
}

interface Request {
  readonly resolve: (result: PathHashResult) => void;
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
 * start. Threads are started on demand, one per core (at least one, at most two), and end when
 * idle; when none can start, files are hashed on the loop. A thread that dies fails its files
 * with MUTAGEN_SCAN_RETRY: the scan is retried, it never records a file it could not hash.
 */
export class HashPool {
  private readonly lanes: Lane[] = [];
  private queue: [string, number, PooledAlgorithm][] = [];
  private queued: Request[] = [];
  private flushScheduled = false;
  private nextId = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly size: number) {}

  /** Hashes the regular file at `absolute` (lstat said `expectedSize` bytes). */
  async hash(absolute: string, expectedSize: number, algorithm: PooledAlgorithm): Promise<PathHashResult> {
    return new Promise<PathHashResult>((resolve, reject) => {
      this.queue.push([absolute, expectedSize, algorithm]);
      this.queued.push({ resolve, reject });
      if (this.queue.length >= BATCH_FILES) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    });
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

  private flush(): void {
    if (this.queue.length === 0) return;
    const files = this.queue;
    const requests = this.queued;
    this.queue = [];
    this.queued = [];
    let lane: Lane;
    try {
      lane = this.pick();
    } catch {
      // No thread could start (a process, thread or memory limit): hashed here instead.
      files.forEach(([file, expectedSize, algorithm], index) => {
        const request = requests[index] as Request;
        hashHere(file, expectedSize, algorithm).then(request.resolve, request.reject);
      });
      return;
    }
    const id = this.nextId++;
    lane.inFlight.set(id, requests);
    lane.files += files.length;
    lane.worker.postMessage({ id, files });
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

  /** A new hashing thread, wired to `handlers` (overridable to simulate one that cannot start). */
  protected createWorker(handlers: ScriptWorkerHandlers<HashMessage>): Worker {
    return startScriptWorker(WORKER_SOURCE, 'hashing thread', handlers);
  }

  private start(): Lane {
    const lane: Lane = {
      worker: this.createWorker({
        onMessage: (message) => this.onResults(lane, message.id, message.results),
        onLost: (error) => this.lost(lane, error),
      }),
      inFlight: new Map(),
      files: 0,
    };
    this.lanes.push(lane);
    return lane;
  }

  private onResults(lane: Lane, id: number, results: readonly WireResult[]): void {
    const requests = lane.inFlight.get(id);
    if (requests === undefined) return;
    lane.inFlight.delete(id);
    lane.files -= requests.length;
    requests.forEach((request, index) => {
      const result = results[index];
      if (result === undefined) request.reject(new MutagenError('MUTAGEN_SCAN_RETRY', 'no result from a hashing thread'));
      else request.resolve(fromWire(result));
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
    if (this.queue.length > 0 || this.lanes.some((lane) => lane.inFlight.size > 0)) return;
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
      return { kind: 'hashed', digest: new Uint8Array(result[1]), bytesRead: result[2] };
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
