import { Command } from 'commander';
import { syncSessionToJson } from '../../../model/json.js';
import { withDaemon, type CliContext } from '../../context.js';
import { formatSyncList } from '../../render/sync-list.js';
import { applyTemplate } from '../../render/template.js';
import { buildSelection } from '../../selection.js';
import { addListOptions, resolveTemplate, type ListFlags } from './list-flags.js';
import { localLinks } from '../../local-links.js';

async function list(specifications: string[], flags: ListFlags, context: CliContext): Promise<void> {
  const selection = buildSelection(specifications, flags, false);
  const template = await resolveTemplate(flags, context.cwd, context.signal);
  const { sessions } = await withDaemon(context, (client) => client.call('sync.list', { selection }, { signal: context.signal }));
  if (template !== undefined) context.output.print(applyTemplate(template, sessions.map(syncSessionToJson)));
  else if (flags.long !== true) context.output.print(formatSyncList(sessions, { long: false, colors: context.output.colors }));
  else {
    const localLink = await localLinks(sessions.flatMap((state) => [state.session.alpha, state.session.beta]), context);
    context.output.print(formatSyncList(sessions, { long: true, colors: context.output.colors, localLink }));
  }
}

export function syncListCommand(context: CliContext): Command {
  const command = new Command('list')
    .description('List existing synchronization sessions and their statuses')
    .usage('[flags] [<session>...]')
    .argument('[sessions...]');
  addListOptions(command);
  return command.action((specifications: string[], flags: ListFlags) => list(specifications, flags, context));
}
