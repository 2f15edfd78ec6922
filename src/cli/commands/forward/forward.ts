import type { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { groupCommand } from '../group.js';
import { forwardControlCommands } from './control.js';
import { forwardCreateCommand } from './create.js';
import { forwardListCommand } from './list.js';
import { forwardMonitorCommand } from './monitor.js';

/** `mutagen forward create | list | monitor | pause | resume | terminate` (cli spec §2.5). */
export function forwardCommand(context: CliContext): Command {
  const group = groupCommand('forward', 'Create and manage network forwarding sessions', context);
  for (const command of [forwardCreateCommand(context), forwardListCommand(context), forwardMonitorCommand(context), ...forwardControlCommands(context)]) {
    group.addCommand(command);
  }
  return group;
}
