import type { SyncSessionState } from '../../model/session.js';
import { formatByteSize } from '../../model/values.js';
import { STATUS_DESCRIPTIONS } from './describe.js';
import { neutralize } from './output.js';
import { formatEndpointHeader, formatSessionHeader, type ListStyle } from './sync-list.js';

/** The header `sync monitor` prints once: the list layout without any live state. */
export function formatMonitorHeader(state: SyncSessionState, style: ListStyle): string {
  const session = state.session;
  const lines = [
    ...formatSessionHeader(state, style),
    ...formatEndpointHeader('Alpha', session.alpha, session.configurationAlpha, session.configuration, style.long, style.localLink?.(session.alpha) ?? false),
    ...formatEndpointHeader('Beta', session.beta, session.configurationBeta, session.configuration, style.long, style.localLink?.(session.beta) ?? false),
  ];
  return `${lines.join('\n')}\n`;
}

function basename(path: string): string {
  const slash = path.lastIndexOf('/');
  return path.slice(slash + 1);
}

/**
 * The one-line status of `sync monitor` (cli spec §2.3): `[Paused]`, or `[C] ` (conflicts),
 * `[!] ` (problems), `[X] ` (last error), then the status description, or while staging the
 * direction arrow and progress.
 */
export function formatMonitorStatus(state: SyncSessionState): string {
  if (state.session.paused) return '[Paused]';
  let line = '';
  if (state.conflicts.length + state.excludedConflicts > 0) line += '[C] ';
  const problems = [state.alpha, state.beta].some((e) =>
    e.scanProblems.length + e.excludedScanProblems + e.transitionProblems.length + e.excludedTransitionProblems > 0);
  if (problems) line += '[!] ';
  if (state.lastError !== undefined) line += '[X] ';
  const side = state.status === 'staging-alpha' ? 'alpha' : state.status === 'staging-beta' ? 'beta' : undefined;
  const progress = side === undefined ? undefined : state[side].stagingProgress;
  if (side === undefined || progress === undefined) return `${line}${STATUS_DESCRIPTIONS[state.status]}`;
  const arrow = side === 'alpha' ? '[←] ' : '[→] ';
  const percent = progress.expectedFiles === 0 ? 0 : Math.floor((100 * progress.receivedFiles) / progress.expectedFiles);
  return `${line}${arrow}[${progress.receivedFiles}/${progress.expectedFiles} - ${formatByteSize(progress.totalReceivedSize)} - ${percent}%] `
    + `${neutralize(basename(progress.path))} (${formatByteSize(progress.receivedSize)}/${formatByteSize(progress.expectedSize)})`;
}
