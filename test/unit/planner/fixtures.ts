import { specHash } from '../../../src/config/hash.js';
import type { DesiredForwardSession, DesiredProject, DesiredSyncSession, Hooks } from '../../../src/config/project.js';
import { emptyForwardConfiguration, emptySyncConfiguration } from '../../../src/model/configuration.js';
import type { ForwardSpec, SyncSpec } from '../../../src/model/session.js';
import { PROJECT_LABEL, SPEC_HASH_LABEL } from '../../../src/planner/observed.js';
import type { ObservedSession } from '../../../src/planner/observed.js';

export const PROJECT_ID = 'proj_0000000000000000000000000000000000000000001';

export function syncSpec(name: string, change: (spec: SyncSpec) => SyncSpec = (spec) => spec): SyncSpec {
  return change({
    name,
    labels: {},
    alpha: { kind: 'sync', protocol: 'local', path: `/home/u/proj/${name}` },
    beta: { kind: 'sync', protocol: 'docker', host: 'app', path: `/srv/${name}`, environment: {} },
    configuration: emptySyncConfiguration(),
    configurationAlpha: emptySyncConfiguration(),
    configurationBeta: emptySyncConfiguration(),
  });
}

export function desiredSync(name: string, change?: (spec: SyncSpec) => SyncSpec, flushOnCreate = false): DesiredSyncSession {
  const spec = syncSpec(name, change);
  return { key: `sync:${name}`, name, spec, flushOnCreate, specHash: specHash(spec) };
}

export function desiredForward(name: string, change: (spec: ForwardSpec) => ForwardSpec = (spec) => spec): DesiredForwardSession {
  const spec = change({
    name,
    labels: {},
    source: { kind: 'forward', protocol: 'local', path: 'tcp:localhost:8080' },
    destination: { kind: 'forward', protocol: 'docker', host: 'app', path: 'tcp:localhost:80', environment: {} },
    configuration: emptyForwardConfiguration(),
    configurationSource: emptyForwardConfiguration(),
    configurationDestination: emptyForwardConfiguration(),
  });
  return { key: `forward:${name}`, name, spec, specHash: specHash(spec) };
}

const NO_HOOKS: Hooks = {
  beforeCreate: [], afterCreate: [], beforePause: [], afterPause: [],
  beforeResume: [], afterResume: [], beforeTerminate: [], afterTerminate: [],
};

export function project(parts: {
  sync?: DesiredSyncSession[];
  forward?: DesiredForwardSession[];
  hooks?: Partial<Hooks>;
  warnings?: string[];
}): DesiredProject {
  return {
    file: '/home/u/proj/mutagen.yml',
    directory: '/home/u/proj',
    sync: parts.sync ?? [],
    forward: parts.forward ?? [],
    hooks: { ...NO_HOOKS, ...parts.hooks },
    commands: {},
    warnings: parts.warnings ?? [],
  };
}

/**
 * A session the daemon reports, as `project start` created it from `from` (labels included).
 * `specHash: null` drops the hash label (a session made by another tool).
 */
export function observed(
  from: DesiredSyncSession | DesiredForwardSession,
  options: { id: string; paused?: boolean; specHash?: string | null },
): ObservedSession {
  const hash = options.specHash === null ? undefined : (options.specHash ?? from.specHash);
  const labels: Record<string, string> = { [PROJECT_LABEL]: PROJECT_ID, ...(hash === undefined ? {} : { [SPEC_HASH_LABEL]: hash }) };
  return { id: options.id, key: from.key, spec: { ...from.spec, labels }, paused: options.paused ?? false, specHash: hash };
}
