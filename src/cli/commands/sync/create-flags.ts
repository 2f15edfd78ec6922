import { Option, type Command } from 'commander';
import { MutagenError, wrapError } from '../../../base/errors.js';
import {
  COMPRESSION_ALGORITHMS, emptySyncConfiguration, HASH_ALGORITHMS, IGNORE_SYNTAXES, PERMISSIONS_MODES, PROBE_MODES, SCAN_MODES,
  STAGE_MODES, SYMLINK_MODES, SYNC_MODES, WATCH_MODES, type SyncConfiguration,
} from '../../../model/configuration.js';
import { parseByteSize, parseEnum, parseOctalMode, validateOwnership } from '../../../model/values.js';
import { csvList, unsignedInteger } from '../../arguments.js';

/** Flags of `sync create` as commander parses them (strings until validated here). */
export interface CreateFlags {
  readonly name?: string;
  readonly label?: string[];
  readonly paused?: boolean;
  readonly globalConfiguration?: boolean;
  readonly configurationFile?: string[];
  readonly mode?: string;
  readonly syncMode?: string;
  readonly hash?: string;
  readonly maxEntryCount?: number;
  readonly maxStagingFileSize?: string;
  readonly symlinkMode?: string;
  readonly ignoreSyntax?: string;
  readonly permissionsMode?: string;
  readonly ignore?: string[];
  readonly [perEndpoint: string]: unknown;
}

type Side = '' | 'Alpha' | 'Beta';
const SIDES: readonly Side[] = ['', 'Alpha', 'Beta'];
const SUFFIX: Readonly<Record<Side, string>> = { '': '', Alpha: '-alpha', Beta: '-beta' };
const FOR: Readonly<Record<Side, string>> = { '': '', Alpha: ' for alpha', Beta: ' for beta' };

/** Adds every flag of the cli spec §2.1 table to `command`. */
export function addCreateOptions(command: Command): Command {
  command
    .option('-n, --name <name>', 'specify a name for the session')
    .option('-l, --label <label>', 'specify labels (KEY[=VALUE], repeatable, comma-separated)', csvList('--label'))
    .option('-p, --paused', 'create the session pre-paused')
    .option('--no-global-configuration', 'ignore the global configuration file')
    .option('-c, --configuration-file <file>', 'specify files containing default session configuration', csvList('--configuration-file'))
    .option('-m, --mode <mode>', 'specify synchronization mode (two-way-safe|two-way-resolved|one-way-safe|one-way-replica)')
    .addOption(new Option('--sync-mode <mode>', 'alias of --mode').hideHelp())
    .option('-H, --hash <algorithm>', 'specify hashing algorithm (sha1|sha256|xxh128)')
    .option('--max-entry-count <count>', 'specify the maximum number of entries that endpoints will manage', unsignedInteger('--max-entry-count', 64))
    .option('--max-staging-file-size <size>', 'specify the maximum (individual) file size that endpoints will stage')
    .option('--symlink-mode <mode>', 'specify symbolic link mode (ignore|portable|posix-raw)')
    .option('--ignore-syntax <syntax>', 'specify ignore syntax (mutagen|docker)')
    .option('--permissions-mode <mode>', 'specify permissions mode (portable|manual)')
    .option('-i, --ignore <pattern>', 'specify ignore paths (repeatable, comma-separated)', csvList('--ignore'))
    .option('--ignore-vcs', 'ignore VCS directories')
    .addOption(new Option('--no-ignore-vcs', 'propagate VCS directories'))
    .option('-C, --compression <algorithm>', 'specify compression algorithm (none|deflate|zstandard)')
    .option('--compression-alpha <algorithm>', 'specify compression algorithm for alpha')
    .option('--compression-beta <algorithm>', 'specify compression algorithm for beta');
  for (const side of SIDES) {
    const s = SUFFIX[side];
    const what = side === '' ? '' : ` for ${side.toLowerCase()}`;
    command
      .option(`--probe-mode${s} <mode>`, `specify probe mode${what} (probe|assume)`)
      .option(`--scan-mode${s} <mode>`, `specify scan mode${what} (full|accelerated)`)
      .option(`--stage-mode${s} <mode>`, `specify staging mode${what} (mutagen|neighboring|internal)`)
      .option(`--watch-mode${s} <mode>`, `specify watch mode${what} (portable|force-poll|no-watch)`)
      .option(`--watch-polling-interval${s} <seconds>`, `specify watch polling interval in seconds${what}`, unsignedInteger(`--watch-polling-interval${s}`, 32))
      .option(`--default-file-mode${s} <mode>`, `specify default file permission mode${what}`)
      .option(`--default-directory-mode${s} <mode>`, `specify default directory permission mode${what}`)
      .option(`--default-owner${s} <owner>`, `specify default file/directory owner${what}`)
      .option(`--default-group${s} <group>`, `specify default file/directory group${what}`);
  }
  return command;
}

