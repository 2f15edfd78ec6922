import { silentLogger } from '../../src/base/logger.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { daemonPaths } from '../../src/daemon/paths.js';
import { InMemorySyncService } from './sync-service-double.js';

/**
 * A daemon process over the in-memory SyncService, for tests that need a real process (lock
 * contention, kill -9) or the built CLI without the engine. Usage:
 *   node --import tsx test/helpers/daemon-process.ts <data directory> [version]
 * Prints `ready <pid>` on stdout once serving; exits 0 after daemon.terminate or SIGTERM, 1 when
 * it cannot start (`Error: unable to acquire daemon lock: …` on stderr).
 */
async function run(): Promise<number> {
  const [dataDirectory, version] = process.argv.slice(2);
  if (dataDirectory === undefined) throw new Error('usage: daemon-process.ts <data directory> [version]');
  const daemon = await startDaemon({
    paths: daemonPaths(dataDirectory),
    logger: silentLogger,
    createSync: () => Promise.resolve(new InMemorySyncService()),
    ...(version === undefined ? {} : { version }),
  });
  process.stdout.write(`ready ${process.pid}\n`);
  const signalled = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await Promise.race([daemon.terminateRequested, signalled]);
  await daemon.close();
  return 0;
}

run().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
