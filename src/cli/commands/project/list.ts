import { Command, Option } from 'commander';
import { listProject } from '../../../runtime/verbs.js';
import type { CliContext } from '../../context.js';
import { plainProgress } from '../../render/plain.js';
import { formatProjectList, projectListJson } from '../../render/project.js';
import { addProjectFileOption, projectEnvironment, reportingConfigErrors, type ProjectFlags } from './environment.js';
import { localLinks } from '../../local-links.js';

interface ListFlags extends ProjectFlags {
  readonly long?: boolean;
  readonly json?: boolean;
}

async function list(flags: ListFlags, context: CliContext): Promise<void> {
  const sessions = await reportingConfigErrors(context, () => listProject(projectEnvironment(context, flags, plainProgress(context.output))));
  if (flags.json === true) context.output.print(projectListJson(sessions));
  else if (flags.long !== true) context.output.print(formatProjectList(sessions, { long: false, colors: context.output.colors }));
  else {
    const localLink = await localLinks(sessions.sync.flatMap((state) => [state.session.alpha, state.session.beta]), context);
    context.output.print(formatProjectList(sessions, { long: true, colors: context.output.colors, localLink }));
  }
}

/** `mutagen project list [-l] [--json]` (cli spec §2.6, §7.7). */
export function projectListCommand(context: CliContext): Command {
  const command = new Command('list').description('List the sessions of a project').usage('[flags]');
  addProjectFileOption(command);
  command.addOption(new Option('-l, --long', 'show detailed session information'));
  command.addOption(new Option('--json', 'print the sessions as JSON: {"forward": [...], "sync": [...]}'));
  return command.action((flags: ListFlags) => list(flags, context));
}
