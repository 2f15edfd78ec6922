import { Command, Option } from 'commander';
import { withDaemon, type CliContext } from '../../context.js';
import { addSelectionOptions, buildSelection, type SelectionFlags } from '../../selection.js';

type ControlMethod = 'sync.pause' | 'sync.resume' | 'sync.reset' | 'sync.terminate';

interface ControlFlags extends SelectionFlags {
  readonly skipWait?: boolean;
}

const PROMPTING: ReadonlySet<ControlMethod> = new Set(['sync.resume', 'sync.reset']);

async function control(method: ControlMethod | 'sync.flush', specifications: string[], flags: ControlFlags, context: CliContext): Promise<void> {
  const selection = buildSelection(specifications, flags, true);
  const options = {
    signal: context.signal,
    onStatus: (message: string) => context.output.status(message),
    ...(method !== 'sync.flush' && PROMPTING.has(method) ? { prompter: context.prompter } : {}),
  };
  await withDaemon(context, async (client) => {
    if (method === 'sync.flush') await client.call('sync.flush', { selection, skipWait: flags.skipWait === true }, options);
    else await client.call(method, { selection }, options);
  });
}

function controlCommand(name: string, description: string, method: ControlMethod | 'sync.flush', context: CliContext): Command {
  const command = new Command(name).description(description).usage('[flags] [<session>...]').argument('[sessions...]');
  addSelectionOptions(command, { all: true });
  if (method === 'sync.flush') command.addOption(new Option('--skip-wait', 'avoid waiting for the resulting synchronization cycle(s) to complete'));
  return command.action((specifications: string[], flags: ControlFlags) => control(method, specifications, flags, context));
}

/** flush, pause, resume, reset, terminate (cli spec §2.4): nothing on stdout on success. */
export function syncControlCommands(context: CliContext): Command[] {
  return [
    controlCommand('flush', 'Force a synchronization cycle', 'sync.flush', context),
    controlCommand('pause', 'Pause synchronization sessions', 'sync.pause', context),
    controlCommand('resume', 'Resume paused or disconnected synchronization sessions', 'sync.resume', context),
    controlCommand('reset', 'Reset synchronization session history', 'sync.reset', context),
    controlCommand('terminate', 'Permanently terminate synchronization sessions', 'sync.terminate', context),
  ];
}
