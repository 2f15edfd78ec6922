import {
  mergeSyncConfiguration, type SyncConfiguration,
} from '../../model/configuration.js';
import type { Conflict, Problem } from '../../model/entry.js';
import type { EndpointState, SyncSessionState } from '../../model/session.js';
import type { EndpointUrl } from '../../model/url.js';
import { formatByteSize, formatOctalMode } from '../../model/values.js';
import { formatUrl } from '../../url/format.js';
import {
  describeCompression, describeEntry, describeSetting, formatPath, HASH_DESCRIPTIONS, IGNORE_SYNTAX_DESCRIPTIONS,
  PERMISSIONS_DESCRIPTIONS, plural, PROBE_DESCRIPTIONS, SCAN_DESCRIPTIONS, STAGE_DESCRIPTIONS, STATUS_DESCRIPTIONS,
  SYMLINK_DESCRIPTIONS, SYNC_MODE_DESCRIPTIONS, WATCH_DESCRIPTIONS,
} from './describe.js';
import { neutralize, type Palette } from './output.js';

export const DELIMITER = '-'.repeat(80);
const LISTED_LIMIT = 10;

export interface ListStyle {
  readonly long: boolean;
  readonly colors: Palette;
  /**
   * Whether an endpoint's link never leaves this machine (then unset compression means none);
   * absent = no link is local. Only consulted with `long`.
   */
  readonly localLink?: (url: EndpointUrl) => boolean;
}

/** The human form of `sync list` (cli spec §2.2): delimiter-separated blocks, oldest first. */
export function formatSyncList(states: readonly SyncSessionState[], style: ListStyle): string {
  if (states.length === 0) return `${DELIMITER}\nNo synchronization sessions found\n${DELIMITER}\n`;
  let text = '';
  for (const state of states) text += `${DELIMITER}\n${formatSyncSession(state, style)}`;
  return `${text}${DELIMITER}\n`;
}

export function formatSyncSession(state: SyncSessionState, style: ListStyle): string {
  const lines = formatSessionHeader(state, style);
  lines.push(...formatEndpoint('Alpha', state.session.alpha, state.session.configurationAlpha, state, 'alpha', style));
  lines.push(...formatEndpoint('Beta', state.session.beta, state.session.configurationBeta, state, 'beta', style));
  lines.push(...formatConflicts(state, style));
  if (state.lastError !== undefined && !state.session.paused) lines.push(style.colors.red(`Last error: ${neutralize(state.lastError)}`));
  lines.push(`Status: ${state.session.paused ? style.colors.yellow('[Paused]') : STATUS_DESCRIPTIONS[state.status]}`);
  lines.push(...formatStagingProgress(state));
  return `${lines.join('\n')}\n`;
}

/** Name, identifier, labels (-l) and session configuration (-l). */
export function formatSessionHeader(state: SyncSessionState, style: ListStyle): string[] {
  const session = state.session;
  const lines: string[] = [];
  if (session.name !== '') lines.push(`Name: ${session.name}`);
  lines.push(`Identifier: ${session.id}`);
  const keys = Object.keys(session.labels).sort();
  if (style.long && keys.length > 0) {
    lines.push('Labels:');
    for (const key of keys) lines.push(`\t${key}: ${session.labels[key] === '' ? '<empty>' : session.labels[key] ?? ''}`);
  }
  if (style.long) lines.push('Configuration:', ...formatSessionConfiguration(session.configuration));
  return lines;
}

export function formatSessionConfiguration(c: SyncConfiguration): string[] {
  const lines = [
    `\tSynchronization mode: ${describeSetting(c.mode, 'two-way-safe', SYNC_MODE_DESCRIPTIONS)}`,
    `\tHashing algorithm: ${describeSetting(c.hash, 'sha1', HASH_DESCRIPTIONS)}`,
    `\tMaximum allowed entry count: ${c.maxEntryCount === undefined || c.maxEntryCount === 0 ? 'Default (2⁶⁴−1)' : String(c.maxEntryCount)}`,
    `\tMaximum staging file size: ${c.maxStagingFileSize === undefined || c.maxStagingFileSize === 0
      ? 'Default (18 EB)'
      : `${c.maxStagingFileSize} (${formatByteSize(c.maxStagingFileSize)})`}`,
    `\tSymbolic link mode: ${describeSetting(c.symlink.mode, 'portable', SYMLINK_DESCRIPTIONS)}`,
    `\tIgnore syntax: ${describeSetting(c.ignore.syntax, 'mutagen', IGNORE_SYNTAX_DESCRIPTIONS)}`,
  ];
  const ignores = c.ignore.paths ?? [];
  if (ignores.length === 0) lines.push('\tIgnores: None');
  else lines.push('\tIgnores:', ...ignores.map((pattern) => `\t\t${neutralize(pattern)}`));
  const vcs = c.ignore.vcs === undefined ? 'Default (Propagate)' : c.ignore.vcs ? 'Ignore' : 'Propagate';
  lines.push(`\tIgnore VCS mode: ${vcs}`);
  lines.push(`\tPermissions mode: ${describeSetting(c.permissions.mode, 'portable', PERMISSIONS_DESCRIPTIONS)}`);
  return lines;
}

