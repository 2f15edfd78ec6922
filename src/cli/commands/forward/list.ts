import { Command } from 'commander';
import { forwardSessionToJson } from '../../../model/json.js';
import { withDaemon, type CliContext } from '../../context.js';
import { formatForwardList } from '../../render/forward-list.js';
import { applyTemplate } from '../../render/template.js';
import { buildSelection } from '../../selection.js';
import { addListOptions, resolveTemplate, type ListFlags } from '../sync/list-flags.js';

async function list(specifications: string[], flags: ListFlags, context: CliContext): Promise<void> {
  const selection = buildSelection(specifications, flags, false);
  const template = await resolveTemplate(flags, context.cwd, context.signal);
  const { sessions } = await withDaemon(context, (client) => client.call('forward.list', { selection }, { signal: context.signal }));
  if (template !== undefined) context.output.print(applyTemplate(template, sessions.map(forwardSessionToJson)));
  else context.output.print(formatForwardList(sessions, { long: flags.long === true, colors: context.output.colors }));
}

/** `forward list [-l] [--label-selector S] [--json | --template T | --template-file F] [<session>...]` (cli spec §2.5). */
export function forwardListCommand(context: CliContext): Command {
  const command = new Command('list')
    .description('List existing forwarding sessions and their statuses')
    .usage('[flags] [<session>...]')
    .argument('[sessions...]');
  addListOptions(command);
  return command.action((specifications: string[], flags: ListFlags) => list(specifications, flags, context));
}
