import { Logger, silentLogger } from '../../src/base/logger.js';
import { startDaemon, type RunningDaemon } from '../../src/daemon/daemon.js';
import { daemonPaths, type DaemonPaths } from '../../src/daemon/paths.js';
import { InMemorySyncService } from './sync-service-double.js';

export interface TestDaemon {
  readonly paths: DaemonPaths;
  readonly service: InMemorySyncService;
  readonly daemon: RunningDaemon;
  close(): Promise<void>;
}

/**
 * An in-process daemon (real lock, socket and RPC server) over the in-memory SyncService.
 * Set MUTAGEN_TEST_LOG=debug to see its log on stderr.
 */
export async function startTestDaemon(dataDirectory: string, options: { readonly version?: string } = {}): Promise<TestDaemon> {
  const paths = daemonPaths(dataDirectory);
  const service = new InMemorySyncService();
  const level = process.env['MUTAGEN_TEST_LOG'];
  const logger = level === undefined ? silentLogger : new Logger(process.stderr, level === 'trace' ? 'trace' : 'debug');
  const daemon = await startDaemon({
    paths,
    logger,
    createSync: () => Promise.resolve(service),
    ...(options.version === undefined ? {} : { version: options.version }),
  });
  return { paths, service, daemon, close: () => daemon.close() };
}
