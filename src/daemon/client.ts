import { spawn } from 'node:child_process';
import net from 'node:net';
import * as z from 'zod';
import { sleep } from '../base/abort.js';
import { errorMessage, isAbortError, MutagenError, ProtocolError, type ErrorCode } from '../base/errors.js';
import { encodeFrame, FrameDecoder } from './framing.js';
import { waitForLockRelease } from './lock.js';
import type { DaemonPaths } from './paths.js';
import {
  DAEMON_METHODS, failureSchema, JSONRPC_INTERNAL_ERROR, notificationSchema, progressParamsSchema, promptParamsSchema,
  requestSchema, successSchema, VERSION, type DaemonMethod, type DaemonParams, type DaemonResult, type PromptParams, type RequestId,
} from './rpc.js';

/** An error the daemon reported for a call (its code, message chain and hint travel intact). */
export class DaemonError extends MutagenError {
  constructor(code: ErrorCode, message: string, hint: string | undefined) {
    super(code, message, hint === undefined ? {} : { hint });
    this.name = 'DaemonError';
  }
}

/** Answers the daemon's questions for one call (SSH passwords, host keys). */
export interface ClientPrompter {
  prompt(request: { readonly kind: 'echo' | 'secret'; readonly message: string }, signal: AbortSignal): Promise<string>;
}

export interface CallOptions {
  readonly signal: AbortSignal;
  readonly prompter?: ClientPrompter;
  /** Transient status lines the daemon emits while handling this call. */
  readonly onStatus?: (message: string) => void;
}

