import * as z from 'zod';

/**
 * Session configuration as stored (sync-semantics §7.8, cli spec §5–6). Every field is
 * optional: "unset" is kept apart from "default"; defaults are resolved when a session runs
 * (see `resolveEndpointConfiguration`). The same shape is used for session-level settings and
 * for the per-endpoint overrides (which may only hold endpoint-level keys).
 */
export const SYNC_MODES = ['two-way-safe', 'two-way-resolved', 'one-way-safe', 'one-way-replica'] as const;
export const HASH_ALGORITHMS = ['sha1', 'sha256', 'xxh128'] as const;
export const SYMLINK_MODES = ['ignore', 'portable', 'posix-raw'] as const;
export const IGNORE_SYNTAXES = ['mutagen', 'docker'] as const;
export const PERMISSIONS_MODES = ['portable', 'manual'] as const;
export const WATCH_MODES = ['portable', 'force-poll', 'no-watch'] as const;
export const PROBE_MODES = ['probe', 'assume'] as const;
export const SCAN_MODES = ['full', 'accelerated'] as const;
export const STAGE_MODES = ['mutagen', 'neighboring', 'internal'] as const;
export const COMPRESSION_ALGORITHMS = ['none', 'deflate', 'zstandard'] as const;
export const SOCKET_OVERWRITE_MODES = ['leave', 'overwrite'] as const;

export type SyncMode = (typeof SYNC_MODES)[number];
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];
export type SymlinkMode = (typeof SYMLINK_MODES)[number];
export type IgnoreSyntax = (typeof IGNORE_SYNTAXES)[number];
export type PermissionsMode = (typeof PERMISSIONS_MODES)[number];
export type WatchMode = (typeof WATCH_MODES)[number];
export type ProbeMode = (typeof PROBE_MODES)[number];
export type ScanMode = (typeof SCAN_MODES)[number];
export type StageMode = (typeof STAGE_MODES)[number];
export type CompressionAlgorithm = (typeof COMPRESSION_ALGORITHMS)[number];
export type SocketOverwriteMode = (typeof SOCKET_OVERWRITE_MODES)[number];

const uint = z.number().int().nonnegative();

export const syncConfigurationSchema = z.strictObject({
  mode: z.enum(SYNC_MODES).optional(),
  hash: z.enum(HASH_ALGORITHMS).optional(),
  maxEntryCount: uint.optional(),
  maxStagingFileSize: uint.optional(),
  probeMode: z.enum(PROBE_MODES).optional(),
  scanMode: z.enum(SCAN_MODES).optional(),
  stageMode: z.enum(STAGE_MODES).optional(),
  ignore: z.strictObject({
    syntax: z.enum(IGNORE_SYNTAXES).optional(),
    paths: z.array(z.string()).readonly().optional(),
    vcs: z.boolean().optional(),
  }),
  symlink: z.strictObject({ mode: z.enum(SYMLINK_MODES).optional() }),
  watch: z.strictObject({ mode: z.enum(WATCH_MODES).optional(), pollingInterval: uint.optional() }),
  permissions: z.strictObject({
    mode: z.enum(PERMISSIONS_MODES).optional(),
    /** Numeric mode (e.g. 0o644); printed as an octal string in JSON. */
    defaultFileMode: uint.optional(),
    defaultDirectoryMode: uint.optional(),
    defaultOwner: z.string().optional(),
    defaultGroup: z.string().optional(),
  }),
  compression: z.strictObject({ algorithm: z.enum(COMPRESSION_ALGORITHMS).optional() }),
});
export type SyncConfiguration = z.infer<typeof syncConfigurationSchema>;

export function emptySyncConfiguration(): SyncConfiguration {
  return { ignore: {}, symlink: {}, watch: {}, permissions: {}, compression: {} };
}

export const forwardConfigurationSchema = z.strictObject({
  socket: z.strictObject({
    overwriteMode: z.enum(SOCKET_OVERWRITE_MODES).optional(),
    owner: z.string().optional(),
    group: z.string().optional(),
    permissionMode: uint.optional(),
  }),
});
export type ForwardConfiguration = z.infer<typeof forwardConfigurationSchema>;

