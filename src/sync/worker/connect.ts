import os from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';
import { errorMessage, MutagenError } from '../../base/errors.js';
import type { Logger, LogLevel } from '../../base/logger.js';
import { Multiplexer } from '../../wire/multiplexer.js';
import { RemoteEndpoint, type RemoteConnectRequest } from '../remote/client.js';
import { portCarrier } from './port-carrier.js';
import { SYNC_WORKER_KIND, type SyncWorkerData } from './serve.js';

export interface WorkerEndpointOptions {
  /** The agent bundle (dist/agent.mjs): its entry serves SyncWorkerData when run as a worker. */
  readonly entry: string;
  /** The daemon's data directory: the worker's staging roots and scan cache live under it. */
  readonly dataDirectory: string;
  readonly request: RemoteConnectRequest;
  readonly logger: Logger;
  /** Called with each worker started (tests terminate it to simulate a crash). */
  readonly onWorker?: (worker: Worker) => void;
}

/** How long closing waits for the worker to exit by itself (it saves its scan cache) before terminating it. */
const EXIT_GRACE_MS = 5_000;
/** Keep this much of the worker's last crash report for the error that ends the connection. */
const DIAGNOSTICS_CHARS = 1024;
/**
 * The endpoint thread's young generation: V8's default lets it reach tens of MiB in a bulk scan
 * or staging, on top of the daemon's own; 8 MiB took about 8 MiB off the daemon's peak RSS in a
 * 20,000-file initial sync (3 syncs in one daemon, twice each way) at no measurable cost in time.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 8 } as const;

/**
 * Starts a worker thread running the agent bundle, which serves one LocalEndpoint
 * (serveSyncEndpoint) over a MessagePort, and returns a RemoteEndpoint on it: the same calls an
 * agent gets, on another core. The endpoint owns the worker: shutdown() lets it finish, then
 * terminates it. A worker that dies or fails makes the endpoint reject with MUTAGEN_TRANSPORT
 * (`connection to agent lost`, quoting the worker's error), so the session reconnects with a
 * new worker like any remote. Rejects (worker terminated) when connecting fails or `signal` aborts.
 */
export async function connectWorkerEndpoint(options: WorkerEndpointOptions, signal: AbortSignal): Promise<RemoteEndpoint> {
  signal.throwIfAborted();
  const logger = options.logger.child('worker');
  const data = new MessageChannel();
  const logs = new MessageChannel();
  const workerData: SyncWorkerData = {
    kind: SYNC_WORKER_KIND, port: data.port2, logPort: logs.port2, logLevel: workerLevel(logger),
    dataDirectory: options.dataDirectory, homeDirectory: os.homedir(),
  };
  let worker: Worker;
  try {
    worker = new Worker(options.entry, { workerData, transferList: [data.port2, logs.port2], stdout: false, stderr: false, resourceLimits: WORKER_LIMITS });
  } catch (error) {
    data.port1.close();
    logs.port1.close();
    throw new MutagenError('MUTAGEN_ENDPOINT', `unable to start a worker thread for beta: ${errorMessage(error)}`, { cause: error });
  }
  options.onWorker?.(worker);
  const handle = new WorkerHandle(worker, logger);
  logs.port1.on('message', (line: unknown) => forwardLog(logger, line));
  logs.port1.unref();
  const carrier = portCarrier(data.port1, { detachWritten: true });
  worker.once('exit', () => {
    carrier.destroy(new MutagenError('MUTAGEN_TRANSPORT', `worker thread exited${handle.describeExit()}`));
    logs.port1.close();
  });
  const mux = new Multiplexer(carrier, { role: 'client', logger: logger.child('wire') });
  return RemoteEndpoint.connect(mux, options.request, { logger, owned: handle, diagnostics: () => handle.diagnostics }, signal);
}

/** The worker thread, as a resource: close() waits for a clean exit, then terminates it. */
class WorkerHandle {
  diagnostics = '';
  private exitCode: number | undefined;
  private readonly exited: Promise<void>;
  private closing: Promise<void> | undefined;

  constructor(private readonly worker: Worker, logger: Logger) {
    this.exited = new Promise((resolve) => worker.once('exit', (code: number) => { this.exitCode = code; resolve(); }));
    worker.on('error', (error: unknown) => {
      this.diagnostics = `worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`.slice(0, DIAGNOSTICS_CHARS);
      logger.warn('worker thread failed', { error: errorMessage(error) });
    });
  }

  describeExit(): string {
    return this.exitCode === undefined ? '' : ` with code ${this.exitCode}`;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), EXIT_GRACE_MS); });
      const outcome = await Promise.race([this.exited.then(() => 'exited' as const), grace]);
      clearTimeout(timer);
      if (outcome === 'timeout') await this.worker.terminate();
    })();
    return this.closing;
  }
}

/** The worker logs at the daemon logger's level (it has no other way to know it). */
function workerLevel(logger: Logger): LogLevel {
  for (const level of ['trace', 'debug', 'info', 'warn', 'error'] as const) if (logger.enabled(level)) return level;
  return 'disabled';
}

const LINE = /^\S+ (ERROR|WARN|INFO|DEBUG|TRACE) (.*)$/s;

/** Re-logs one line the worker's Logger formatted ("<time> LEVEL [scope] message k=v"). */
function forwardLog(logger: Logger, line: unknown): void {
  if (typeof line !== 'string') return;
  const match = LINE.exec(line.trimEnd().slice(0, 4096));
  if (match === null) return;
  const text = match[2] ?? '';
  switch (match[1]) {
    case 'ERROR': return logger.error(text);
    case 'WARN': return logger.warn(text);
    case 'INFO': return logger.info(text);
    case 'DEBUG': return logger.debug(text);
    default: return logger.trace(text);
  }
}
