import { Command } from 'commander';
import { syncSessionToJson } from '../../../model/json.js';
import type { SyncSessionState } from '../../../model/session.js';
import type { CliContext } from '../../context.js';
import { localLinks } from '../../local-links.js';
import { formatMonitorHeader, formatMonitorStatus } from '../../render/monitor.js';
import { monitorSessions, type MonitorKind } from '../monitor-loop.js';
import { addListOptions, type ListFlags } from './list-flags.js';

function syncMonitor(context: CliContext): MonitorKind<SyncSessionState> {
  return {
    list: (client, selection, sinceIndex, signal) => client.call('sync.list', { selection, ...(sinceIndex === undefined ? {} : { sinceIndex }) }, { signal }),
    id: (state) => state.session.id,
    toJson: syncSessionToJson,
    header: async (state, long) => {
      const localLink = long ? await localLinks([state.session.alpha, state.session.beta], context) : undefined;
      return formatMonitorHeader(state, { long, colors: context.output.colors, ...(localLink === undefined ? {} : { localLink }) });
    },
    status: formatMonitorStatus,
  };
}

/** `sync monitor` (cli spec §2.5): the most recently created matching session, until interrupted. */
export function syncMonitorCommand(context: CliContext): Command {
  const command = new Command('monitor')
    .description('Show a dynamic status display for the most recently created matching session')
    .usage('[flags] [<session>...]')
    .argument('[sessions...]');
  addListOptions(command);
  return command.action((specifications: string[], flags: ListFlags) => monitorSessions(syncMonitor(context), specifications, flags, context));
}
