import { sleep } from '../../base/abort.js';
import { MutagenError } from '../../base/errors.js';
import type { DaemonClient } from '../../daemon/client.js';
import type { Selection } from '../../model/session.js';
import { withDaemon, type CliContext } from '../context.js';
import { applyTemplate, type JsonTemplate } from '../render/template.js';
import { buildSelection } from '../selection.js';
import { resolveTemplate, type ListFlags } from './sync/list-flags.js';

/** Redraws happen at most this often (cli spec §2.3). */
const REDRAW_INTERVAL_MS = 50;

/** What `sync monitor` and `forward monitor` differ in: their list call and their rendering. */
export interface MonitorKind<S> {
  /** The daemon's list (long-polled after `sinceIndex`). */
  list(client: DaemonClient, selection: Selection, sinceIndex: number | undefined, signal: AbortSignal): Promise<{ readonly sessions: readonly S[]; readonly stateIndex: number }>;
  id(state: S): string;
  toJson(state: S): unknown;
  header(state: S, long: boolean): Promise<string> | string;
  status(state: S): string;
}

/**
 * `… monitor` (cli spec §2.5): with a template, the whole matching array again on every state
 * change, one document per line; else the most recently created matching session's header, then
 * its status line rewritten on every change (a new line each when not on a TTY), until interrupted.
 */
export async function monitorSessions<S>(kind: MonitorKind<S>, specifications: string[], flags: ListFlags, context: CliContext): Promise<void> {
  const selection = buildSelection(specifications, flags, false);
  const template = await resolveTemplate(flags, context.cwd, context.signal);
  await withDaemon(context, async (client) => {
    if (template !== undefined) return monitorJson(kind, client, selection, template, context);
    const { sessions } = await kind.list(client, selection, undefined, context.signal);
    const newest = sessions.at(-1);
    if (newest === undefined) throw new MutagenError('MUTAGEN_NOT_FOUND', 'no matching sessions exist');
    context.output.print(await kind.header(newest, flags.long === true));
    try {
      return await follow(kind, client, kind.id(newest), context);
    } finally {
      context.output.keepStatus();
    }
  });
}

async function monitorJson<S>(kind: MonitorKind<S>, client: DaemonClient, selection: Selection, template: JsonTemplate, context: CliContext): Promise<never> {
  let sinceIndex: number | undefined;
  for (;;) {
    const result = await kind.list(client, selection, sinceIndex, context.signal);
    sinceIndex = result.stateIndex;
    context.output.print(applyTemplate(template, result.sessions.map((state) => kind.toJson(state))));
    await sleep(REDRAW_INTERVAL_MS, context.signal);
  }
}

async function follow<S>(kind: MonitorKind<S>, client: DaemonClient, id: string, context: CliContext): Promise<never> {
  let sinceIndex: number | undefined;
  let previous: string | undefined;
  for (;;) {
    let result;
    try {
      result = await kind.list(client, { specifications: [id] }, sinceIndex, context.signal);
    } catch (error) {
      if (error instanceof MutagenError && error.code === 'MUTAGEN_NOT_FOUND') {
        throw new MutagenError('MUTAGEN_NOT_FOUND', `invalid list response: session ${id} no longer exists`, { cause: error });
      }
      throw error;
    }
    sinceIndex = result.stateIndex;
    const state = result.sessions[0];
    if (result.sessions.length !== 1 || state === undefined) throw new MutagenError('MUTAGEN_PROTOCOL', 'invalid list response');
    const line = kind.status(state);
    if (context.output.stdoutIsTerminal) context.output.status(line);
    else if (line !== previous) context.output.line(line);
    previous = line;
    await sleep(REDRAW_INTERVAL_MS, context.signal);
  }
}