function formatEndpointConfiguration(url: EndpointUrl, c: SyncConfiguration, localLink: boolean): string[] {
  const lines = [`\t\tWatch mode: ${describeSetting(c.watch.mode, 'portable', WATCH_DESCRIPTIONS)}`];
  if (c.watch.mode !== 'no-watch') {
    const interval = c.watch.pollingInterval;
    lines.push(`\t\tWatch polling interval: ${interval === undefined || interval === 0 ? 'Default (10 seconds)' : `${interval} seconds`}`);
  }
  const mode = (value: number | undefined, fallback: number): string =>
    value === undefined || value === 0 ? `Default (${formatOctalMode(fallback)})` : formatOctalMode(value);
  lines.push(
    `\t\tProbe mode: ${describeSetting(c.probeMode, 'probe', PROBE_DESCRIPTIONS)}`,
    `\t\tScan mode: ${describeSetting(c.scanMode, 'accelerated', SCAN_DESCRIPTIONS)}`,
    `\t\tStage mode: ${describeSetting(c.stageMode, 'mutagen', STAGE_DESCRIPTIONS)}`,
    `\t\tFile mode: ${mode(c.permissions.defaultFileMode, 0o600)}`,
    `\t\tDirectory mode: ${mode(c.permissions.defaultDirectoryMode, 0o700)}`,
    `\t\tDefault file/directory owner: ${c.permissions.defaultOwner ?? 'Default'}`,
    `\t\tDefault file/directory group: ${c.permissions.defaultGroup ?? 'Default'}`,
  );
  if (url.protocol !== 'local') lines.push(`\t\tCompression: ${describeCompression(c.compression.algorithm, localLink)}`);
  return lines;
}

/**
 * `Alpha:`/`Beta:` with URL and (-l) merged configuration; the live part only when `state` is
 * given. `localLink`: the endpoint's link never leaves this machine (see ListStyle.localLink).
 */
export function formatEndpointHeader(
  title: string, url: EndpointUrl, overrides: SyncConfiguration, session: SyncConfiguration, long: boolean, localLink = false,
): string[] {
  const lines = [`${title}:`, `\tURL: ${neutralize(formatUrl(url))}`];
  for (const [name, value] of Object.entries(url.environment ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`\t\t${name}=${neutralize(value)}`);
  }
  if (long) lines.push('\tConfiguration:', ...formatEndpointConfiguration(url, mergeSyncConfiguration(session, overrides), localLink));
  return lines;
}

function formatEndpoint(
  title: string, url: EndpointUrl, overrides: SyncConfiguration, state: SyncSessionState, side: 'alpha' | 'beta', style: ListStyle,
): string[] {
  const endpoint: EndpointState = state[side];
  const lines = formatEndpointHeader(title, url, overrides, state.session.configuration, style.long, style.localLink?.(url) ?? false);
  lines.push(`\tConnected: ${endpoint.connected ? 'Yes' : 'No'}`);
  if (!endpoint.connected) return lines;
  if (endpoint.scanned) {
    lines.push(
      '\tSynchronizable contents:',
      `\t\t${plural(endpoint.directories, 'directory', 'directories')}`,
      `\t\t${plural(endpoint.files, 'file', 'files')} (${formatByteSize(endpoint.totalFileSize)})`,
      `\t\t${plural(endpoint.symbolicLinks, 'symbolic link', 'symbolic links')}`,
    );
  }
  lines.push(...formatProblems('Scan problems', endpoint.scanProblems, endpoint.excludedScanProblems, style));
  lines.push(...formatProblems('Transition problems', endpoint.transitionProblems, endpoint.excludedTransitionProblems, style));
  return lines;
}

function formatProblems(title: string, problems: readonly Problem[], excluded: number, style: ListStyle): string[] {
  const total = problems.length + excluded;
  if (total === 0) return [];
  if (!style.long) return [style.colors.red(`\t${title}: ${total}`)];
  const lines = [style.colors.red(`\t${title}:`)];
  for (const problem of problems.slice(0, LISTED_LIMIT)) lines.push(style.colors.red(`\t\t${formatPath(problem.path)}: ${neutralize(problem.error)}`));
  const more = excluded + Math.max(0, problems.length - LISTED_LIMIT);
  if (more > 0) lines.push(style.colors.red(`\t\t...+${more} more...`));
  return lines;
}

function formatConflict(conflict: Conflict): string[] {
  const change = (side: string) => (c: Conflict['alphaChanges'][number]): string =>
    `\t${side} ${formatPath(c.path)} (${describeEntry(c.old)} -> ${describeEntry(c.new)})`;
  return [...conflict.alphaChanges.map(change('(alpha)')), ...conflict.betaChanges.map(change('(beta) '))];
}

function formatConflicts(state: SyncSessionState, style: ListStyle): string[] {
  if (state.session.paused) return [];
  const total = state.conflicts.length + state.excludedConflicts;
  if (total === 0) return [];
  if (!style.long) return [style.colors.red(`Conflicts: ${total}`)];
  const lines = [style.colors.red('Conflicts:')];
  state.conflicts.slice(0, LISTED_LIMIT).forEach((conflict, index) => {
    if (index > 0) lines.push('');
    lines.push(...formatConflict(conflict).map((line) => style.colors.red(line)));
  });
  const more = state.excludedConflicts + Math.max(0, state.conflicts.length - LISTED_LIMIT);
  if (more > 0) lines.push('', style.colors.red(`\t...+${more} more conflicts...`));
  return lines;
}

function formatStagingProgress(state: SyncSessionState): string[] {
  if (state.session.paused) return [];
  const side = state.status === 'staging-alpha' ? 'alpha' : state.status === 'staging-beta' ? 'beta' : undefined;
  const progress = side === undefined ? undefined : state[side].stagingProgress;
  if (progress === undefined) return [];
  const percent = progress.expectedFiles === 0 ? 0 : Math.floor((100 * progress.receivedFiles) / progress.expectedFiles);
  return [
    `Staging progress: ${progress.receivedFiles}/${progress.expectedFiles} - ${formatByteSize(progress.totalReceivedSize)} - ${percent}%`,
    `Current file: ${neutralize(progress.path)} (${formatByteSize(progress.receivedSize)}/${formatByteSize(progress.expectedSize)})`,
  ];
}
