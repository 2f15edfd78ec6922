import { whenAborted } from '../base/abort.js';
import { DisposableStore } from '../base/disposable.js';
import { errorMessage, MutagenError } from '../base/errors.js';
import { HeapGovernor } from '../base/heap.js';
import { Logger, parseLogLevel, type LogLevel } from '../base/logger.js';
import { ForwardManager } from '../forward/manager.js';
import { SyncManager } from '../sync/manager.js';
import { startDaemon } from './daemon.js';
import { LogFile } from './log-file.js';
import { createRemoteEndpoints } from './remote.js';
import { daemonPaths, ensureDaemonDirectories } from './paths.js';
import { VERSION } from './rpc.js';

export interface RunDaemonOptions {
  readonly dataDirectory: string;
  /** `MUTAGEN_LOG_LEVEL` text; unknown names are an error. */
  readonly logLevel: string | undefined;
  /** Log to daemon/daemon.log (background daemons) instead of stderr (foreground). */
  readonly logToFile: boolean;
  /** Aborts on SIGINT/SIGTERM; its reason names the signal. */
  readonly signal: AbortSignal;
}

export type DaemonOutcome = { readonly kind: 'terminated' } | { readonly kind: 'signal'; readonly reason: unknown };

function logLevel(text: string | undefined): LogLevel {
  try {
    return parseLogLevel(text);
  } catch (error) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `invalid log level: ${errorMessage(error)}`, {
      hint: 'Set MUTAGEN_LOG_LEVEL to one of disabled, error, warn, info, debug, trace.',
    });
  }
}

/**
 * Loads a manager's persisted sessions (records that fail to load are logged and kept on disk,
 * cli spec §10.3; unpaused sessions start, forward listeners bind again), closing it on failure.
 */
async function initialized<T extends { initialize(): Promise<unknown>; close(): Promise<void> }>(manager: T): Promise<T> {
  try {
    await manager.initialize();
  } catch (error) {
    await manager.close();
    throw error;
  }
  return manager;
}

/**
 * Composition root of `mutagen daemon run`: logger, lock, server, SyncManager and ForwardManager. Returns when a
 * client requested termination or the signal aborted, after everything is closed (sessions are
 * halted, not paused). Failing to take the lock throws `unable to acquire daemon lock: …`.
 */
export async function runDaemon(options: RunDaemonOptions): Promise<DaemonOutcome> {
  const level = logLevel(options.logLevel);
  const paths = daemonPaths(options.dataDirectory);
  await ensureDaemonDirectories(paths);
  const store = new DisposableStore();
  store.add(new HeapGovernor());
  const logFile = options.logToFile ? store.add(new LogFile(paths.log)) : undefined;
  const logger = new Logger(logFile ?? process.stderr, level).child('daemon');
  const onUnexpected = (error: unknown): void => {
    logger.error('unexpected failure (daemon keeps running)', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  };
  process.on('uncaughtException', onUnexpected);
  process.on('unhandledRejection', onUnexpected);
  store.addFunction(() => {
    process.off('uncaughtException', onUnexpected);
    process.off('unhandledRejection', onUnexpected);
  });
  // Registered before the daemon, so it closes after the sessions that use its connections.
  const remote = createRemoteEndpoints({ dataDirectory: options.dataDirectory, logger, logLevel: level });
  store.addFunction(() => remote.close());
  try {
    const daemon = await startDaemon({
      paths,
      logger,
      createSync: () => initialized(new SyncManager({ dataDirectory: options.dataDirectory, logger: logger.child('sync'), version: VERSION, remote: remote.connector })),
      createForward: () => initialized(new ForwardManager({ dataDirectory: options.dataDirectory, logger: logger.child('forward'), version: VERSION, remote: remote.forward })),
    }).catch((error: unknown) => {
      // A background daemon's stderr goes nowhere: the log file must say why it did not start.
      logger.error('unable to start', { error: errorMessage(error) });
      throw error;
    });
    store.add(daemon);
    const outcome = await Promise.race([
      daemon.terminateRequested.then((): DaemonOutcome => ({ kind: 'terminated' })),
      whenAborted(options.signal).then((): DaemonOutcome => ({ kind: 'signal', reason: options.signal.reason })),
    ]);
    logger.info('shutting down', { reason: outcome.kind });
    return outcome;
  } finally {
    await store.close();
  }
}