interface PendingCall {
  readonly method: DaemonMethod;
  readonly options: CallOptions;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/** How long one dial may take before the daemon counts as unreachable (cli spec §10.2). */
export const DIAL_TIMEOUT_MS = 500;
const AUTOSTART_ATTEMPTS = 10;
const AUTOSTART_INTERVAL_MS = 100;

export function unreachableError(cause?: unknown, hint?: string): MutagenError {
  return new MutagenError('MUTAGEN_DAEMON_UNREACHABLE', 'unable to connect to daemon: connection timed out (is the daemon running?)', {
    ...(cause === undefined ? {} : { cause }),
    ...(hint === undefined ? {} : { hint }),
  });
}

/**
 * One connection to the daemon. Calls may run concurrently; each is cancelled (locally at once,
 * and in the daemon via `$/cancel`) when its signal aborts. If the connection drops, every
 * pending call rejects. close() is idempotent.
 */
export class DaemonClient {
  private readonly decoder = new FrameDecoder();
  private readonly pending = new Map<RequestId, PendingCall>();
  private readonly watchers = new Map<AbortSignal, Set<() => void>>();
  private readonly unlisteners = new Map<AbortSignal, () => void>();
  private nextId = 1;
  private closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.fail(new MutagenError('MUTAGEN_DAEMON_UNREACHABLE', 'connection to daemon lost')));
  }

  /** Dials the socket once; rejects after `timeoutMs` or on any connection error. */
  static dial(socketPath: string, signal: AbortSignal, timeoutMs = DIAL_TIMEOUT_MS): Promise<DaemonClient> {
    signal.throwIfAborted();
    return new Promise<DaemonClient>((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      const finish = (error: Error | undefined): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off('error', finish);
        if (error === undefined) return resolve(new DaemonClient(socket));
        socket.destroy();
        reject(error);
      };
      const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new MutagenError('MUTAGEN_CANCELLED', 'operation cancelled'));
      const timer = setTimeout(() => finish(new MutagenError('MUTAGEN_DAEMON_UNREACHABLE', 'connection timed out')), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('error', finish);
      socket.once('connect', () => finish(undefined));
    });
  }

  call<M extends DaemonMethod>(method: M, params: DaemonParams<M>, options: CallOptions): Promise<DaemonResult<M>> {
    if (this.closed) return Promise.reject(new MutagenError('MUTAGEN_DAEMON_UNREACHABLE', 'connection to daemon lost'));
    options.signal.throwIfAborted();
    const id = this.nextId++;
    const paramsSchema: z.ZodType = DAEMON_METHODS[method].params;
    const encoded = z.encode(paramsSchema, params);
    return new Promise<DaemonResult<M>>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.pending.delete(id)) return;
        this.write({ jsonrpc: '2.0', method: '$/cancel', params: { id } });
        reject(new MutagenError('MUTAGEN_CANCELLED', 'operation cancelled'));
      };
      const unwatch = this.watch(options.signal, onAbort);
      const done = <T>(f: (value: T) => void) => (value: T): void => {
        unwatch();
        f(value);
      };
      // The result schema parsed the daemon's answer into exactly this method's result type.
      this.pending.set(id, { method, options, resolve: done((value) => resolve(value as DaemonResult<M>)), reject: done(reject) });
      this.write({ jsonrpc: '2.0', id, method, params: encoded });
    });
  }

  /**
   * Runs `onAbort` when `signal` aborts. One listener per distinct signal serves all of its
   * calls, so many concurrent calls sharing the CLI's signal add no listener pile-up.
   */
  private watch(signal: AbortSignal, onAbort: () => void): () => void {
    let callbacks = this.watchers.get(signal);
    if (callbacks === undefined) {
      const registered = new Set<() => void>();
      const listener = (): void => {
        this.watchers.delete(signal);
        for (const callback of [...registered]) callback();
      };
      signal.addEventListener('abort', listener, { once: true });
      this.watchers.set(signal, registered);
      this.unlisteners.set(signal, () => signal.removeEventListener('abort', listener));
      callbacks = registered;
    }
    callbacks.add(onAbort);
    const registered = callbacks;
    return () => {
      registered.delete(onAbort);
      if (registered.size > 0 || this.watchers.get(signal) !== registered) return;
      this.watchers.delete(signal);
      this.unlisteners.get(signal)?.();
      this.unlisteners.delete(signal);
    };
  }

  close(): void {
    this.fail(new MutagenError('MUTAGEN_CANCELLED', 'connection closed'));
    this.socket.destroy();
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.closed = true;
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(error);
  }

  private write(message: unknown): void {
    if (!this.socket.destroyed) this.socket.write(encodeFrame(message));
  }

  private onData(chunk: Buffer): void {
    try {
      for (const body of this.decoder.push(chunk)) this.onMessage(JSON.parse(body));
    } catch (error) {
      this.fail(new ProtocolError(`invalid message from daemon: ${errorMessage(error)}`, { cause: error }));
      this.socket.destroy();
    }
  }

  private onMessage(message: unknown): void {
    const success = successSchema.safeParse(message);
    if (success.success) return this.settle(success.data.id, success.data.result);
    const failure = failureSchema.safeParse(message);
    if (failure.success) {
      const { data, message: text, code } = failure.data.error;
      const error = data === undefined
        ? new DaemonError(code === JSONRPC_INTERNAL_ERROR ? 'MUTAGEN_INTERNAL' : 'MUTAGEN_PROTOCOL', text, undefined)
        : new DaemonError(data.code, data.message, data.hint);
      if (failure.data.id === null) return this.fail(error);
      return this.reject(failure.data.id, error);
    }
    const request = requestSchema.safeParse(message);
    if (request.success && request.data.method === 'prompt') return this.onPrompt(request.data.id, request.data.params);
    const notification = notificationSchema.safeParse(message);
    if (notification.success && notification.data.method === '$/progress') {
      const progress = progressParamsSchema.safeParse(notification.data.params);
      if (progress.success) this.pending.get(progress.data.id)?.options.onStatus?.(progress.data.event.message);
      return;
    }
    throw new ProtocolError('unexpected message');
  }

  private settle(id: RequestId, result: unknown): void {
    const call = this.pending.get(id);
    if (call === undefined) return;
    this.pending.delete(id);
    const resultSchema: z.ZodType = DAEMON_METHODS[call.method].result;
    const parsed = resultSchema.safeParse(result);
    if (parsed.success) call.resolve(parsed.data);
    else call.reject(new ProtocolError(`invalid result for ${call.method}: ${z.prettifyError(parsed.error)}`));
  }

  private reject(id: RequestId, error: Error): void {
    const call = this.pending.get(id);
    if (call === undefined) return;
    this.pending.delete(id);
    call.reject(error);
  }

  private onPrompt(id: RequestId, params: unknown): void {
    const parsed = promptParamsSchema.safeParse(params);
    const call = parsed.success ? this.pending.get(parsed.data.requestId) : undefined;
    const prompter = call?.options.prompter;
    if (!parsed.success || call === undefined || prompter === undefined) {
      this.write({ jsonrpc: '2.0', id, error: { code: JSONRPC_INTERNAL_ERROR, message: 'no prompter available' } });
      return;
    }
    this.answer(id, parsed.data, prompter, call.options.signal);
  }

  private answer(id: RequestId, params: PromptParams, prompter: ClientPrompter, signal: AbortSignal): void {
    prompter.prompt({ kind: params.kind, message: params.message }, signal).then(
      (answer) => this.write({ jsonrpc: '2.0', id, result: { answer } }),
      (error: unknown) => this.write({ jsonrpc: '2.0', id, error: { code: JSONRPC_INTERNAL_ERROR, message: errorMessage(error) } }),
    );
  }
}

