import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Transform, type Readable, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cancelledError } from '../../base/abort.js';
import { errnoCode, errorMessage, MutagenError, TransportError } from '../../base/errors.js';
import type { CopyOptions, CopySource, RemoteExit, RemoteProcess, Transport } from './transport.js';

/** Kept stderr (the tail), as the Transport contract asks. */
const STDERR_TAIL_BYTES = 32 * 1024;

export interface ProcessTransportOptions {
  /** The "remote" home directory: HOME of every process and its working directory. */
  readonly home: string;
  /** The whole environment of started processes (HOME is set to `home` on top). Default: PATH only. */
  readonly env?: Readonly<Record<string, string>>;
  /** argv prefix for every started command (e.g. `unshare --mount ...`, a noisy shell). */
  readonly wrapper?: readonly string[];
  /** For messages; default `local process (<home>)`. */
  readonly description?: string;
  /** How long close() waits after ending stdin before SIGKILL. Default 2000 ms. */
  readonly closeGraceMs?: number;
}

/** Keeps the last `limit` bytes written to it. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) {
      const first = this.chunks.shift();
      this.size -= first?.length ?? 0;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

class ChildRemoteProcess implements RemoteProcess {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly exit: Promise<RemoteExit>;
  private readonly tail = new TailBuffer(STDERR_TAIL_BYTES);
  private closing: Promise<void> | undefined;
  private exited = false;

  constructor(private readonly child: ChildProcess, command: string, private readonly graceMs: number) {
    // spawn() failures (ENOENT, EACCES) arrive as 'error' events: report them like a shell would.
    this.stdin = child.stdin ?? new PassThrough();
    this.stdin.on('error', () => undefined);
    this.stdout = child.stdout ?? new PassThrough();
    child.stderr?.on('data', (chunk: Buffer) => this.tail.push(chunk));
    this.exit = new Promise<RemoteExit>((resolve) => {
      child.once('error', (error) => {
        const code = errnoCode(error);
        const status = code === 'ENOENT' ? 127 : code === 'EACCES' ? 126 : 1;
        this.tail.push(Buffer.from(`${command}: ${status === 127 ? 'command not found' : errorMessage(error)}\n`));
        this.stdout.destroy();
        this.exited = true;
        resolve({ code: status, signal: null });
      });
      child.once('close', (code, signal) => {
        this.exited = true;
        resolve({ code, signal });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  stderr(): string {
    return this.tail.text();
  }

  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    if (this.exited) return;
    this.stdin.end();
    const timer = setTimeout(() => { if (!this.exited) this.child.kill('SIGKILL'); }, this.graceMs);
    await this.exit;
    clearTimeout(timer);
  }
}

/** Counts bytes flowing through, for copy progress. */
function progressCounter(onProgress: ((bytes: number) => void) | undefined): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback): void {
      total += chunk.length;
      onProgress?.(total);
      callback(null, chunk);
    },
  });
}

/**
 * A Transport whose "remote" is this machine: commands run as local child processes (no shell)
 * with their own HOME and environment. Used by tests (a remote with a fake home, optionally
 * inside `unshare` through `wrapper`) and for agent tests without SSH.
 */
export class ProcessTransport implements Transport {
  readonly description: string;
  private readonly pids: number[] = [];
  private readonly processes = new Set<ChildRemoteProcess>();
  private closed = false;

  constructor(private readonly options: ProcessTransportOptions) {
    this.description = options.description ?? `local process (${options.home})`;
  }

  /** Pids of every process started so far (tests check that they are gone). */
  spawned(): readonly number[] {
    return [...this.pids];
  }

  start(argv: readonly string[], signal: AbortSignal): Promise<RemoteProcess> {
    if (signal.aborted) return Promise.reject(cancelledError());
    if (this.closed) return Promise.reject(new TransportError(`${this.description}: transport closed`));
    const [command, ...args] = [...(this.options.wrapper ?? []), ...argv];
    if (command === undefined) return Promise.reject(new MutagenError('MUTAGEN_INTERNAL', 'empty command'));
    const env = { ...(this.options.env ?? { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }), HOME: this.options.home };
    const child = spawn(command, args, { cwd: this.options.home, env, stdio: ['pipe', 'pipe', 'pipe'] });
    if (child.pid !== undefined) this.pids.push(child.pid);
    const remote = new ChildRemoteProcess(child, command, this.options.closeGraceMs ?? 2000);
    this.processes.add(remote);
    void remote.exit.then(() => this.processes.delete(remote));
    return Promise.resolve(remote);
  }

  async copy(source: CopySource, remotePath: string, options: CopyOptions, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const target = path.resolve(this.options.home, remotePath);
    const temporary = path.join(path.dirname(target), `.mutagen-copy-${randomUUID()}`);
    try {
      await pipeline(source.open(), progressCounter(options.onProgress), createWriteStream(temporary, { mode: options.mode, flags: 'wx' }), { signal });
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      if (signal.aborted) throw cancelledError();
      throw new TransportError(`unable to copy to ${target} on ${this.description}: ${errorMessage(error)}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.processes].map((remote) => remote.close()));
  }
}