function text(flags: CreateFlags, key: string): string | undefined {
  const value = flags[key];
  return typeof value === 'string' ? value : undefined;
}

function parseFlagEnum<T extends string>(value: string | undefined, what: string, allowed: readonly T[], context: string): T | undefined {
  if (value === undefined) return undefined;
  try {
    return parseEnum(what, allowed, value);
  } catch (error) {
    throw wrapError(`unable to parse ${context}`, error, 'MUTAGEN_INVALID_ARGUMENT');
  }
}

function parseMode(value: string | undefined, kind: 'file' | 'directory', side: Side): number | undefined {
  if (value === undefined) return undefined;
  const context = `invalid default ${kind} mode${FOR[side]}`;
  let mode: number;
  try {
    mode = parseOctalMode(value);
  } catch (error) {
    throw wrapError(context, error, 'MUTAGEN_INVALID_ARGUMENT');
  }
  if (mode === 0) throw new MutagenError('MUTAGEN_INVALID_ARGUMENT', `${context}: zero-value default ${kind} permission mode specified`);
  return mode;
}

function parseOwnership(value: string | undefined, side: Side): string | undefined {
  if (value === undefined) return undefined;
  const problem = validateOwnership(value);
  if (problem !== undefined) throw new MutagenError('MUTAGEN_INVALID_ARGUMENT', `invalid ownership specification${FOR[side]}: ${problem}`);
  return value;
}

/** The settings that exist per endpoint, for one level ('' = session, or alpha/beta overrides). */
function endpointSettings(flags: CreateFlags, side: Side, permissionsMode: string | undefined): SyncConfiguration {
  const s = side;
  const c = emptySyncConfiguration();
  const probeMode = parseFlagEnum(text(flags, `probeMode${s}`), 'probe mode', PROBE_MODES, `probe mode${FOR[side]}`);
  const scanMode = parseFlagEnum(text(flags, `scanMode${s}`), 'scan mode', SCAN_MODES, `scan mode${FOR[side]}`);
  const stageMode = parseFlagEnum(text(flags, `stageMode${s}`), 'staging mode', STAGE_MODES, `staging mode${FOR[side]}`);
  const watchMode = parseFlagEnum(text(flags, `watchMode${s}`), 'watch mode', WATCH_MODES, `watch mode${FOR[side]}`);
  const interval = flags[`watchPollingInterval${s}`];
  const fileMode = parseMode(text(flags, `defaultFileMode${s}`), 'file', side);
  if (fileMode !== undefined && (permissionsMode ?? 'portable') === 'portable' && (fileMode & 0o111) !== 0) {
    throw new MutagenError('MUTAGEN_INVALID_ARGUMENT',
      `invalid default file mode${FOR[side]}: executability bits detected in file mode in portable permissions propagation mode`, {
        hint: 'Remove the execute bits from the default file mode, or add --permissions-mode=manual.',
      });
  }
  const directoryMode = parseMode(text(flags, `defaultDirectoryMode${s}`), 'directory', side);
  const owner = parseOwnership(text(flags, `defaultOwner${s}`), side);
  const group = parseOwnership(text(flags, `defaultGroup${s}`), side);
  const compression = parseFlagEnum(text(flags, `compression${s}`), 'compression algorithm', COMPRESSION_ALGORITHMS, `compression algorithm${FOR[side]}`);
  return {
    ...c,
    ...(probeMode === undefined ? {} : { probeMode }),
    ...(scanMode === undefined ? {} : { scanMode }),
    ...(stageMode === undefined ? {} : { stageMode }),
    watch: { ...(watchMode === undefined ? {} : { mode: watchMode }), ...(typeof interval === 'number' ? { pollingInterval: interval } : {}) },
    permissions: {
      ...(fileMode === undefined ? {} : { defaultFileMode: fileMode }),
      ...(directoryMode === undefined ? {} : { defaultDirectoryMode: directoryMode }),
      ...(owner === undefined ? {} : { defaultOwner: owner }),
      ...(group === undefined ? {} : { defaultGroup: group }),
    },
    compression: compression === undefined ? {} : { algorithm: compression },
  };
}

