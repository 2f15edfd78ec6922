import { assertNever } from '../base/errors.js';
import type { SyncConfiguration, SyncMode } from '../model/configuration.js';
import type { ForwardSpec, SyncSpec } from '../model/session.js';
import type { EndpointUrl } from '../model/url.js';

/** One difference between an observed spec and the desired one. */
export interface SpecChange {
  /** Dotted field path, e.g. `beta`, `mode`, `configurationBeta.permissions.defaultOwner`. */
  readonly field: string;
  /** true = cannot be applied in place: the session is recreated (and loses its ancestor). */
  readonly recreate: boolean;
  readonly description: string;
}

/**
 * Settings whose change recreates a sync session, with their built-in defaults (compared by
 * effective value, so `mode` unset and `mode: two-way-safe` are the same). The ancestor is only
 * meaningful under them: its digests come from the hash algorithm; reconciliation follows the
 * mode; its symlink entries were recorded under the symlink mode (switching to `ignore` would read
 * every link as deleted); its executable bits under the permissions mode (`manual` records none).
 * Ignore syntax is NOT here: it only changes which paths are ignored, like editing the patterns,
 * which is applied in place with a rescan.
 */
const RECREATE_DEFAULTS: Readonly<Record<string, string>> = {
  mode: 'two-way-safe',
  hash: 'sha1',
  'symlink.mode': 'portable',
  'permissions.mode': 'portable',
};

const OCTAL_FIELDS = new Set(['permissions.defaultFileMode', 'permissions.defaultDirectoryMode', 'socket.permissionMode']);

/** Structural equality for JSON-like values (key order ignored, undefined keys ignored). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => sameValue(item, b[index]));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const left = Object.entries(a).filter(([, value]) => value !== undefined);
  const right = new Map(Object.entries(b).filter(([, value]) => value !== undefined));
  return left.length === right.size && left.every(([key, value]) => right.has(key) && sameValue(value, right.get(key)));
}

/** Display form of a URL (cli spec §4.2), without captured Docker variables. */
export function describeUrl(url: EndpointUrl): string {
  const user = url.user === undefined || url.user === '' ? '' : `${url.user}@`;
  const host = url.host ?? '';
  switch (url.protocol) {
    case 'local':
      return url.path;
    case 'ssh': {
      const port = url.port === undefined || url.port === 0 ? '' : `:${url.port}`;
      return `${user}${host.includes(':') ? `[${host}]` : host}${port}:${url.path}`;
    }
    case 'docker':
      if (url.kind === 'forward') return `docker://${user}${host}:${url.path}`;
      return `docker://${user}${host}${url.path.startsWith('/') ? '' : '/'}${url.path}`;
    default:
      return assertNever(url.protocol, 'URL protocol');
  }
}

function changedKeys(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): string[] {
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
  return [...keys].filter((key) => a?.[key] !== b?.[key]).sort();
}

/** Unset and empty are the same in a URL (an empty environment, user "", port 0 = default). */
function normalUrl(url: EndpointUrl): Record<string, unknown> {
  return Object.fromEntries(Object.entries(url).filter(([, value]) => !isUnset(value)));
}

function urlChange(side: string, observed: EndpointUrl, desired: EndpointUrl): SpecChange | undefined {
  if (sameValue(normalUrl(observed), normalUrl(desired))) return undefined;
  const before = describeUrl(observed);
  const after = describeUrl(desired);
  if (before !== after) return { field: side, recreate: true, description: `${side} URL changed ${before} → ${after}` };
  const variables = [...changedKeys(observed.environment, desired.environment), ...changedKeys(observed.parameters, desired.parameters)];
  return { field: side, recreate: true, description: `${side} URL ${after} changed its Docker environment (${variables.join(', ')})` };
}

/** Stored configurations and URLs treat these as "not set" (cli spec §5.3 merge rule). */
function isUnset(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/** Set leaf settings of a configuration: `mode`, `ignore.paths`, `permissions.defaultOwner`, … */
function leaves(configuration: object, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, value] of Object.entries(configuration) as [string, unknown][]) {
    if (isUnset(value)) continue;
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [inner, leaf] of leaves(value, path)) out.set(inner, leaf);
    } else out.set(path, value);
  }
  return out;
}

function show(field: string, value: unknown): string {
  if (value === undefined) return 'unset';
  if (typeof value === 'number' && OCTAL_FIELDS.has(field)) return `0${value.toString(8)}`;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function listChange(before: unknown, after: unknown): string {
  const old = Array.isArray(before) ? before.map(String) : [];
  const now = Array.isArray(after) ? after.map(String) : [];
  const added = now.filter((item) => !old.includes(item)).map((item) => `+${item}`);
  const removed = old.filter((item) => !now.includes(item)).map((item) => `-${item}`);
  const parts = [...added, ...removed];
  return parts.length === 0 ? 'reordered' : `(${parts.join(', ')})`;
}

function configurationChanges(observed: object, desired: object, prefix: string, sessionLevel: boolean): SpecChange[] {
  const before = leaves(observed);
  const after = leaves(desired);
  const fields = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changes: SpecChange[] = [];
  for (const field of fields) {
    const old = before.get(field);
    const now = after.get(field);
    if (sameValue(old, now)) continue;
    const name = prefix === '' ? field : `${prefix}.${field}`;
    const fallback = sessionLevel ? RECREATE_DEFAULTS[field] : undefined;
    if (fallback !== undefined && (old ?? fallback) !== (now ?? fallback)) {
      changes.push({ field: name, recreate: true, description: `${name} changed ${show(field, old ?? fallback)} → ${show(field, now ?? fallback)}` });
    } else if (Array.isArray(old) || Array.isArray(now)) {
      changes.push({ field: name, recreate: false, description: `${name} ${listChange(old, now)}` });
    } else {
      changes.push({ field: name, recreate: false, description: `${name} ${show(field, old)} → ${show(field, now)}` });
    }
  }
  return changes;
}

function compact(changes: readonly (SpecChange | undefined)[]): SpecChange[] {
  return changes.filter((change): change is SpecChange => change !== undefined);
}

/** What differs between a running sync session and the desired spec (labels aside). */
export function diffSyncSpecs(observed: SyncSpec, desired: SyncSpec): SpecChange[] {
  return compact([
    urlChange('alpha', observed.alpha, desired.alpha),
    urlChange('beta', observed.beta, desired.beta),
    ...configurationChanges(observed.configuration, desired.configuration, '', true),
    ...configurationChanges(observed.configurationAlpha, desired.configurationAlpha, 'configurationAlpha', false),
    ...configurationChanges(observed.configurationBeta, desired.configurationBeta, 'configurationBeta', false),
  ]);
}

/** What differs between a running forward session and the desired spec (labels aside). */
export function diffForwardSpecs(observed: ForwardSpec, desired: ForwardSpec): SpecChange[] {
  return compact([
    urlChange('source', observed.source, desired.source),
    urlChange('destination', observed.destination, desired.destination),
    ...configurationChanges(observed.configuration, desired.configuration, '', false),
    ...configurationChanges(observed.configurationSource, desired.configurationSource, 'configurationSource', false),
    ...configurationChanges(observed.configurationDestination, desired.configurationDestination, 'configurationDestination', false),
  ]);
}

/** The effective synchronization mode of a stored configuration. */
export function effectiveMode(configuration: SyncConfiguration): SyncMode {
  return configuration.mode ?? 'two-way-safe';
}
