import { Command } from 'commander';
import { forwardSessionToJson } from '../../../model/json.js';
import type { ForwardSessionState } from '../../../model/session.js';
import type { CliContext } from '../../context.js';
import { formatForwardMonitorHeader, formatForwardMonitorStatus } from '../../render/forward-list.js';
import { monitorSessions, type MonitorKind } from '../monitor-loop.js';
import { addListOptions, type ListFlags } from '../sync/list-flags.js';

function forwardMonitor(context: CliContext): MonitorKind<ForwardSessionState> {
  return {
    list: (client, selection, sinceIndex, signal) => client.call('forward.list', { selection, ...(sinceIndex === undefined ? {} : { sinceIndex }) }, { signal }),
    id: (state) => state.session.id,
    toJson: forwardSessionToJson,
    header: (state, long) => formatForwardMonitorHeader(state, { long, colors: context.output.colors }),
    status: formatForwardMonitorStatus,
  };
}

/** `forward monitor` (cli spec §2.5): the most recently created matching session, until interrupted. */
export function forwardMonitorCommand(context: CliContext): Command {
  const command = new Command('monitor')
    .description('Show a dynamic status display for the most recently created matching session')
    .usage('[flags] [<session>...]')
    .argument('[sessions...]');
  addListOptions(command);
  return command.action((specifications: string[], flags: ListFlags) => monitorSessions(forwardMonitor(context), specifications, flags, context));
}