function sessionSettings(flags: CreateFlags, vcs: boolean | undefined): SyncConfiguration {
  const mode = parseFlagEnum(flags.mode ?? flags.syncMode, 'synchronization mode', SYNC_MODES, 'synchronization mode');
  const hash = parseFlagEnum(flags.hash, 'hashing algorithm', HASH_ALGORITHMS, 'hashing algorithm');
  let maxStagingFileSize: number | undefined;
  if (flags.maxStagingFileSize !== undefined) {
    try {
      maxStagingFileSize = parseByteSize(flags.maxStagingFileSize);
    } catch (error) {
      throw wrapError('unable to parse maximum staging file size', error, 'MUTAGEN_INVALID_ARGUMENT');
    }
  }
  const symlinkMode = parseFlagEnum(flags.symlinkMode, 'symbolic link mode', SYMLINK_MODES, 'symbolic link mode');
  const ignoreSyntax = parseFlagEnum(flags.ignoreSyntax, 'ignore syntax', IGNORE_SYNTAXES, 'ignore syntax');
  const permissionsMode = parseFlagEnum(flags.permissionsMode, 'permissions mode', PERMISSIONS_MODES, 'permissions mode');
  const endpoint = endpointSettings(flags, '', permissionsMode);
  const ignores = flags.ignore ?? [];
  return {
    ...endpoint,
    ...(mode === undefined ? {} : { mode }),
    ...(hash === undefined ? {} : { hash }),
    ...(flags.maxEntryCount === undefined ? {} : { maxEntryCount: flags.maxEntryCount }),
    ...(maxStagingFileSize === undefined ? {} : { maxStagingFileSize }),
    ignore: {
      ...(ignoreSyntax === undefined ? {} : { syntax: ignoreSyntax }),
      ...(ignores.length === 0 ? {} : { paths: ignores }),
      ...(vcs === undefined ? {} : { vcs }),
    },
    symlink: symlinkMode === undefined ? {} : { mode: symlinkMode },
    permissions: { ...endpoint.permissions, ...(permissionsMode === undefined ? {} : { mode: permissionsMode }) },
  };
}

export interface FlagConfiguration {
  readonly session: SyncConfiguration;
  readonly alpha: SyncConfiguration;
  readonly beta: SyncConfiguration;
}

/**
 * Parses the configuration flags (cli spec §5.1). `vcs` comes from --ignore-vcs/--no-ignore-vcs
 * (both together were already refused). Messages: `unable to parse synchronization mode: …`,
 * `invalid default file mode: …`, `invalid ownership specification: …`, etc.
 */
export function configurationFromFlags(flags: CreateFlags, vcs: boolean | undefined): FlagConfiguration {
  const session = sessionSettings(flags, vcs);
  const permissionsMode = session.permissions.mode;
  return {
    session,
    alpha: endpointSettings(flags, 'Alpha', permissionsMode),
    beta: endpointSettings(flags, 'Beta', permissionsMode),
  };
}
