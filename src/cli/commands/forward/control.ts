import { Command } from 'commander';
import { withDaemon, type CliContext } from '../../context.js';
import { addSelectionOptions, buildSelection, type SelectionFlags } from '../../selection.js';

type ControlMethod = 'forward.pause' | 'forward.resume' | 'forward.terminate';

async function control(method: ControlMethod, specifications: string[], flags: SelectionFlags, context: CliContext): Promise<void> {
  const selection = buildSelection(specifications, flags, true);
  const options = {
    signal: context.signal,
    onStatus: (message: string) => context.output.status(message),
    // Resuming reconnects remote endpoints, which may ask for a password or a host key.
    ...(method === 'forward.resume' ? { prompter: context.prompter } : {}),
  };
  await withDaemon(context, (client) => client.call(method, { selection }, options));
}

function controlCommand(name: string, description: string, method: ControlMethod, context: CliContext): Command {
  const command = new Command(name).description(description).usage('[flags] [<session>...]').argument('[sessions...]');
  addSelectionOptions(command, { all: true });
  return command.action((specifications: string[], flags: SelectionFlags) => control(method, specifications, flags, context));
}

/** pause, resume, terminate (cli spec §2.5; no flush or reset for forwarding): nothing on stdout on success. */
export function forwardControlCommands(context: CliContext): Command[] {
  return [
    controlCommand('pause', 'Pause forwarding sessions', 'forward.pause', context),
    controlCommand('resume', 'Resume paused or disconnected forwarding sessions', 'forward.resume', context),
    controlCommand('terminate', 'Permanently terminate forwarding sessions', 'forward.terminate', context),
  ];
}
