import { runDaemon } from '../../../src/daemon/main.js';

/**
 * The real daemon (runDaemon: SyncManager + ForwardManager) as a process, for restart tests:
 *   node --import tsx test/integration/forward/daemon-entry.ts <data directory>
 * Logs to <data>/daemon/daemon.log; exits 0 after daemon.terminate, 1 on SIGTERM or failure.
 */
async function run(): Promise<number> {
  const [dataDirectory] = process.argv.slice(2);
  if (dataDirectory === undefined) throw new Error('usage: daemon-entry.ts <data directory>');
  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort(new Error('terminated by signal SIGTERM')));
  const outcome = await runDaemon({ dataDirectory, logLevel: process.env['MUTAGEN_LOG_LEVEL'] ?? 'debug', logToFile: true, signal: controller.signal });
  return outcome.kind === 'terminated' ? 0 : 1;
}

run().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