export interface ConnectOptions {
  readonly paths: DaemonPaths;
  /** False for `daemon stop` and under MUTAGEN_DISABLE_AUTOSTART=1. */
  readonly autostart: boolean;
  /** False for `daemon stop`: any daemon may be stopped. */
  readonly checkVersion: boolean;
  /** Starts a daemon in the background (e.g. spawnDaemon with the CLI's own `daemon run`). */
  readonly startDaemon: () => void;
  /** Autostart messages (a stderr status line in the CLI). */
  readonly status: (message: string) => void;
  readonly signal: AbortSignal;
  /** The client's version; defaults to VERSION. */
  readonly version?: string;
}

/**
 * Connects to the daemon of `paths`, starting one if needed (cli spec §10.2), and restarts a
 * daemon of another version ([ts]; without autostart a mismatch is an error).
 */
export async function connectDaemon(options: ConnectOptions): Promise<DaemonClient> {
  const client = await dialOrStart(options);
  if (!options.checkVersion) return client;
  const expected = options.version ?? VERSION;
  let running: string;
  try {
    running = (await client.call('daemon.version', {}, { signal: options.signal })).version;
  } catch (error) {
    client.close();
    throw error;
  }
  if (running === expected) return client;
  if (!options.autostart) {
    client.close();
    throw new MutagenError('MUTAGEN_VERSION_MISMATCH', `client/daemon version mismatch (daemon restart recommended): client ${expected}, daemon ${running}`, {
      hint: 'Restart the daemon with "mutagen daemon stop" followed by "mutagen daemon start".',
    });
  }
  options.status(`Restarting Mutagen daemon (version ${running}, expected ${expected})...`);
  await stopDaemon(client, options.paths, options.signal);
  const restarted = await dialOrStart(options);
  const now = (await restarted.call('daemon.version', {}, { signal: options.signal })).version;
  if (now !== expected) {
    restarted.close();
    throw new MutagenError('MUTAGEN_VERSION_MISMATCH', `client/daemon version mismatch (daemon restart recommended): client ${expected}, daemon ${now}`);
  }
  return restarted;
}

/** Asks the daemon behind `client` to terminate and waits (up to 10 s) until it released its lock. */
export async function stopDaemon(client: DaemonClient, paths: DaemonPaths, signal: AbortSignal): Promise<void> {
  try {
    await client.call('daemon.terminate', {}, { signal });
  } catch (error) {
    // The daemon may close the connection before its answer arrives; that is success too.
    if (isAbortError(error) || !(error instanceof MutagenError) || error.code !== 'MUTAGEN_DAEMON_UNREACHABLE') throw error;
  } finally {
    client.close();
  }
  if (!(await waitForLockRelease(paths.lock, 10_000, signal))) {
    throw new MutagenError('MUTAGEN_DAEMON_LOCKED', 'daemon did not exit within 10 seconds');
  }
}

async function dialOrStart(options: ConnectOptions): Promise<DaemonClient> {
  try {
    return await DaemonClient.dial(options.paths.socket, options.signal);
  } catch (error) {
    if (isAbortError(error)) throw error;
    if (!options.autostart) {
      throw unreachableError(error, 'Autostart is disabled (MUTAGEN_DISABLE_AUTOSTART=1); start the daemon with "mutagen daemon start".');
    }
  }
  options.status('Attempting to start Mutagen daemon...');
  options.startDaemon();
  let last: unknown;
  for (let attempt = 0; attempt < AUTOSTART_ATTEMPTS; attempt++) {
    await sleep(AUTOSTART_INTERVAL_MS, options.signal);
    try {
      const client = await DaemonClient.dial(options.paths.socket, options.signal);
      options.status('Started Mutagen daemon in background (terminate with "mutagen daemon stop")');
      return client;
    } catch (error) {
      if (isAbortError(error)) throw error;
      last = error;
    }
  }
  throw unreachableError(last, `The daemon did not come up; its log is ${options.paths.log}.`);
}

/**
 * Starts `argv` detached (own session, stdio ignored, environment kept, cwd `/` so it holds no
 * directory busy) and forgets it.
 */
export function spawnDaemon(argv: readonly string[], env: NodeJS.ProcessEnv): void {
  const [command, ...args] = argv;
  if (command === undefined) throw new MutagenError('MUTAGEN_INTERNAL', 'empty daemon command');
  const child = spawn(command, args, { detached: true, stdio: 'ignore', env, cwd: '/' });
  // A failed spawn shows up as an unreachable daemon after the retries.
  child.on('error', () => undefined);
  child.unref();
}
