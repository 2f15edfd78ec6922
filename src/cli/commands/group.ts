import { Command } from 'commander';
import { MutagenError } from '../../base/errors.js';
import type { CliContext } from '../context.js';

function fullName(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * A command that only groups subcommands: without one it prints its help and exits 0; an
 * unknown one is `unknown command "x" for "mutagen sync"` (cli spec §1).
 */
export function groupCommand(name: string, description: string, context: CliContext): Command {
  const command = new Command(name).description(description).allowExcessArguments(true).helpCommand(true);
  return command.action((_options: unknown, self: Command) => {
    const unknown = self.args[0];
    if (unknown !== undefined) throw new MutagenError('MUTAGEN_INVALID_ARGUMENT', `unknown command "${unknown}" for "${fullName(self)}"`);
    context.output.print(self.helpInformation());
  });
}
