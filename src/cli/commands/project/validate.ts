import path from 'node:path';
import { Command, Option } from 'commander';
import { loadProjectFile, resolveProjectFile } from '../../../runtime/project.js';
import type { CliContext } from '../../context.js';
import { plainProgress } from '../../render/plain.js';
import { formatProjectConfiguration, projectConfigurationJson } from '../../render/project.js';
import { addGlobalConfigurationOption, addProjectFileOption, projectEnvironment, reportingConfigErrors, type ProjectFlags } from './environment.js';
import { localLinks } from '../../local-links.js';

interface ConfigFlags extends ProjectFlags {
  readonly json?: boolean;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun} session${count === 1 ? '' : 's'}`;
}

/** Loads like `start` would: no lock, no daemon, no hooks (cli spec §7.7 [ts] validate/config). */
function load(flags: ProjectFlags, context: CliContext): ReturnType<typeof loadProjectFile> {
  const environment = projectEnvironment(context, flags, plainProgress(context.output));
  return loadProjectFile(resolveProjectFile(environment), environment);
}

async function validate(flags: ProjectFlags, context: CliContext): Promise<void> {
  const project = await reportingConfigErrors(context, () => Promise.resolve(load(flags, context)));
  for (const warning of project.warnings) context.output.warn(warning);
  context.output.line(`${path.basename(project.file)} is valid (${plural(project.sync.length, 'synchronization')}, ${plural(project.forward.length, 'forwarding')})`);
}

async function config(flags: ConfigFlags, context: CliContext): Promise<void> {
  const project = await reportingConfigErrors(context, () => Promise.resolve(load(flags, context)));
  for (const warning of project.warnings) context.output.warn(warning);
  if (flags.json === true) context.output.line(JSON.stringify(projectConfigurationJson(project), undefined, 2));
  else {
    const localLink = await localLinks(project.sync.flatMap((session) => [session.spec.alpha, session.spec.beta]), context);
    context.output.print(formatProjectConfiguration(project, { long: true, colors: context.output.colors, localLink }));
  }
}

/** [ts] `mutagen project validate`: exit 0, or 1 with every problem as `file:line:col: key: problem`. */
export function projectValidateCommand(context: CliContext): Command {
  const command = new Command('validate').description('Check a project file (and the global configuration) without running anything').usage('[flags]');
  addProjectFileOption(command);
  addGlobalConfigurationOption(command);
  return command.action((flags: ProjectFlags) => validate(flags, context));
}

/** [ts] `mutagen project config [--json]`: the sessions as start would create them. */
export function projectConfigCommand(context: CliContext): Command {
  const command = new Command('config').description('Print the normalised project configuration (defaults and global file merged)').usage('[flags]');
  addProjectFileOption(command);
  addGlobalConfigurationOption(command);
  command.addOption(new Option('--json', 'print the configuration as JSON'));
  return command.action((flags: ConfigFlags) => config(flags, context));
}
