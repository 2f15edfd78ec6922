import { mergeForwardConfiguration, type ForwardConfiguration } from '../../model/configuration.js';
import type { ForwardSessionState, ForwardStatus } from '../../model/session.js';
import type { EndpointUrl } from '../../model/url.js';
import { formatByteSize, formatOctalMode } from '../../model/values.js';
import { formatUrl } from '../../url/format.js';
import { neutralize } from './output.js';
import { DELIMITER, type ListStyle } from './sync-list.js';

/** Status descriptions of forward sessions (cli spec §2.5). */
export const FORWARD_STATUS_DESCRIPTIONS: Readonly<Record<ForwardStatus, string>> = {
  disconnected: 'Disconnected',
  'connecting-source': 'Connecting to source',
  'connecting-destination': 'Connecting to destination',
  forwarding: 'Forwarding',
};

/** Built-in socket defaults shown after `Default (…)` (cli spec §5.2). */
const DEFAULT_PERMISSION_MODE = 0o600;

/** The human form of `forward list` (cli spec §2.5): delimiter-separated blocks, oldest first. */
export function formatForwardList(states: readonly ForwardSessionState[], style: ListStyle): string {
  if (states.length === 0) return `${DELIMITER}\nNo forwarding sessions found\n${DELIMITER}\n`;
  let text = '';
  for (const state of states) text += `${DELIMITER}\n${formatForwardSession(state, style)}`;
  return `${text}${DELIMITER}\n`;
}

/** One session of `forward list`: header, both endpoints, last error, status and counters. */
export function formatForwardSession(state: ForwardSessionState, style: ListStyle): string {
  const session = state.session;
  const lines = [
    ...forwardHeader(state, style),
    ...forwardEndpoint('Source', session.source, session.configurationSource, session.configuration, style.long),
    `\tConnected: ${state.sourceConnected ? 'Yes' : 'No'}`,
    ...forwardEndpoint('Destination', session.destination, session.configurationDestination, session.configuration, style.long),
    `\tConnected: ${state.destinationConnected ? 'Yes' : 'No'}`,
  ];
  if (state.lastError !== undefined && !session.paused) lines.push(style.colors.red(`Last error: ${neutralize(state.lastError)}`));
  lines.push(`Status: ${session.paused ? style.colors.yellow('[Paused]') : FORWARD_STATUS_DESCRIPTIONS[state.status]}`);
  if (!session.paused && state.status === 'forwarding') lines.push(`Connections: ${formatCounters(state)}`);
  return `${lines.join('\n')}\n`;
}

/** The header `forward monitor` prints once: the list layout without any live state. */
export function formatForwardMonitorHeader(state: ForwardSessionState, style: ListStyle): string {
  const session = state.session;
  const lines = [
    ...forwardHeader(state, style),
    ...forwardEndpoint('Source', session.source, session.configurationSource, session.configuration, style.long),
    ...forwardEndpoint('Destination', session.destination, session.configurationDestination, session.configuration, style.long),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The one-line status of `forward monitor` (cli spec §2.5): `[Paused]`, or `[X] ` (last error)
 * and the status description, and while forwarding `: <open> open, <total> total, <out>
 * outbound, <in> inbound` ([ts] `, <n> dropped` when connections were dropped).
 */
export function formatForwardMonitorStatus(state: ForwardSessionState): string {
  if (state.session.paused) return '[Paused]';
  const error = state.lastError === undefined ? '' : '[X] ';
  const counters = state.status === 'forwarding' ? `: ${formatCounters(state)}` : '';
  return `${error}${FORWARD_STATUS_DESCRIPTIONS[state.status]}${counters}`;
}

/** `<open> open, <total> total, <size> outbound, <size> inbound[, <n> dropped]`. */
function formatCounters(state: ForwardSessionState): string {
  const dropped = state.droppedConnections > 0 ? `, ${state.droppedConnections} dropped` : '';
  return `${state.openConnections} open, ${state.totalConnections} total, `
    + `${formatByteSize(state.totalOutboundData)} outbound, ${formatByteSize(state.totalInboundData)} inbound${dropped}`;
}

/** Name, identifier and (-l) labels. */
function forwardHeader(state: ForwardSessionState, style: ListStyle): string[] {
  const session = state.session;
  const lines: string[] = [];
  if (session.name !== '') lines.push(`Name: ${session.name}`);
  lines.push(`Identifier: ${session.id}`);
  const keys = Object.keys(session.labels).sort();
  if (style.long && keys.length > 0) {
    lines.push('Labels:');
    for (const key of keys) lines.push(`\t${key}: ${session.labels[key] === '' ? '<empty>' : session.labels[key] ?? ''}`);
  }
  return lines;
}

/** `Source:`/`Destination:` with the URL, captured Docker variables and (-l) the merged socket settings. */
function forwardEndpoint(title: string, url: EndpointUrl, overrides: ForwardConfiguration, session: ForwardConfiguration, long: boolean): string[] {
  const lines = [`${title}:`, `\tURL: ${neutralize(formatUrl(url))}`];
  for (const [name, value] of Object.entries(url.environment ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`\t\t${name}=${neutralize(value)}`);
  }
  if (long) lines.push('\tConfiguration:', ...formatSocketConfiguration(mergeForwardConfiguration(session, overrides)));
  return lines;
}

/** The four socket settings of cli spec §5.2, `Default (…)` where unset. */
export function formatSocketConfiguration(configuration: ForwardConfiguration): string[] {
  const socket = configuration.socket;
  const overwrite = socket.overwriteMode === undefined ? 'Default (Leave)' : socket.overwriteMode === 'overwrite' ? 'Overwrite' : 'Leave';
  const permission = socket.permissionMode === undefined || socket.permissionMode === 0
    ? `Default (${formatOctalMode(DEFAULT_PERMISSION_MODE)})`
    : formatOctalMode(socket.permissionMode);
  return [
    `\t\tSocket overwrite mode: ${overwrite}`,
    `\t\tSocket owner: ${socket.owner === undefined ? 'Default' : neutralize(socket.owner)}`,
    `\t\tSocket group: ${socket.group === undefined ? 'Default' : neutralize(socket.group)}`,
    `\t\tSocket permission mode: ${permission}`,
  ];
}
