import type { BigIntStats } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { MutagenError } from '../../base/errors.js';

/** What placement and the scan cache need of a written file's stat. */
export type WrittenStat = Pick<BigIntStats, 'ino' | 'size' | 'mtimeNs' | 'mode'>;

/** The written file's stat, or why it could not be written (nothing is left at its name then). */
export type WriteResult = WrittenStat | Error;

/** Which name a written file got: the one asked for, or the alternate after that one failed. */
export type WrittenName = 'primary' | 'alternate';

/** Files up to this size are handed to the writer thread (the rest are written on the loop). */
export const WRITER_FILE_LIMIT = 256 * 1024;
/** A batch is sent once it holds this many bytes or files. */
const BATCH_BYTES = 1024 * 1024;
const BATCH_FILES = 128;
/** Batches the thread may hold at once (back-pressure beyond: about 2 MiB queued). */
const MAX_BATCHES_IN_FLIGHT = 4;
/** The thread exits after this long without work; the next file starts another. */
const IDLE_EXIT_MS = 30_000;

/**
 * The writer thread (a classic script: `eval` workers cannot import). For each file of a batch:
 * exclusive create with the given mode (a missing parent directory is made first, 0700), positional
 * writes until done, fstat, close. When that fails and the file has an alternate name, the same
 * is tried there. On failure a file it created is removed, and the error's message is reported in
 * its place; a success reports its stat and whether the alternate name was used (1) or not (0).
 */
const WORKER_SOURCE = `
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { parentPort } = require('node:worker_threads');
function create(file, mode) {
  try {
    return fs.openSync(file, 'wx', mode);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return fs.openSync(file, 'wx', mode);
}
function writeFile(file, mode, bytes, offset, length) {
  let fd = -1;
  try {
    fd = create(file, mode);
    for (let written = 0; written < length;) {
      const count = fs.writeSync(fd, bytes, offset + written, length - written, written);
      if (count === 0) throw new Error('short write');
      written += count;
    }
    const stat = fs.fstatSync(fd, { bigint: true });
    const closing = fd;
    fd = -2;
    fs.closeSync(closing);
    return stat;
  } catch (error) {
    if (fd >= 0) { try { fs.closeSync(fd); } catch {} }
    if (fd !== -1) { try { fs.rmSync(file, { force: true }); } catch {} }
    throw error;
  }
}
parentPort.on('message', ({ id, buffer, files }) => {
  const bytes = new Uint8Array(buffer);
  const results = [];
  for (const [file, offset, length, mode, alternate] of files) {
    let used = 0;
    try {
      let stat;
      try {
        stat = writeFile(file, mode, bytes, offset, length);
      } catch (error) {
        if (alternate === '') throw error;
        used = 1;
        stat = writeFile(alternate, mode, bytes, offset, length);
      }
      results.push([stat.ino, stat.size, stat.mtimeNs, stat.mode, used]);
    } catch (error) {
      results.push(error instanceof Error ? error.message : String(error));
    }
  }
  parentPort.postMessage({ id, results, buffer }, [buffer]);
});
`;

type Done = (result: WriteResult, name: WrittenName) => void;
type WireResult = readonly [bigint, bigint, bigint, bigint, number] | string;

interface Batch {
  readonly buffer: ArrayBuffer;
  used: number;
  /** [file, offset, length, mode, alternate file or ''] */
  readonly files: [string, number, number, number, string][];
  readonly done: Done[];
}

/** Threads files are spread over, by parent directory (creations in one directory serialize in the kernel). */
const LANES = 2;

/**
 * Writes small new files in worker threads, in batches, so that the event loop only copies
 * their bytes: creating a file costs tens of microseconds of kernel time, which then overlaps
 * with receiving, reading and hashing the next ones (sync-semantics §6.5 staging; LANES threads
 * per process, shared by every staging store, each started on first use and ended when idle).
 * Files of one directory always go to the same thread, in order. Each file's `done` is called
 * once it is written or failed; drain() waits for all of them.
 */
export class StagingWriter {
  private readonly lanes: WriterLane[] = Array.from({ length: LANES }, () => new WriterLane());

  /**
   * Queues a new file `file` (created exclusively, permission bits `mode`, missing parent
   * directories made) holding a copy of `data` (at most WRITER_FILE_LIMIT bytes); when `file`
   * cannot be written, `alternate` (if given) is tried instead. Resolves once queued, `done` later.
   */
  async add(file: string, mode: number, data: Uint8Array, done: Done, alternate?: string): Promise<void> {
    const lane = this.lanes[directoryHash(file) % this.lanes.length] as WriterLane;
    await lane.add(file, mode, data, done, alternate);
  }

