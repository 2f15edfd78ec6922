import { Option, type Command } from 'commander';
import type { CommandIo } from '../../../runtime/hooks.js';
import { DEFAULT_CONCURRENCY } from '../../../runtime/progress.js';
import type { ProjectEnvironment } from '../../../runtime/project.js';
import { connectForCommand, type CliContext } from '../../context.js';
import { plainProgress, type ProgressRenderer } from '../../render/plain.js';
import { configFailure } from '../../render/project.js';
import { listrProgress } from '../../render/tasks.js';

/** Flags every project command has. */
export interface ProjectFlags {
  readonly projectFile?: string;
  readonly globalConfiguration?: boolean;
}

/** Adds `-f/--project-file` (cli spec §2.6). */
export function addProjectFileOption(command: Command): Command {
  return command.addOption(new Option('-f, --project-file <path>', 'specify project file (default: mutagen.yml in the current directory)'));
}

/** Adds `--no-global-configuration` (start, validate, config). */
export function addGlobalConfigurationOption(command: Command): Command {
  return command.addOption(new Option('--no-global-configuration', 'ignore the global configuration file (~/.mutagen.yml)'));
}

/** A terminal on stdout and no CI variable set (CI=true and the like switch to plain lines). */
export function isInteractive(context: CliContext): boolean {
  const ci = context.env['CI'];
  return context.output.stdoutIsTerminal && (ci === undefined || ci === '' || ci === 'false' || ci === '0');
}

/** Interactive listr2 tasks on a TTY; plain lines under CI or when stdout is not a terminal. */
export function progressRenderer(context: CliContext): ProgressRenderer {
  return isInteractive(context) ? listrProgress(context.output, DEFAULT_CONCURRENCY) : plainProgress(context.output);
}

/** What the runtime needs from this invocation: cwd, -f, environment, daemon connection, output. */
export function projectEnvironment(context: CliContext, flags: ProjectFlags, renderer: ProgressRenderer, hookIo: CommandIo = { kind: 'inherit' }): ProjectEnvironment {
  return {
    cwd: context.cwd,
    projectFile: flags.projectFile,
    home: context.home,
    env: context.env,
    signal: context.signal,
    connect: () => connectForCommand(context),
    prompter: context.prompter,
    sink: renderer.sink,
    hookIo,
    onWait: (message) => context.output.stderrStatusLine(message),
    onWarning: (message) => context.output.warn(message),
    globalConfiguration: flags.globalConfiguration !== false,
  };
}

/** Runs a project command body; a bad project file is reported problem by problem (render/project.ts). */
export async function reportingConfigErrors<T>(context: CliContext, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw configFailure(error, context.output);
  } finally {
    context.output.clearStatus();
  }
}
