import { Command } from 'commander';
import { sleep } from '../../../base/abort.js';
import { MutagenError } from '../../../base/errors.js';
import type { DaemonClient } from '../../../daemon/client.js';
import { syncSessionToJson } from '../../../model/json.js';
import type { Selection } from '../../../model/session.js';
import { withDaemon, type CliContext } from '../../context.js';
import { formatMonitorHeader, formatMonitorStatus } from '../../render/monitor.js';
import { applyTemplate, type JsonTemplate } from '../../render/template.js';
import { buildSelection } from '../../selection.js';
import { addListOptions, resolveTemplate, type ListFlags } from './list-flags.js';
import { localLinks } from '../../local-links.js';

/** Redraws happen at most this often (cli spec §2.3). */
const REDRAW_INTERVAL_MS = 50;

async function monitorJson(client: DaemonClient, selection: Selection, template: JsonTemplate, context: CliContext): Promise<never> {
  let sinceIndex: number | undefined;
  for (;;) {
    const result = await client.call('sync.list', { selection, ...(sinceIndex === undefined ? {} : { sinceIndex }) }, { signal: context.signal });
    sinceIndex = result.stateIndex;
    context.output.print(applyTemplate(template, result.sessions.map(syncSessionToJson)));
    await sleep(REDRAW_INTERVAL_MS, context.signal);
  }
}

async function follow(client: DaemonClient, id: string, context: CliContext): Promise<never> {
  let sinceIndex: number | undefined;
  let previous: string | undefined;
  for (;;) {
    let sessions;
    try {
      const params = { selection: { specifications: [id] }, ...(sinceIndex === undefined ? {} : { sinceIndex }) };
      ({ sessions, stateIndex: sinceIndex } = await client.call('sync.list', params, { signal: context.signal }));
    } catch (error) {
      if (error instanceof MutagenError && error.code === 'MUTAGEN_NOT_FOUND') {
        throw new MutagenError('MUTAGEN_NOT_FOUND', `invalid list response: session ${id} no longer exists`, { cause: error });
      }
      throw error;
    }
    const state = sessions[0];
    if (sessions.length !== 1 || state === undefined) throw new MutagenError('MUTAGEN_PROTOCOL', 'invalid list response');
    const line = formatMonitorStatus(state);
    if (context.output.stdoutIsTerminal) context.output.status(line);
    else if (line !== previous) context.output.line(line);
    previous = line;
    await sleep(REDRAW_INTERVAL_MS, context.signal);
  }
}

async function monitor(specifications: string[], flags: ListFlags, context: CliContext): Promise<void> {
  const selection = buildSelection(specifications, flags, false);
  const template = await resolveTemplate(flags, context.cwd, context.signal);
  await withDaemon(context, async (client) => {
    if (template !== undefined) return monitorJson(client, selection, template, context);
    const { sessions } = await client.call('sync.list', { selection }, { signal: context.signal });
    const newest = sessions.at(-1);
    if (newest === undefined) throw new MutagenError('MUTAGEN_NOT_FOUND', 'no matching sessions exist');
    const long = flags.long === true;
    const localLink = long ? await localLinks([newest.session.alpha, newest.session.beta], context) : undefined;
    context.output.print(formatMonitorHeader(newest, { long, colors: context.output.colors, ...(localLink === undefined ? {} : { localLink }) }));
    try {
      return await follow(client, newest.session.id, context);
    } finally {
      context.output.keepStatus();
    }
  });
}

export function syncMonitorCommand(context: CliContext): Command {
  const command = new Command('monitor')
    .description('Show a dynamic status display for the most recently created matching session')
    .usage('[flags] [<session>...]')
    .argument('[sessions...]');
  addListOptions(command);
  return command.action((specifications: string[], flags: ListFlags) => monitor(specifications, flags, context));
}
