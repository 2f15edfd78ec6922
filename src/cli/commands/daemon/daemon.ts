import { Command } from 'commander';
import { sleep } from '../../../base/abort.js';
import { errorMessage, isAbortError, MutagenError } from '../../../base/errors.js';
import { DaemonClient, stopDaemon, unreachableError } from '../../../daemon/client.js';
import { stderrIsDiscarded } from '../../../daemon/log-file.js';
import { resolveDataDirectory } from '../../../daemon/paths.js';
import { contextPaths, startDaemonProcess, type CliContext } from '../../context.js';
import { CommandExit, EXIT_USER_ERROR } from '../../exit.js';
import { groupCommand } from '../group.js';

/** How long `daemon start` waits for a new daemon to answer ([ts]). */
const START_WAIT_MS = 5_000;

async function dial(context: CliContext): Promise<DaemonClient | undefined> {
  try {
    return await DaemonClient.dial(contextPaths(context).socket, context.signal);
  } catch (error) {
    if (isAbortError(error)) throw error;
    return undefined;
  }
}

/** Idempotent: returns at once when a daemon answers, else starts one and waits until it answers. */
async function start(context: CliContext): Promise<void> {
  const running = await dial(context);
  if (running !== undefined) return running.close();
  startDaemonProcess(context);
  const deadline = Date.now() + START_WAIT_MS;
  while (Date.now() < deadline) {
    await sleep(100, context.signal);
    const client = await dial(context);
    if (client !== undefined) return client.close();
  }
  throw unreachableError(undefined, `The daemon did not come up; its log is ${contextPaths(context).log}.`);
}

/** Never autostarts; fails with `is the daemon running?` when none answers; waits until it exited. */
async function stop(context: CliContext): Promise<void> {
  const paths = contextPaths(context);
  let client: DaemonClient;
  try {
    client = await DaemonClient.dial(paths.socket, context.signal);
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw unreachableError(error);
  }
  await stopDaemon(client, paths, context.signal);
}

/** `daemon run`: exits 0 after a terminate request, 1 after SIGINT/SIGTERM (`terminated by signal`). */
async function run(context: CliContext): Promise<void> {
  // Loaded on demand: the engine (sessions, scanner, watcher) is only needed by the daemon, and
  // keeping it out of the CLI's start-up path keeps every other command fast.
  const { runDaemon } = await import('../../../daemon/main.js');
  const outcome = await runDaemon({
    dataDirectory: resolveDataDirectory(context.env, context.home),
    logLevel: context.env['MUTAGEN_LOG_LEVEL'],
    logToFile: stderrIsDiscarded(),
    signal: context.signal,
  });
  if (outcome.kind === 'signal') {
    context.output.error(new MutagenError('MUTAGEN_CANCELLED', errorMessage(outcome.reason)), { stack: false });
    throw new CommandExit(EXIT_USER_ERROR);
  }
}

export function daemonCommand(context: CliContext): Command {
  const group = groupCommand('daemon', 'Control the lifecycle of the Mutagen daemon', context);
  group.addCommand(new Command('start').description('Start the Mutagen daemon if it\'s not already running').action(() => start(context)));
  group.addCommand(new Command('stop').description('Stop the Mutagen daemon if it\'s running').action(() => stop(context)));
  group.addCommand(new Command('run').description('Run the Mutagen daemon').action(() => run(context)), { hidden: true });
  return group;
}
