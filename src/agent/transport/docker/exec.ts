import type { Socket } from 'node:net';
import { PassThrough, Writable, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { Exec } from 'dockerode';
import { cancelledError } from '../../../base/abort.js';
import { MutagenError } from '../../../base/errors.js';
import type { RemoteExit, RemoteProcess } from '../transport.js';
import { ExecStreamDemuxer } from './demux.js';
import { engineError } from './errors.js';

/** Kept stderr (the tail), as the Transport contract asks. */
const STDERR_TAIL_BYTES = 32 * 1024;
const CLOSE_GRACE_MS = 2000;

/** Keeps the last `limit` bytes written to it. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

export interface ExecRequest {
  readonly argv: readonly string[];
  /** The URL's user (`name`, `uid`, `name:group`); undefined = the container's default user. */
  readonly user?: string;
  readonly workingDir?: string;
  /** Attach stdin (false for probes: the process sees EOF at once). */
  readonly stdin: boolean;
}

export interface ExecContext {
  readonly container: Docker.Container;
  /** For messages: `unable to start x in container web`. */
  readonly operation: string;
  readonly engine: string;
}

/** Exit status 126 from an exec the engine could not start, with a not-found reason, is 127. */
const NOT_FOUND = /no such file or directory|executable file not found|not found in \$PATH/i;

/**
 * One exec in a container, attached through a hijacked connection. stdin writes go to the
 * socket (end() half-closes it: the engine closes the process's stdin). `exit` settles after the
 * stream ends, from exec inspect; a process the engine could not start (`OCI runtime exec
 * failed: ... not found`) is exit 127 with the engine's text as stderr.
 */
export class DockerProcess implements RemoteProcess {
  readonly stdin: Writable;
  readonly stdout = new PassThrough();
  readonly exit: Promise<RemoteExit>;
  private readonly tail = new TailBuffer(STDERR_TAIL_BYTES);
  private engineFailure = '';
  private closing: Promise<void> | undefined;
  private settled = false;

  constructor(private readonly socket: Socket, private readonly exec: Exec) {
    socket.on('error', () => undefined);
    this.stdin = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (socket.destroyed || socket.writableEnded) return callback();
        socket.write(chunk, () => callback());
      },
      final: (callback) => {
        if (!socket.destroyed && !socket.writableEnded) socket.end();
        callback();
      },
    });
    this.stdin.on('error', () => undefined);
    const demuxer = new ExecStreamDemuxer({
      stdout: this.stdout,
      onStderr: (chunk) => this.tail.push(chunk),
      onEngineError: (chunk) => {
        this.engineFailure += chunk.toString('utf8');
        this.tail.push(chunk);
      },
    });
    const ended = new Promise<void>((resolve) => {
      demuxer.on('finish', resolve);
      demuxer.on('close', resolve);
      demuxer.on('error', (error) => {
        this.tail.push(Buffer.from(`${error.message}\n`));
        resolve();
      });
      socket.on('close', () => {
        if (!demuxer.writableEnded) demuxer.end();
        resolve();
      });
    });
    socket.pipe(demuxer);
    this.exit = ended.then(() => this.inspectExit());
    void this.exit.then(() => {
      this.settled = true;
    });
  }

  stderr(): string {
    return this.tail.text();
  }

  private async inspectExit(): Promise<RemoteExit> {
    try {
      const state = await this.exec.inspect();
      if (state.Running) return { code: null, signal: null };
      const code = state.ExitCode;
      if (typeof code !== 'number') return { code: null, signal: null };
      if (code === 126 && this.engineFailure !== '' && NOT_FOUND.test(this.engineFailure)) return { code: 127, signal: null };
      return { code, signal: null };
    } catch {
      // The container (and its execs) went away with the stream: no status.
      return { code: null, signal: null };
    }
  }

  /**
   * Ends stdin, waits briefly for the process to exit, then drops the connection. The Engine API
   * has no way to kill an exec; a process that ignores stdin EOF keeps running in the container.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stdin.end();
      if (!this.settled) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([this.exit, new Promise<void>((resolve) => { timer = setTimeout(resolve, CLOSE_GRACE_MS); })]);
        clearTimeout(timer);
      }
      this.socket.destroy();
      this.stdout.destroy();
      await this.exit;
    })();
    return this.closing;
  }
}

/** Creates and starts an exec; rejects (MUTAGEN_TRANSPORT) when the engine refuses it. */
export async function startExec(context: ExecContext, request: ExecRequest, signal: AbortSignal): Promise<DockerProcess> {
  if (signal.aborted) throw cancelledError();
  let socket: Socket | undefined;
  try {
    const exec = await context.container.exec({
      Cmd: [...request.argv],
      AttachStdin: request.stdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      ...(request.user === undefined ? {} : { User: request.user }),
      ...(request.workingDir === undefined ? {} : { WorkingDir: request.workingDir }),
      abortSignal: signal,
    });
    const stream: unknown = await exec.start({ hijack: true, stdin: request.stdin, abortSignal: signal });
    if (!isSocket(stream)) throw new MutagenError('MUTAGEN_TRANSPORT', `${context.operation}: the docker engine did not upgrade the exec connection`);
    socket = stream;
    if (signal.aborted) throw cancelledError();
    if (!request.stdin) socket.end();
    return new DockerProcess(socket, exec);
  } catch (error) {
    socket?.destroy();
    throw engineError(error, context);
  }
}

function isSocket(value: unknown): value is Socket {
  return typeof value === 'object' && value !== null && 'setNoDelay' in value && 'write' in value && 'pipe' in value;
}

export interface ExecResult extends RemoteExit {
  readonly stdout: string;
  readonly stderr: string;
}

const OUTPUT_CAP = 1024 * 1024;

/** Runs a short command without stdin and collects its output (each stream capped at 1 MiB). */
export async function runExec(context: ExecContext, request: Omit<ExecRequest, 'stdin'>, signal: AbortSignal): Promise<ExecResult> {
  const process = await startExec(context, { ...request, stdin: false }, signal);
  const onAbort = (): void => void process.close();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const stdout = await collect(process.stdout);
    const exit = await process.exit;
    if (signal.aborted) throw cancelledError();
    return { ...exit, stdout, stderr: process.stderr() };
  } finally {
    signal.removeEventListener('abort', onAbort);
    await process.close();
  }
}

async function collect(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    if (!Buffer.isBuffer(chunk) || size >= OUTPUT_CAP) continue;
    chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}
