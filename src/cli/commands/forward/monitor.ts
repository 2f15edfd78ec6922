import { Command } from 'commander';
import { sleep } from '../../../base/abort.js';
import { MutagenError } from '../../../base/errors.js';
import type { DaemonClient } from '../../../daemon/client.js';
import { forwardSessionToJson } from '../../../model/json.js';
import type { ForwardSessionState, Selection } from '../../../model/session.js';
import { withDaemon, type CliContext } from '../../context.js';
import { formatForwardMonitorHeader, formatForwardMonitorStatus } from '../../render/forward-list.js';
import { applyTemplate, type JsonTemplate } from '../../render/template.js';
import { buildSelection } from '../../selection.js';
import { addListOptions, resolveTemplate, type ListFlags } from '../sync/list-flags.js';

/** Redraws happen at most this often (cli spec §2.3). */
const REDRAW_INTERVAL_MS = 50;

/** With a template: the whole array again on every state change, one document per line. */
async function monitorJson(client: DaemonClient, selection: Selection, template: JsonTemplate, context: CliContext): Promise<never> {
  let sinceIndex: number | undefined;
  for (;;) {
    const result = await client.call('forward.list', { selection, ...(sinceIndex === undefined ? {} : { sinceIndex }) }, { signal: context.signal });
    sinceIndex = result.stateIndex;
    context.output.print(applyTemplate(template, result.sessions.map(forwardSessionToJson)));
    await sleep(REDRAW_INTERVAL_MS, context.signal);
  }
}

async function nextState(client: DaemonClient, id: string, sinceIndex: number | undefined, context: CliContext): Promise<{ state: ForwardSessionState; stateIndex: number }> {
  let result;
  try {
    const params = { selection: { specifications: [id] }, ...(sinceIndex === undefined ? {} : { sinceIndex }) };
    result = await client.call('forward.list', params, { signal: context.signal });
  } catch (error) {
    if (error instanceof MutagenError && error.code === 'MUTAGEN_NOT_FOUND') {
      throw new MutagenError('MUTAGEN_NOT_FOUND', `invalid list response: session ${id} no longer exists`, { cause: error });
    }
    throw error;
  }
  const state = result.sessions[0];
  if (result.sessions.length !== 1 || state === undefined) throw new MutagenError('MUTAGEN_PROTOCOL', 'invalid list response');
  return { state, stateIndex: result.stateIndex };
}

/** Follows one session by identifier, rewriting its status line on every change (a new line each when not on a TTY). */
async function follow(client: DaemonClient, id: string, context: CliContext): Promise<never> {
  let sinceIndex: number | undefined;
  let previous: string | undefined;
  for (;;) {
    const { state, stateIndex } = await nextState(client, id, sinceIndex, context);
    sinceIndex = stateIndex;
    const line = formatForwardMonitorStatus(state);
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
    const { sessions } = await client.call('forward.list', { selection }, { signal: context.signal });
    const newest = sessions.at(-1);
    if (newest === undefined) throw new MutagenError('MUTAGEN_NOT_FOUND', 'no matching sessions exist');
    context.output.print(formatForwardMonitorHeader(newest, { long: flags.long === true, colors: context.output.colors }));
    try {
      return await follow(client, newest.session.id, context);
    } finally {
      context.output.keepStatus();
    }
  });
}

/** `forward monitor` (cli spec §2.5): the most recently created matching session, until interrupted. */
export function forwardMonitorCommand(context: CliContext): Command {
  const command = new Command('monitor')
    .description('Show a dynamic status display for the most recently created matching session')
    .usage('[flags] [<session>...]')
    .argument('[sessions...]');
  addListOptions(command);
  return command.action((specifications: string[], flags: ListFlags) => monitor(specifications, flags, context));
}
