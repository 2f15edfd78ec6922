import { assertNever } from '../../base/errors.js';
import {
  defaultCompression, type CompressionAlgorithm, type HashAlgorithm, type IgnoreSyntax, type PermissionsMode, type ProbeMode,
  type ScanMode, type StageMode, type SymlinkMode, type SyncMode, type WatchMode,
} from '../../model/configuration.js';
import type { Entry } from '../../model/entry.js';
import { digestHex } from '../../model/entry.js';
import type { SyncStatus } from '../../model/session.js';
import { neutralize } from './output.js';

// Human descriptions of enum values (cli spec §2.2).

export const SYNC_MODE_DESCRIPTIONS: Readonly<Record<SyncMode, string>> = {
  'two-way-safe': 'Two Way Safe', 'two-way-resolved': 'Two Way Resolved', 'one-way-safe': 'One Way Safe', 'one-way-replica': 'One Way Replica',
};
export const HASH_DESCRIPTIONS: Readonly<Record<HashAlgorithm, string>> = { sha1: 'SHA-1', sha256: 'SHA-256', xxh128: 'XXH128' };
export const SYMLINK_DESCRIPTIONS: Readonly<Record<SymlinkMode, string>> = { ignore: 'Ignore', portable: 'Portable', 'posix-raw': 'POSIX Raw' };
export const IGNORE_SYNTAX_DESCRIPTIONS: Readonly<Record<IgnoreSyntax, string>> = { mutagen: 'Mutagen', docker: 'Docker' };
export const PERMISSIONS_DESCRIPTIONS: Readonly<Record<PermissionsMode, string>> = { portable: 'Portable', manual: 'Manual' };
export const WATCH_DESCRIPTIONS: Readonly<Record<WatchMode, string>> = { portable: 'Portable', 'force-poll': 'Force Poll', 'no-watch': 'No Watch' };
export const PROBE_DESCRIPTIONS: Readonly<Record<ProbeMode, string>> = { probe: 'Probe', assume: 'Assume' };
export const SCAN_DESCRIPTIONS: Readonly<Record<ScanMode, string>> = { full: 'Full', accelerated: 'Accelerated' };
export const STAGE_DESCRIPTIONS: Readonly<Record<StageMode, string>> = {
  mutagen: 'Mutagen Data Directory', neighboring: 'Neighboring', internal: 'Internal',
};
export const COMPRESSION_DESCRIPTIONS: Readonly<Record<CompressionAlgorithm, string>> = { none: 'None', deflate: 'DEFLATE', zstandard: 'Zstandard' };

/**
 * The `Compression:` value: the configured algorithm, else the default the connection uses,
 * `Default (DEFLATE)` or, on a link that never leaves this machine, `Default (None: local link)`.
 */
export function describeCompression(configured: CompressionAlgorithm | undefined, localLink: boolean): string {
  if (configured !== undefined) return COMPRESSION_DESCRIPTIONS[configured];
  const used = defaultCompression(localLink);
  return `Default (${COMPRESSION_DESCRIPTIONS[used]}${localLink ? ': local link' : ''})`;
}

export const STATUS_DESCRIPTIONS: Readonly<Record<SyncStatus, string>> = {
  disconnected: 'Disconnected',
  'halted-on-root-emptied': 'Halted due to one-sided root emptying',
  'halted-on-root-deletion': 'Halted due to root deletion',
  'halted-on-root-type-change': 'Halted due to root type change',
  'connecting-alpha': 'Connecting to alpha',
  'connecting-beta': 'Connecting to beta',
  watching: 'Watching for changes',
  scanning: 'Scanning files',
  'waiting-for-rescan': 'Waiting 5 seconds for rescan',
  reconciling: 'Reconciling changes',
  'staging-alpha': 'Staging files on alpha',
  'staging-beta': 'Staging files on beta',
  transitioning: 'Applying changes',
  saving: 'Saving archive',
};

/** `Default (<description of the default>)` when unset, else the description of the value. */
export function describeSetting<T extends string>(value: T | undefined, fallback: T, descriptions: Readonly<Record<T, string>>): string {
  return value === undefined ? `Default (${descriptions[fallback]})` : descriptions[value];
}

/** A root-relative path for display; the root prints as `<root>`. */
export function formatPath(path: string): string {
  return path === '' ? '<root>' : neutralize(path);
}

export function describeEntry(entry: Entry | undefined): string {
  if (entry === undefined) return '<non-existent>';
  switch (entry.kind) {
    case 'directory':
    case 'phantom-directory':
      return 'Directory';
    case 'file':
      return `${entry.executable ? 'Executable File' : 'File'} (${digestHex(entry.digest)})`;
    case 'symlink':
      return `Symbolic Link (${neutralize(entry.target)})`;
    case 'untracked':
      return 'Untracked content';
    case 'problematic':
      return `Problematic content (${neutralize(entry.problem)})`;
    default:
      return assertNever(entry, 'entry');
  }
}

/** `1 directory` / `3 directories`. */
export function plural(count: number, singular: string, pluralForm: string): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
