import { connectDaemon, spawnDaemon, type ClientPrompter, type DaemonClient } from '../daemon/client.js';
import { daemonPaths, resolveDataDirectory, type DaemonPaths } from '../daemon/paths.js';
import type { Output } from './render/output.js';

/** What every command runs with; built once per invocation in main.ts. */
export interface CliContext {
  readonly output: Output;
  /** Aborted by the first SIGINT/SIGTERM; the reason names the signal. */
  readonly signal: AbortSignal;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly home: string;
  /** argv that runs `mutagen daemon run` with this very program. */
  readonly daemonCommand: readonly string[];
  readonly prompter: ClientPrompter;
}

/** The daemon paths of this invocation's data directory (errors for a bad MUTAGEN_DATA_DIRECTORY). */
export function contextPaths(context: CliContext): DaemonPaths {
  return daemonPaths(resolveDataDirectory(context.env, context.home));
}

export function startDaemonProcess(context: CliContext): void {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(context.env)) if (value !== undefined) env[key] = value;
  spawnDaemon(context.daemonCommand, env);
}

/**
 * Connects to the daemon for a sync/forward/project command: autostart unless
 * MUTAGEN_DISABLE_AUTOSTART=1, version check with automatic restart.
 */
export function connectForCommand(context: CliContext): Promise<DaemonClient> {
  return connectDaemon({
    paths: contextPaths(context),
    autostart: context.env['MUTAGEN_DISABLE_AUTOSTART'] !== '1',
    checkVersion: true,
    startDaemon: () => startDaemonProcess(context),
    status: (message) => context.output.stderrStatusLine(message),
    signal: context.signal,
  });
}

/** Runs `body` with a daemon connection that is closed afterwards, and clears status lines. */
export async function withDaemon<T>(context: CliContext, body: (client: DaemonClient) => Promise<T>): Promise<T> {
  const client = await connectForCommand(context);
  try {
    return await body(client);
  } finally {
    client.close();
    context.output.clearStatus();
  }
}
