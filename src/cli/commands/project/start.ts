import path from 'node:path';
import { Command, Option } from 'commander';
import { summarizePlan } from '../../../planner/plan.js';
import { startProject, type StartOutcome } from '../../../runtime/start.js';
import type { CliContext } from '../../context.js';
import { formatDryRun, formatPlanHeader } from '../../render/plan-render.js';
import { neutralize } from '../../render/output.js';
import { reportRun } from '../../render/project.js';
import {
  addGlobalConfigurationOption, addProjectFileOption, isInteractive, progressRenderer, projectEnvironment, reportingConfigErrors, type ProjectFlags,
} from './environment.js';

interface StartFlags extends ProjectFlags {
  readonly paused?: boolean;
  readonly dryRun?: boolean;
}

function repairHint(file: string, cwd: string): string {
  const flag = `-f ${path.relative(cwd, file) || path.basename(file)}`;
  return `Run "mutagen project start ${flag}" again once the cause is fixed (it converges to the file), or "mutagen project terminate ${flag}" to remove what was created.`;
}

function finish(outcome: Extract<StartOutcome, { kind: 'applied' }>, context: CliContext): void {
  const failure = reportRun(outcome.result, context.output, repairHint(outcome.file, context.cwd));
  if (failure !== undefined) throw failure;
  const name = path.basename(outcome.file);
  context.output.line(`Project ${name} is running (${outcome.plan.projectId}): ${summarizePlan(outcome.plan)}`);
}

async function start(flags: StartFlags, context: CliContext): Promise<void> {
  const renderer = progressRenderer(context);
  const plain = !isInteractive(context);
  const outcome = await reportingConfigErrors(context, () => startProject(projectEnvironment(context, flags, renderer), {
    paused: flags.paused === true,
    dryRun: flags.dryRun === true,
    onPlan: (plan, project) => {
      if (plain) context.output.print(formatPlanHeader(plan, project.file));
      else for (const warning of plan.warnings) context.output.warn(neutralize(warning));
    },
  }));
  if (outcome.kind === 'dry-run') {
    context.output.print(formatDryRun(outcome.plan, outcome.file, outcome.running));
    return;
  }
  finish(outcome, context);
}

/** `mutagen project start [--paused] [--no-global-configuration] [--dry-run]` (cli spec §2.6, §7.7). */
export function projectStartCommand(context: CliContext): Command {
  const command = new Command('start').description('Start (or converge) the sessions of a project file').usage('[flags]');
  addProjectFileOption(command);
  command.addOption(new Option('-p, --paused', 'create the project sessions pre-paused'));
  addGlobalConfigurationOption(command);
  command.addOption(new Option('--dry-run', 'print what start would do and change nothing'));
  return command.action((flags: StartFlags) => start(flags, context));
}
