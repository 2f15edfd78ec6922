import type { ForwardSessionRecord, ForwardSpec, SessionId, SyncSessionRecord, SyncSpec } from '../model/session.js';

/** `proj_…`: the identifier in `mutagen.yml.lock`, also the value of the project label. */
export type ProjectId = string;
/** A project session's identity: its kind and its name in the project file. */
export type SessionKey = `sync:${string}` | `forward:${string}`;
export type SessionSpec = SyncSpec | ForwardSpec;

/** Label that marks a session as belonging to a project (upstream's `io.mutagen.project`). */
export const PROJECT_LABEL = 'io.mutagen.project';
/** [ts] Label holding the spec hash a session was created or last updated with. */
export const SPEC_HASH_LABEL = 'io.mutagen.spec-hash';

/** A session found by label `io.mutagen.project=<id>`. */
export interface ObservedSession {
  readonly id: SessionId;
  readonly key: SessionKey;
  readonly spec: SessionSpec;
  readonly paused: boolean;
  /** Label `io.mutagen.spec-hash`; missing = made by another tool (upstream Mutagen): recreate. */
  readonly specHash: string | undefined;
}

export interface ObservedState {
  readonly projectId: ProjectId;
  readonly sessions: readonly ObservedSession[];
}

export function isSyncSpec(spec: SessionSpec): spec is SyncSpec {
  return 'alpha' in spec;
}

export function isSyncKey(key: SessionKey): key is `sync:${string}` {
  return key.startsWith('sync:');
}

/** The observed form of a sync session record as the daemon lists it. */
export function observeSyncSession(record: SyncSessionRecord): ObservedSession {
  const spec: SyncSpec = {
    name: record.name, labels: record.labels, alpha: record.alpha, beta: record.beta,
    configuration: record.configuration, configurationAlpha: record.configurationAlpha, configurationBeta: record.configurationBeta,
  };
  return { id: record.id, key: `sync:${record.name}`, spec, paused: record.paused, specHash: record.labels[SPEC_HASH_LABEL] };
}

/** The observed form of a forward session record as the daemon lists it. */
export function observeForwardSession(record: ForwardSessionRecord): ObservedSession {
  const spec: ForwardSpec = {
    name: record.name, labels: record.labels, source: record.source, destination: record.destination,
    configuration: record.configuration, configurationSource: record.configurationSource,
    configurationDestination: record.configurationDestination,
  };
  return { id: record.id, key: `forward:${record.name}`, spec, paused: record.paused, specHash: record.labels[SPEC_HASH_LABEL] };
}
