import type { Command } from 'commander';
import { MutagenError, wrapError } from '../../../base/errors.js';
import { SOCKET_OVERWRITE_MODES, type ForwardConfiguration } from '../../../model/configuration.js';
import { parseEnum, parseOctalMode, validateOwnership } from '../../../model/values.js';
import { csvList } from '../../arguments.js';

/** Flags of `forward create` as commander parses them (strings until validated here). */
export interface ForwardCreateFlags {
  readonly name?: string;
  readonly label?: string[];
  readonly paused?: boolean;
  readonly globalConfiguration?: boolean;
  readonly configurationFile?: string[];
  readonly [socketFlag: string]: unknown;
}

type Level = '' | 'Source' | 'Destination';
const LEVELS: readonly Level[] = ['', 'Source', 'Destination'];
const SUFFIX: Readonly<Record<Level, string>> = { '': '', Source: '-source', Destination: '-destination' };
const FOR: Readonly<Record<Level, string>> = { '': '', Source: ' for source', Destination: ' for destination' };

/** Adds the flags of cli spec §2.5: identity, defaults files and the socket flags (also -source/-destination). */
export function addForwardCreateOptions(command: Command): Command {
  command
    .option('-n, --name <name>', 'specify a name for the session')
    .option('-l, --label <label>', 'specify labels (KEY[=VALUE], repeatable, comma-separated)', csvList('--label'))
    .option('-p, --paused', 'create the session pre-paused')
    .option('--no-global-configuration', 'ignore the global configuration file')
    .option('-c, --configuration-file <file>', 'specify files containing default session configuration', csvList('--configuration-file'));
  for (const level of LEVELS) {
    const s = SUFFIX[level];
    const what = FOR[level];
    command
      .option(`--socket-overwrite-mode${s} <mode>`, `specify socket overwrite mode${what} (leave|overwrite)`)
      .option(`--socket-owner${s} <owner>`, `specify socket owner${what}`)
      .option(`--socket-group${s} <group>`, `specify socket group${what}`)
      .option(`--socket-permission-mode${s} <mode>`, `specify socket permission mode${what} (octal)`);
  }
  return command;
}

function text(flags: ForwardCreateFlags, key: string): string | undefined {
  const value = flags[key];
  return typeof value === 'string' ? value : undefined;
}

function parseOwnership(value: string | undefined, what: 'owner' | 'group', level: Level): string | undefined {
  if (value === undefined || value === '') return undefined;
  const problem = validateOwnership(value);
  if (problem !== undefined) throw new MutagenError('MUTAGEN_INVALID_ARGUMENT', `invalid socket ${what} specification${FOR[level]}: ${problem}`);
  return value;
}

/** An octal mode ≤ 0777; zero means "unset" (the default, 0600), as in project files. */
function parsePermissionMode(value: string | undefined, level: Level): number | undefined {
  if (value === undefined || value === '') return undefined;
  try {
    const mode = parseOctalMode(value);
    return mode === 0 ? undefined : mode;
  } catch (error) {
    throw wrapError(`unable to parse socket permission mode${FOR[level]}`, error, 'MUTAGEN_INVALID_ARGUMENT');
  }
}

function parseOverwriteMode(value: string | undefined, level: Level): ForwardConfiguration['socket']['overwriteMode'] {
  if (value === undefined || value === '') return undefined;
  try {
    return parseEnum('socket overwrite mode', SOCKET_OVERWRITE_MODES, value);
  } catch (error) {
    throw wrapError(`unable to parse socket overwrite mode${FOR[level]}`, error, 'MUTAGEN_INVALID_ARGUMENT');
  }
}

/** The socket settings given for one level ('' = session, or the source/destination overrides). */
function levelConfiguration(flags: ForwardCreateFlags, level: Level): ForwardConfiguration {
  const overwriteMode = parseOverwriteMode(text(flags, `socketOverwriteMode${level}`), level);
  const owner = parseOwnership(text(flags, `socketOwner${level}`), 'owner', level);
  const group = parseOwnership(text(flags, `socketGroup${level}`), 'group', level);
  const permissionMode = parsePermissionMode(text(flags, `socketPermissionMode${level}`), level);
  return {
    socket: {
      ...(overwriteMode === undefined ? {} : { overwriteMode }),
      ...(owner === undefined ? {} : { owner }),
      ...(group === undefined ? {} : { group }),
      ...(permissionMode === undefined ? {} : { permissionMode }),
    },
  };
}

export interface ForwardFlagConfiguration {
  readonly session: ForwardConfiguration;
  readonly source: ForwardConfiguration;
  readonly destination: ForwardConfiguration;
}

/**
 * Parses the socket flags (cli spec §5.2). Messages: `unable to parse socket overwrite mode: …`,
 * `invalid socket owner specification: …`, `invalid socket group specification: …`, `unable to
 * parse socket permission mode: …`, each with ` for source` / ` for destination` for the
 * endpoint variants.
 */
export function forwardConfigurationFromFlags(flags: ForwardCreateFlags): ForwardFlagConfiguration {
  return {
    session: levelConfiguration(flags, ''),
    source: levelConfiguration(flags, 'Source'),
    destination: levelConfiguration(flags, 'Destination'),
  };
}
