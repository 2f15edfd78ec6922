import { DisposableStore } from '../base/disposable.js';
import { wrapError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import type { ForwardService } from '../forward/service.js';
import type { SyncService } from '../sync/service.js';
import { createDaemonHandlers } from './handlers.js';
import { acquireLock } from './lock.js';
import { checkSocketPath, ensureDaemonDirectories, type DaemonPaths } from './paths.js';
import { VERSION } from './rpc.js';
import { listenDaemonServer } from './server.js';

export interface StartDaemonOptions {
  readonly paths: DaemonPaths;
  readonly logger: Logger;
  /** Builds the services once the lock is held; the daemon owns and closes them. */
  readonly createSync: () => Promise<SyncService>;
  /** Builds the forward service (after the sync one); without it forward.* answers MUTAGEN_UNSUPPORTED. */
  readonly createForward?: () => Promise<ForwardService>;
  readonly version?: string;
}

export interface RunningDaemon {
  /** Resolves when a client asked the daemon to terminate. */
  readonly terminateRequested: Promise<void>;
  /** Stops accepting, aborts calls, halts sessions (not paused), releases the lock. Idempotent. */
  close(): Promise<void>;
}

/**
 * Takes the single-instance lock (failing at once with `unable to acquire daemon lock`), then
 * removes a stale socket, builds the services and serves the API. Used by `daemon run`
 * (main.ts) and by tests with an in-memory SyncService. Closing stops the server first, then
 * the forward sessions, then the sync sessions, then releases the lock.
 */
export async function startDaemon(options: StartDaemonOptions): Promise<RunningDaemon> {
  const { paths, logger } = options;
  await ensureDaemonDirectories(paths);
  checkSocketPath(paths.socket);
  const store = new DisposableStore();
  const lock = await acquireLock(paths.lock);
  store.add({ close: () => lock.release() });
  try {
    const sync = await options.createSync();
    store.add(sync);
    const forward = options.createForward === undefined ? undefined : store.add(await options.createForward());
    let requestTerminate: () => void = () => undefined;
    const terminateRequested = new Promise<void>((resolve) => {
      requestTerminate = resolve;
    });
    const handlers = createDaemonHandlers(sync, forward, {
      version: options.version ?? VERSION,
      terminate: () => {
        logger.info('terminate requested');
        requestTerminate();
      },
    });
    const server = await listenDaemonServer({ socketPath: paths.socket, handlers, logger });
    store.add(server);
    logger.info('daemon started', { pid: process.pid, socket: paths.socket });
    return { terminateRequested, close: () => store.close() };
  } catch (error) {
    await store.close().catch(() => undefined);
    throw wrapError('unable to start daemon', error);
  }
}
