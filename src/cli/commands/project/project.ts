import type { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { groupCommand } from '../group.js';
import { projectControlCommands } from './control.js';
import { projectListCommand } from './list.js';
import { projectRunCommand } from './run.js';
import { projectStartCommand } from './start.js';
import { projectConfigCommand, projectValidateCommand } from './validate.js';

/** `mutagen project …` (cli spec §2.6, §7). */
export function projectCommand(context: CliContext): Command {
  const group = groupCommand('project', 'Orchestrate sessions for a project (mutagen.yml)', context);
  const commands = [
    projectStartCommand(context), projectRunCommand(context), projectListCommand(context), ...projectControlCommands(context),
    projectValidateCommand(context), projectConfigCommand(context),
  ];
  for (const command of commands) group.addCommand(command);
  return group;
}
