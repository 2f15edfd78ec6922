import type { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { groupCommand } from '../group.js';
import { syncControlCommands } from './control.js';
import { syncCreateCommand } from './create.js';
import { syncListCommand } from './list.js';
import { syncMonitorCommand } from './monitor.js';

export function syncCommand(context: CliContext): Command {
  const group = groupCommand('sync', 'Create and manage file synchronization sessions', context);
  for (const command of [syncCreateCommand(context), syncListCommand(context), syncMonitorCommand(context), ...syncControlCommands(context)]) {
    group.addCommand(command);
  }
  return group;
}