export function emptyForwardConfiguration(): ForwardConfiguration {
  return { socket: {} };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function pick<T extends object>(lower: T, higher: T): T {
  const out: Mutable<T> = { ...lower };
  for (const [key, value] of Object.entries(higher) as [keyof T, T[keyof T]][]) {
    if (value === undefined || value === '' || value === 0) continue;
    out[key] = value;
  }
  return out;
}

/** `lower ⊕ higher`: set scalars of `higher` win; ignore lists are concatenated (cli spec §5.3). */
export function mergeSyncConfiguration(lower: SyncConfiguration, higher: SyncConfiguration): SyncConfiguration {
  const merged: Mutable<SyncConfiguration> = pick(lower, higher);
  const paths = [...(lower.ignore.paths ?? []), ...(higher.ignore.paths ?? [])];
  merged.ignore = { ...pick(lower.ignore, higher.ignore) };
  if (paths.length > 0) merged.ignore = { ...merged.ignore, paths };
  else {
    const { paths: _dropped, ...rest } = merged.ignore;
    merged.ignore = rest;
  }
  if (higher.ignore.vcs !== undefined) merged.ignore = { ...merged.ignore, vcs: higher.ignore.vcs };
  merged.symlink = pick(lower.symlink, higher.symlink);
  merged.watch = pick(lower.watch, higher.watch);
  merged.permissions = pick(lower.permissions, higher.permissions);
  merged.compression = pick(lower.compression, higher.compression);
  return merged;
}

export function mergeForwardConfiguration(lower: ForwardConfiguration, higher: ForwardConfiguration): ForwardConfiguration {
  return { socket: pick(lower.socket, higher.socket) };
}

/** Keys that may only be set session-wide; setting one on an endpoint is an error. */
export function sessionOnlyKeysSet(configuration: SyncConfiguration): string[] {
  const found: string[] = [];
  if (configuration.mode !== undefined) found.push('synchronization mode');
  if (configuration.hash !== undefined) found.push('hashing algorithm');
  if (configuration.symlink.mode !== undefined) found.push('symbolic link mode');
  if (configuration.ignore.syntax !== undefined) found.push('ignore syntax');
  if (configuration.ignore.paths !== undefined && configuration.ignore.paths.length > 0) found.push('ignores');
  if (configuration.ignore.vcs !== undefined) found.push('VCS ignore mode');
  if (configuration.permissions.mode !== undefined) found.push('permissions mode');
  return found;
}

/** Everything an endpoint needs at run time, with defaults applied (sync-semantics §8). */
export interface ResolvedEndpointConfiguration {
  readonly mode: SyncMode;
  readonly hash: HashAlgorithm;
  readonly maxEntryCount: number;
  readonly maxStagingFileSize: number;
  readonly probeMode: ProbeMode;
  readonly scanMode: ScanMode;
  readonly stageMode: StageMode;
  readonly symlinkMode: SymlinkMode;
  readonly ignoreSyntax: IgnoreSyntax;
  readonly ignores: readonly string[];
  readonly ignoreVcs: boolean;
  readonly permissionsMode: PermissionsMode;
  readonly watchMode: WatchMode;
  readonly watchPollingInterval: number;
  readonly defaultFileMode: number;
  readonly defaultDirectoryMode: number;
  readonly defaultOwner: string | undefined;
  readonly defaultGroup: string | undefined;
  /**
   * The configured wire compression; undefined = not set anywhere (flags, project file, global
   * defaults): the connection then uses defaultCompression(link is local), not a fixed default.
   */
  readonly compression: CompressionAlgorithm | undefined;
}

/**
 * Wire compression when none is configured: none on a link that never leaves this machine
 * (loopback SSH, Docker over a unix socket), where DEFLATE only costs CPU; else deflate (the
 * spec's default, sync-semantics §6.7). A configured algorithm always wins over this.
 */
export function defaultCompression(localLink: boolean): 'none' | 'deflate' {
  return localLink ? 'none' : 'deflate';
}

export function resolveEndpointConfiguration(session: SyncConfiguration, endpoint: SyncConfiguration): ResolvedEndpointConfiguration {
  const c = mergeSyncConfiguration(session, endpoint);
  return {
    mode: c.mode ?? 'two-way-safe',
    hash: c.hash ?? 'sha1',
    maxEntryCount: c.maxEntryCount || Number.MAX_SAFE_INTEGER,
    maxStagingFileSize: c.maxStagingFileSize || Number.MAX_SAFE_INTEGER,
    probeMode: c.probeMode ?? 'probe',
    scanMode: c.scanMode ?? 'accelerated',
    stageMode: c.stageMode ?? 'mutagen',
    symlinkMode: c.symlink.mode ?? 'portable',
    ignoreSyntax: c.ignore.syntax ?? 'mutagen',
    ignores: c.ignore.paths ?? [],
    ignoreVcs: c.ignore.vcs ?? false,
    permissionsMode: c.permissions.mode ?? 'portable',
    watchMode: c.watch.mode ?? 'portable',
    watchPollingInterval: c.watch.pollingInterval || 10,
    defaultFileMode: c.permissions.defaultFileMode || 0o600,
    defaultDirectoryMode: c.permissions.defaultDirectoryMode || 0o700,
    defaultOwner: c.permissions.defaultOwner,
    defaultGroup: c.permissions.defaultGroup,
    compression: c.compression.algorithm,
  };
}
