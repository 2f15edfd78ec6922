import { Command } from 'commander';
import { VERSION } from '../../daemon/rpc.js';
import type { CliContext } from '../context.js';

/** `mutagen version` prints the bare version (`mutagen --version` prints `Mutagen version <v>`). */
export function versionCommand(context: CliContext): Command {
  return new Command('version').description('Show version information').action(() => context.output.line(VERSION));
}
