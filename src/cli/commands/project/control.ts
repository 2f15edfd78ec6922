import { Command, Option } from 'commander';
import { controlProject, type ControlVerb } from '../../../runtime/verbs.js';
import type { CliContext } from '../../context.js';
import { reportRun } from '../../render/project.js';
import { addProjectFileOption, progressRenderer, projectEnvironment, reportingConfigErrors, type ProjectFlags } from './environment.js';

interface ControlFlags extends ProjectFlags {
  readonly skipWait?: boolean;
}

const HINTS: Readonly<Record<ControlVerb, string>> = {
  pause: 'Run "mutagen project pause" again once the cause is fixed.',
  resume: 'Run "mutagen project resume" again once the cause is fixed.',
  flush: 'Check the sessions with "mutagen project list".',
  reset: 'Check the sessions with "mutagen project list".',
  terminate: 'The lock file is kept until terminate succeeds; run "mutagen project terminate" again once the cause is fixed.',
};

async function control(verb: ControlVerb, flags: ControlFlags, context: CliContext): Promise<void> {
  const renderer = progressRenderer(context);
  const outcome = await reportingConfigErrors(context, () =>
    controlProject(projectEnvironment(context, flags, renderer), verb, { skipWait: flags.skipWait === true }));
  const failure = reportRun(outcome.result, context.output, HINTS[verb]);
  if (failure !== undefined) throw failure;
}

function controlCommand(verb: ControlVerb, description: string, context: CliContext): Command {
  const command = new Command(verb).description(description).usage('[flags]');
  addProjectFileOption(command);
  if (verb === 'flush') command.addOption(new Option('--skip-wait', 'avoid waiting for the resulting synchronization cycle(s) to complete'));
  return command.action((flags: ControlFlags) => control(verb, flags, context));
}

/** `project pause | resume | flush | reset | terminate` (cli spec §2.6, §7.7). */
export function projectControlCommands(context: CliContext): Command[] {
  return [
    controlCommand('flush', 'Flush the synchronization sessions of a project', context),
    controlCommand('pause', 'Pause the sessions of a project', context),
    controlCommand('resume', 'Resume the sessions of a project', context),
    controlCommand('reset', 'Reset the synchronization session history of a project', context),
    controlCommand('terminate', 'Terminate the sessions of a project and remove its lock file', context),
  ];
}
