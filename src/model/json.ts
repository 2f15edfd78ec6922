import type { ForwardConfiguration, SyncConfiguration } from './configuration.js';
import type { Change, Conflict, Entry, Problem } from './entry.js';
import { comparePaths, digestHex } from './entry.js';
import type { EndpointState, ForwardSessionRecord, ForwardSessionState, SyncSessionRecord, SyncSessionState } from './session.js';
import type { EndpointUrl } from './url.js';
import { formatOctalMode } from './values.js';

// The JSON model of `list --json` (cli spec §6). Key order follows upstream; "omit-if-empty"
// keys are left out when zero, false, empty or unset.

type Json = Record<string, unknown>;

/** Listed items are capped at this many; the rest is counted in the `excluded…` keys. */
const LIST_LIMIT = 10;

function setIf(target: Json, key: string, value: unknown): void {
  if (value === undefined || value === '' || value === 0 || value === false) return;
  if (Array.isArray(value) && value.length === 0) return;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0) return;
  target[key] = value;
}

function defined(values: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key] = value;
  return out;
}

function modeString(mode: number | undefined): string | undefined {
  return mode === undefined || mode === 0 ? undefined : formatOctalMode(mode);
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === '' ? undefined : text;
}

function nonZero(value: number | undefined): number | undefined {
  return value === 0 ? undefined : value;
}

/**
 * Session- or endpoint-level configuration (§6.3): scalars omit-if-unset, then the always-present
 * objects `ignore`, `symlink`, `watch`, `permissions`, `compression` with omit-if-unset members.
 */
export function configurationToJson(c: SyncConfiguration): Record<string, unknown> {
  const paths = c.ignore.paths !== undefined && c.ignore.paths.length > 0 ? [...c.ignore.paths] : undefined;
  return defined({
    mode: c.mode,
    hash: c.hash,
    maxEntryCount: nonZero(c.maxEntryCount),
    maxStagingFileSize: nonZero(c.maxStagingFileSize),
    probeMode: c.probeMode,
    scanMode: c.scanMode,
    stageMode: c.stageMode,
    ignore: defined({ syntax: c.ignore.syntax, paths, vcs: c.ignore.vcs }),
    symlink: defined({ mode: c.symlink.mode }),
    watch: defined({ mode: c.watch.mode, pollingInterval: nonZero(c.watch.pollingInterval) }),
    permissions: defined({
      mode: c.permissions.mode,
      defaultFileMode: modeString(c.permissions.defaultFileMode),
      defaultDirectoryMode: modeString(c.permissions.defaultDirectoryMode),
      defaultOwner: nonEmpty(c.permissions.defaultOwner),
      defaultGroup: nonEmpty(c.permissions.defaultGroup),
    }),
    compression: defined({ algorithm: c.compression.algorithm }),
  });
}

/** Forward configuration (§6.6): `socket` {overwriteMode?, owner?, group?, permissionMode?}. */
export function forwardConfigurationToJson(c: ForwardConfiguration): Record<string, unknown> {
  return {
    socket: defined({
      overwriteMode: c.socket.overwriteMode,
      owner: nonEmpty(c.socket.owner),
      group: nonEmpty(c.socket.group),
      permissionMode: modeString(c.socket.permissionMode),
    }),
  };
}

/** protocol, user?, host?, port?, <pathKey>, environment?, parameters? */
function urlToJson(url: EndpointUrl, pathKey: 'path' | 'endpoint'): Json {
  const out: Json = { protocol: url.protocol };
  setIf(out, 'user', url.user);
  setIf(out, 'host', url.host);
  setIf(out, 'port', url.port);
  out[pathKey] = url.path;
  setIf(out, 'environment', url.environment);
  setIf(out, 'parameters', url.parameters);
  return out;
}

/** Conflict entries are slim: directories carry `"contents": null`, never children (§6.4). */
export function entryToJson(entry: Entry | undefined): Json | null {
  if (entry === undefined) return null;
  switch (entry.kind) {
    case 'directory': return { kind: 'directory', contents: null };
    case 'phantom-directory': return { kind: 'phantom-directory' };
    case 'file': return entry.executable ? { kind: 'file', digest: digestHex(entry.digest), executable: true } : { kind: 'file', digest: digestHex(entry.digest) };
    case 'symlink': return { kind: 'symlink', target: entry.target };
    case 'untracked': return { kind: 'untracked' };
    case 'problematic': return { kind: 'problematic', problem: entry.problem };
  }
}

function changeToJson(change: Change): Json {
  return { path: change.path, old: entryToJson(change.old), new: entryToJson(change.new) };
}

function conflictToJson(conflict: Conflict): Json {
  return { root: conflict.root, alphaChanges: conflict.alphaChanges.map(changeToJson), betaChanges: conflict.betaChanges.map(changeToJson) };
}

