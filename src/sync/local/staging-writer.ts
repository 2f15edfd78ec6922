import type { BigIntStats } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { asError, MutagenError } from '../../base/errors.js';
import { startScriptWorker } from '../../base/script-worker.js';

/** What placement and the scan cache need of a written file's stat. */
export type WrittenStat = Pick<BigIntStats, 'ino' | 'size' | 'mtimeNs' | 'mode'>;

/** The written file's stat, or why it could not be written (nothing is left at its name then). */
export type WriteResult = WrittenStat | Error;

/** Files up to this size are handed to the writer thread (the rest are written on the loop). */
export const WRITER_FILE_LIMIT = 256 * 1024;
/** A batch is sent once it holds this many bytes or files. */
const BATCH_BYTES = 1024 * 1024;
const BATCH_FILES = 128;
/** Batches the thread may hold at once (back-pressure beyond: about 4 MiB queued). */
const MAX_BATCHES_IN_FLIGHT = 4;
/** The thread exits after this long without work; the next file starts another. */
const IDLE_EXIT_MS = 30_000;

/**
 * The writer thread (a classic script: `eval` workers cannot import). For each file of a batch:
 * exclusive create with the given mode, positional writes until done, fstat, close. On any
 * failure a file it created is removed, and the error's message is reported in its place.
 */
const WORKER_SOURCE = `
'use strict';
const fs = require('node:fs');
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ id, buffer, files }) => {
  const bytes = new Uint8Array(buffer);
  const results = [];
  for (const [file, offset, length, mode] of files) {
    let fd = -1;
    try {
      fd = fs.openSync(file, 'wx', mode);
      for (let written = 0; written < length;) {
        const count = fs.writeSync(fd, bytes, offset + written, length - written, written);
        if (count === 0) throw new Error('short write');
        written += count;
      }
      const stat = fs.fstatSync(fd, { bigint: true });
      const closing = fd;
      fd = -2;
      fs.closeSync(closing);
      results.push([stat.ino, stat.size, stat.mtimeNs, stat.mode]);
    } catch (error) {
      if (fd >= 0) { try { fs.closeSync(fd); } catch {} }
      if (fd !== -1) { try { fs.rmSync(file, { force: true }); } catch {} }
      results.push(error instanceof Error ? error.message : String(error));
    }
  }
  parentPort.postMessage({ id, results, buffer }, [buffer]);
});
`;

type Done = (result: WriteResult) => void;
type WireResult = readonly [bigint, bigint, bigint, bigint] | string;

interface Batch {
  readonly buffer: ArrayBuffer;
  used: number;
  readonly files: [string, number, number, number][];
  readonly done: Done[];
}

/**
 * Writes small new files in a worker thread, in batches, so that the event loop only copies
 * their bytes: creating a file costs tens of microseconds of kernel time, which then overlaps
 * with receiving, reading and hashing the next ones (sync-semantics §6.5 staging; one thread per
 * process, shared by every staging store, started on first use and ended when idle). Each file's
 * `done` is called once it is written or failed; drain() waits for all of them.
 */
export class StagingWriter {
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

  /**
   * Queues a new file `file` (created exclusively, permission bits `mode`) holding a copy of
   * `data` (at most WRITER_FILE_LIMIT bytes); resolves once queued, `done` later.
   */
  async add(file: string, mode: number, data: Uint8Array, done: Done): Promise<void> {
    if (data.byteLength > WRITER_FILE_LIMIT) throw new MutagenError('MUTAGEN_INTERNAL', 'file too large for the staging writer');
    for (;;) {
      const batch = this.current;
      if (batch !== undefined && batch.used + data.byteLength <= batch.buffer.byteLength) {
        new Uint8Array(batch.buffer, batch.used, data.byteLength).set(data);
        batch.files.push([file, batch.used, data.byteLength, mode]);
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

  /** Sends what is queued and resolves when every file queued so far is written or failed. */
  async drain(): Promise<void> {
    try {
      this.send();
    } catch {
      // No thread could start: that batch's files were failed (not staged; §5.7 retries them).
    }
    while (this.inFlight.size > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  /** Ends the thread; files in flight fail. */
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
      const failure = asError(error);
      for (const callback of batch.done) callback(failure);
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
    const worker: Worker = startScriptWorker<{ id: number; results: WireResult[]; buffer: ArrayBuffer }>(WORKER_SOURCE, 'staging writer thread', {
      onMessage: (message) => {
        if (this.spare.length <= MAX_BATCHES_IN_FLIGHT) this.spare.push(message.buffer);
        this.onResults(message.id, message.results);
      },
      onLost: (error) => this.lost(worker, error),
    });
    this.worker = worker;
    return worker;
  }

  private onResults(id: number, results: readonly WireResult[]): void {
    const done = this.inFlight.get(id);
    if (done === undefined) return;
    this.inFlight.delete(id);
    done.forEach((callback, index) => {
      const result = results[index];
      if (result === undefined || typeof result === 'string') callback(new Error(result ?? 'no result from the staging writer'));
      else callback({ ino: result[0], size: result[1], mtimeNs: result[2], mode: result[3] });
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
    for (const done of batches) for (const callback of done) callback(error);
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