  /** Sends what is queued and resolves when every file queued so far is written or failed. */
  async drain(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.drain()));
  }

  /** Ends the threads; files in flight fail. */
  async close(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.close()));
  }
}

/** A hash of the parent directory part of `file` (FNV-1a over its UTF-16 code units). */
function directoryHash(file: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0, end = file.lastIndexOf('/'); i < end; i++) hash = Math.imul(hash ^ file.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** One writer thread and its batches. */
class WriterLane {
  private worker: Worker | undefined;
  private current: Batch | undefined;
  private readonly inFlight = new Map<number, Done[]>();
  private nextId = 0;
  /**
   * Batch buffers the thread gave back, for reuse: a buffer transferred to the thread would
   * otherwise be freed only when its heap is next collected, which an idle-looking thread that
   * allocates almost nothing postpones for tens of MiB.
   */
  private readonly spare: ArrayBuffer[] = [];
  private spaceWaiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private idleTimer: NodeJS.Timeout | undefined;

  async add(file: string, mode: number, data: Uint8Array, done: Done, alternate?: string): Promise<void> {
    if (data.byteLength > WRITER_FILE_LIMIT) throw new MutagenError('MUTAGEN_INTERNAL', 'file too large for the staging writer');
    for (;;) {
      const batch = this.current;
      if (batch !== undefined && batch.used + data.byteLength <= batch.buffer.byteLength) {
        new Uint8Array(batch.buffer, batch.used, data.byteLength).set(data);
        batch.files.push([file, batch.used, data.byteLength, mode, alternate ?? '']);
        batch.done.push(done);
        batch.used += data.byteLength;
        if (batch.files.length >= BATCH_FILES || batch.used >= BATCH_BYTES) this.send();
        return;
      }
      if (batch !== undefined) this.send();
      else if (this.inFlight.size >= MAX_BATCHES_IN_FLIGHT) await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
      else this.current = { buffer: this.spare.pop() ?? new ArrayBuffer(BATCH_BYTES), used: 0, files: [], done: [] };
    }
  }

  async drain(): Promise<void> {
    try {
      this.send();
    } catch {
      // No thread could start: that batch's files were failed (not staged; §5.7 retries them).
    }
    while (this.inFlight.size > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    clearTimeout(this.idleTimer);
    if (worker !== undefined) await worker.terminate();
    this.failAll(new MutagenError('MUTAGEN_STAGING', 'staging writer closed'));
  }

  private send(): void {
    const batch = this.current;
    if (batch === undefined || batch.files.length === 0) return;
    this.current = undefined;
    let worker: Worker;
    try {
      worker = this.start();
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const callback of batch.done) callback(failure, 'primary');
      throw error;
    }
    const id = this.nextId++;
    this.inFlight.set(id, batch.done);
    worker.postMessage({ id, buffer: batch.buffer, files: batch.files }, [batch.buffer]);
  }

  private start(): Worker {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, stdout: false, stderr: false });
    worker.unref();
    worker.on('message', (message: { id: number; results: WireResult[]; buffer: ArrayBuffer }) => {
      if (this.spare.length <= MAX_BATCHES_IN_FLIGHT) this.spare.push(message.buffer);
      this.onResults(message.id, message.results);
    });
    worker.on('error', (error) => this.lost(worker, error));
    worker.on('exit', (code) => this.lost(worker, new Error(`staging writer thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private onResults(id: number, results: readonly WireResult[]): void {
    const done = this.inFlight.get(id);
    if (done === undefined) return;
    this.inFlight.delete(id);
    done.forEach((callback, index) => {
      const result = results[index];
      if (result === undefined || typeof result === 'string') callback(new Error(result ?? 'no result from the staging writer'), 'primary');
      else callback({ ino: result[0], size: result[1], mtimeNs: result[2], mode: result[3] }, result[4] === 1 ? 'alternate' : 'primary');
    });
    this.settled();
  }

  private lost(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.failAll(error);
  }

  private failAll(error: Error): void {
    const batches = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const done of batches) for (const callback of done) callback(error, 'primary');
    this.settled();
  }

  private settled(): void {
    for (const resolve of this.spaceWaiters.splice(0)) resolve();
    if (this.inFlight.size > 0) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    if (this.worker !== undefined && this.current === undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => void this.close(), IDLE_EXIT_MS);
      this.idleTimer.unref();
    }
  }
}

/** The process's writer, shared by every staging store. */
export const stagingWriter = new StagingWriter();