/** Sorted with `compare`, first `LIST_LIMIT` kept; `excluded` counts the rest plus `alreadyExcluded`. */
function limited<T>(items: readonly T[], compare: (a: T, b: T) => number, alreadyExcluded: number): { listed: T[]; excluded: number } {
  const sorted = [...items].sort(compare);
  return { listed: sorted.slice(0, LIST_LIMIT), excluded: alreadyExcluded + Math.max(0, sorted.length - LIST_LIMIT) };
}

function problemsToJson(out: Json, key: string, problems: readonly Problem[], excluded: number): void {
  const { listed, excluded: total } = limited(problems, (a, b) => comparePaths(a.path, b.path), excluded);
  setIf(out, key, listed.map((problem) => ({ path: problem.path, error: problem.error })));
  setIf(out, `excluded${key[0]?.toUpperCase() ?? ''}${key.slice(1)}`, total);
}

function syncEndpointToJson(url: EndpointUrl, configuration: SyncConfiguration, state: EndpointState): Json {
  const out: Json = { ...urlToJson(url, 'path'), ...configurationToJson(configuration), connected: state.connected };
  if (!state.connected) return out;
  out['scanned'] = state.scanned;
  setIf(out, 'directories', state.directories);
  setIf(out, 'files', state.files);
  setIf(out, 'symbolicLinks', state.symbolicLinks);
  setIf(out, 'totalFileSize', state.totalFileSize);
  problemsToJson(out, 'scanProblems', state.scanProblems, state.excludedScanProblems);
  problemsToJson(out, 'transitionProblems', state.transitionProblems, state.excludedTransitionProblems);
  if (state.stagingProgress !== undefined) {
    const progress = state.stagingProgress;
    out['stagingProgress'] = {
      path: progress.path,
      receivedSize: progress.receivedSize,
      expectedSize: progress.expectedSize,
      receivedFiles: progress.receivedFiles,
      expectedFiles: progress.expectedFiles,
      totalReceivedSize: progress.totalReceivedSize,
    };
  }
  return out;
}

/** RFC 3339 with the fraction's trailing zeros trimmed (`….120Z` → `….12Z`, `….000Z` → `…Z`). */
export function formatCreationTime(time: string): string {
  return time.replace(/\.([0-9]+)Z$/, (_match, fraction: string) => {
    const trimmed = fraction.replace(/0+$/, '');
    return trimmed === '' ? 'Z' : `.${trimmed}Z`;
  });
}

/** The keys every session's JSON starts with, in their order. */
function sessionHeadToJson(session: SyncSessionRecord | ForwardSessionRecord): Json {
  return {
    identifier: session.id,
    version: session.version,
    creationTime: formatCreationTime(session.createdAt),
    creatingVersion: session.creatingVersion,
  };
}

/** The keys that follow a session's endpoints and configuration, in their order. */
function setSessionTail(out: Json, session: SyncSessionRecord | ForwardSessionRecord, status: string): void {
  setIf(out, 'name', session.name);
  setIf(out, 'labels', session.labels);
  out['paused'] = session.paused;
  out['status'] = status;
}

/** One element of `sync list --json` (§6.1). Paused sessions carry no run-time state keys. */
export function syncSessionToJson(state: SyncSessionState): Record<string, unknown> {
  const session = state.session;
  const out: Json = {
    ...sessionHeadToJson(session),
    alpha: syncEndpointToJson(session.alpha, session.configurationAlpha, state.alpha),
    beta: syncEndpointToJson(session.beta, session.configurationBeta, state.beta),
    ...configurationToJson(session.configuration),
  };
  setSessionTail(out, session, state.status);
  if (session.paused) return out;
  setIf(out, 'lastError', state.lastError);
  setIf(out, 'successfulCycles', state.successfulCycles);
  const { listed, excluded } = limited(state.conflicts, (a, b) => comparePaths(a.root, b.root), state.excludedConflicts);
  setIf(out, 'conflicts', listed.map(conflictToJson));
  setIf(out, 'excludedConflicts', excluded);
  return out;
}

function forwardEndpointToJson(url: EndpointUrl, configuration: ForwardConfiguration, connected: boolean): Json {
  return { ...urlToJson(url, 'endpoint'), ...forwardConfigurationToJson(configuration), connected };
}

/**
 * One element of `forward list --json` (§6.6). Counters are present only when not paused;
 * `droppedConnections` is a [ts] extension.
 */
export function forwardSessionToJson(state: ForwardSessionState): Record<string, unknown> {
  const session = state.session;
  const out: Json = {
    ...sessionHeadToJson(session),
    source: forwardEndpointToJson(session.source, session.configurationSource, state.sourceConnected),
    destination: forwardEndpointToJson(session.destination, session.configurationDestination, state.destinationConnected),
    ...forwardConfigurationToJson(session.configuration),
  };
  setSessionTail(out, session, state.status);
  if (session.paused) return out;
  setIf(out, 'lastError', state.lastError);
  out['openConnections'] = state.openConnections;
  out['totalConnections'] = state.totalConnections;
  out['totalOutboundData'] = state.totalOutboundData;
  out['totalInboundData'] = state.totalInboundData;
  out['droppedConnections'] = state.droppedConnections;
  return out;
}
