import { realpathSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { isAbortError, MutagenError } from '../base/errors.js';
import { DaemonError } from '../daemon/client.js';
import { VERSION } from '../daemon/rpc.js';
import { isCommanderError, translateCommanderError } from './arguments.js';
import { groupCommand } from './commands/group.js';
import type { CliContext } from './context.js';
import { CommandExit, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_SUCCESS, EXIT_USER_ERROR } from './exit.js';
import { Output, type Terminal } from './render/output.js';
import { terminalPrompter } from './render/prompt.js';

/** The process edges main() runs against (the real process, or captures in tests). */
export interface MainEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: Terminal;
  readonly stderr: Terminal;
  readonly signal: AbortSignal;
  /** argv that runs `mutagen daemon run` with this program (for autostart). */
  readonly daemonCommand: readonly string[];
}

/** Applies the CLI-wide commander settings to `command` and every subcommand. */
function configure(command: Command, output: Output): void {
  command
    .exitOverride()
    .showSuggestionAfterError(false)
    .helpOption('-h, --help', 'show help for this command')
    .configureOutput({
      writeOut: (text) => output.print(text),
      writeErr: (text) => output.errorLine(text.trimEnd()),
      outputError: () => undefined,
    });
  for (const sub of command.commands) configure(sub, output);
}

type CommandFactory = (context: CliContext) => Command;

/**
 * The top-level commands, each loaded on demand: a command's module graph (yaml, listr2, the
 * project runtime, …) costs start-up time, so an invocation loads only what it runs.
 */
const COMMANDS: ReadonlyMap<string, () => Promise<CommandFactory>> = new Map([
  ['sync', async () => (await import('./commands/sync/sync.js')).syncCommand],
  ['forward', async () => (await import('./commands/forward/forward.js')).forwardCommand],
  ['project', async () => (await import('./commands/project/project.js')).projectCommand],
  ['daemon', async () => (await import('./commands/daemon/daemon.js')).daemonCommand],
  ['version', async () => (await import('./commands/version.js')).versionCommand],
]);

/**
 * The commands `argv` can reach: only the one it names, when its first word names one (nothing
 * else is parsed or shown then), else all of them (top-level help, flags, unknown commands).
 */
async function commandsFor(argv: readonly string[] | undefined): Promise<CommandFactory[]> {
  const first = argv?.[0];
  const named = first === undefined ? undefined : COMMANDS.get(first);
  return Promise.all(named === undefined ? [...COMMANDS.values()].map((load) => load()) : [named()]);
}

/** The program with the commands `argv` can reach (all of them without `argv`). */
export async function buildProgram(context: CliContext, argv?: readonly string[]): Promise<Command> {
  const program = groupCommand('mutagen', 'Fast, cloud-native file synchronization and network forwarding for remote development', context);
  program.addOption(new Option('--version', 'show version information'));
  program.hook('preAction', (_self, action) => {
    const options: { version?: boolean } = program.opts();
    if (options.version === true && action === program) {
      context.output.line(`Mutagen version ${VERSION}`);
      throw new CommandExit(EXIT_SUCCESS);
    }
  });
  for (const command of await commandsFor(argv)) program.addCommand(command(context));
  configure(program, context.output);
  return program;
}

/** Maps a failure to an exit status after printing it (cli spec §1: `Error: <message chain>`). */
function report(error: unknown, output: Output, signal: AbortSignal): number {
  if (error instanceof CommandExit) return error.code;
  if (isCommanderError(error)) {
    const translated = translateCommanderError(error);
    if (translated === 'success') return EXIT_SUCCESS;
    output.error(translated, { stack: false });
    return EXIT_USER_ERROR;
  }
  if (signal.aborted && isAbortError(error)) {
    output.clearStatus();
    return EXIT_INTERRUPTED;
  }
  if (error instanceof MutagenError && error.code !== 'MUTAGEN_INTERNAL') {
    output.error(error, { stack: false });
    return EXIT_USER_ERROR;
  }
  output.error(error, { stack: !(error instanceof DaemonError) });
  return EXIT_INTERNAL;
}

/** Runs one CLI invocation; returns the exit status. Never throws. */
export async function main(argv: readonly string[], environment: MainEnvironment): Promise<number> {
  const output = new Output(environment.stdout, environment.stderr, environment.env);
  const context: CliContext = {
    output,
    signal: environment.signal,
    env: environment.env,
    cwd: environment.cwd,
    home: environment.env['HOME'] ?? os.homedir(),
    daemonCommand: environment.daemonCommand,
    prompter: terminalPrompter(() => environment.stdin, process.stderr),
  };
  try {
    await (await buildProgram(context, argv)).parseAsync([...argv], { from: 'user' });
    output.clearStatus();
    return EXIT_SUCCESS;
  } catch (error) {
    return report(error, output, environment.signal);
  }
}

/**
 * V8 options for the daemon: semi-spaces of at most 4 MiB instead of 16. A session's cycle
 * allocates a lot that dies young (per-entry promises and paths while it scans, stages and
 * places tens of thousands of files), and V8 lets a young generation of 3 × 16 MiB fill before
 * it collects. Three 20k-file local sessions one after the other (tmpfs, so the disk does not
 * blur the figures): daemon peak RSS 215-252 MiB with the default, 203-217 MiB with this; daemon
 * CPU 11.8-12.6 s either way.
 * And an initial heap of 96 MiB: with small semi-spaces much of a transfer's in-flight state
 * is promoted, and V8 then started a concurrent major collection every ~100 ms of a 20k-file
 * transfer over SSH (20-37 per two sessions, ~0.4 s of helper-thread CPU each session on a
 * two-core machine); with this, 4-5. The HeapGovernor still collects once the heap holds 40 MiB
 * more than after the last full collection, so the heap does not grow to this size with garbage.
 */
const DAEMON_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=4', '--initial-heap-size=96'];

/**
 * The daemon runs with this process's node flags (but `--inspect…`, which would fight over the
 * port) plus DAEMON_NODE_OPTIONS, unless a flag of the same name is already given.
 */
function daemonCommandLine(): string[] {
  const script = process.argv[1] ?? fileURLToPath(import.meta.url);
  const execArgv = process.execArgv.filter((flag) => !flag.startsWith('--inspect'));
  const given = new Set(execArgv.map((flag) => flag.split('=')[0]));
  const added = DAEMON_NODE_OPTIONS.filter((flag) => !given.has(flag.split('=')[0]));
  return [process.execPath, ...execArgv, ...added, script, 'daemon', 'run'];
}

/**
 * The process entry: one AbortController for the invocation; the first SIGINT/SIGTERM aborts
 * it (its reason names the signal), a second exits at once with 130.
 */
async function runProcess(): Promise<void> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) process.exit(EXIT_INTERRUPTED);
    controller.abort(new MutagenError('MUTAGEN_CANCELLED', `terminated by signal: ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A closed pipe on stdout (e.g. `| head`) must not crash the CLI.
  process.stdout.on('error', () => undefined);
  const code = await main(process.argv.slice(2), {
    env: process.env,
    cwd: process.cwd(),
    get stdin(): NodeJS.ReadStream {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    signal: controller.signal,
    daemonCommand: daemonCommandLine(),
  });
  process.stdout.write('', () => process.exit(code));
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) void runProcess();
