import { Command } from 'commander';
import { MutagenError } from '../../../base/errors.js';
import { runProjectCommand } from '../../../runtime/verbs.js';
import type { CliContext } from '../../context.js';
import { CommandExit, EXIT_USER_ERROR } from '../../exit.js';
import { plainProgress } from '../../render/plain.js';
import { addProjectFileOption, projectEnvironment, reportingConfigErrors, type ProjectFlags } from './environment.js';

async function run(names: readonly string[], flags: ProjectFlags, context: CliContext): Promise<void> {
  const [name] = names;
  if (name === undefined) throw new MutagenError('MUTAGEN_INVALID_ARGUMENT', 'missing command name');
  if (names.length > 1) throw new MutagenError('MUTAGEN_INVALID_ARGUMENT', 'invalid number of arguments');
  const exit = await reportingConfigErrors(context, () => runProjectCommand(projectEnvironment(context, flags, plainProgress(context.output)), name));
  if (exit.code === 0) return;
  context.output.error(new MutagenError('MUTAGEN_PROJECT', `command '${name}' failed: ${exit.description}`), { stack: false });
  // [ts] The command's own status is passed on (cli spec §7.7 allows it); a signal exits 1.
  throw new CommandExit(exit.code !== null && exit.code > 0 && exit.code < 256 ? exit.code : EXIT_USER_ERROR);
}

/** `mutagen project run <command-name>` (cli spec §2.6, §7.7). */
export function projectRunCommand(context: CliContext): Command {
  const command = new Command('run').description('Run a command defined in the project file').usage('[flags] <command-name>').argument('[name...]');
  addProjectFileOption(command);
  return command.action((names: string[], flags: ProjectFlags) => run(names, flags, context));
}
