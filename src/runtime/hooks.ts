import { spawn } from 'node:child_process';
import type { StdioOptions } from 'node:child_process';
import { errorMessage, MutagenError } from '../base/errors.js';
import type { HookPhase } from '../config/project.js';

/** The words upstream uses for each phase in failure messages (`pre-create command failed: …`). */
export const HOOK_FAILURE_NAMES: Readonly<Record<HookPhase, string>> = {
  beforeCreate: 'pre-create',
  afterCreate: 'post-create',
  beforePause: 'pre-pause',
  afterPause: 'post-pause',
  beforeResume: 'pre-resume',
  afterResume: 'post-resume',
  beforeTerminate: 'pre-terminate',
  afterTerminate: 'post-terminate',
};

/**
 * Where a command's output goes: `inherit` = the CLI's own stdin/stdout/stderr (cli spec §7.7);
 * `pipe` = chunks of text handed to `write` as they arrive (nothing is accumulated), stdin empty.
 */
export type CommandIo =
  | { readonly kind: 'inherit' }
  | { readonly kind: 'pipe'; write(stream: 'stdout' | 'stderr', text: string): void };

export interface ShellOptions {
  /** The project folder. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly io: CommandIo;
  /** Aborting kills the command (SIGTERM) and rejects with the signal's reason once it exited. */
  readonly signal: AbortSignal;
}

/** How a command ended: `exit status 3` or `signal: SIGKILL` (Go's wording, as upstream prints it). */
export interface CommandExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly description: string;
}

function shellArgv(command: string, env: Readonly<Record<string, string | undefined>>): [string, string[]] {
  if (process.platform === 'win32') return [env['ComSpec'] ?? 'cmd.exe', ['/c', command]];
  return ['/bin/sh', ['-c', command]];
}

function environment(env: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

/**
 * Runs `command` with `/bin/sh -c` (Windows: `%ComSpec% /c`) in `cwd` and resolves with how it
 * ended (a non-zero status is a value, not a rejection). Rejects when the shell cannot be
 * started, or with the abort reason after killing the command when `signal` aborts.
 */
export function runShellCommand(command: string, options: ShellOptions): Promise<CommandExit> {
  options.signal.throwIfAborted();
  const [file, args] = shellArgv(command, options.env);
  const stdio: StdioOptions = options.io.kind === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'];
  const child = spawn(file, args, { cwd: options.cwd, env: environment(options.env), stdio });
  const io = options.io;
  if (io.kind === 'pipe') {
    child.stdout?.setEncoding('utf8').on('data', (text: string) => io.write('stdout', text));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => io.write('stderr', text));
  }
  return new Promise<CommandExit>((resolve, reject) => {
    let failure: Error | undefined;
    const onAbort = (): void => {
      failure ??= options.signal.reason instanceof Error ? options.signal.reason : new MutagenError('MUTAGEN_CANCELLED', 'operation cancelled');
      child.kill('SIGTERM');
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', (error) => {
      failure ??= new MutagenError('MUTAGEN_HOOK_FAILED', `unable to start ${file}: ${errorMessage(error)}`, { cause: error });
    });
    child.once('close', (code, signal) => {
      options.signal.removeEventListener('abort', onAbort);
      if (failure !== undefined) return reject(failure);
      const description = code !== null ? `exit status ${code}` : `signal: ${signal ?? 'unknown'}`;
      resolve({ code, signal, description });
    });
  });
}

export interface HookOptions extends ShellOptions {
  /** Called before each command runs; the CLI prints `> <command>` (cli spec §7.7). */
  readonly onCommand: (command: string) => void | Promise<void>;
}

/**
 * Runs the commands of one hook phase in order, stopping at the first that fails:
 * `pre-create command failed: exit status 2` (code MUTAGEN_HOOK_FAILED; the command is named in
 * the hint). Cancellation rejects with the abort reason.
 */
export async function runHook(phase: HookPhase, commands: readonly string[], options: HookOptions): Promise<void> {
  for (const command of commands) {
    await options.onCommand(command);
    const exit = await runShellCommand(command, options);
    if (exit.code !== 0) {
      throw new MutagenError('MUTAGEN_HOOK_FAILED', `${HOOK_FAILURE_NAMES[phase]} command failed: ${exit.description}`, {
        hint: `The failing ${phase} command was: ${command}.`,
      });
    }
  }
}
