import type { DesiredForwardSession, DesiredProject, DesiredSyncSession, HookPhase } from '../config/project.js';
import type { SyncMode } from '../model/configuration.js';
import { diffForwardSpecs, diffSyncSpecs, effectiveMode } from './diff.js';
import type { SpecChange } from './diff.js';
import { PROJECT_LABEL, SPEC_HASH_LABEL, isSyncSpec } from './observed.js';
import type { ObservedSession, ObservedState, ProjectId, SessionKey, SessionSpec } from './observed.js';
import type { Action, Plan } from './plan.js';

/** What the user asked for: `project start` (with `--paused` or not). */
export interface Intent {
  readonly paused: boolean;
}

type Desired = DesiredSyncSession | DesiredForwardSession;

/**
 * Modes in which a session being recreated is flushed first, so changes it has seen but not yet
 * propagated are applied before its ancestor is dropped. Not in two-way-resolved or
 * one-way-replica: their flush resolves conflicts by overwriting beta, which is what a user
 * changing the mode or an endpoint may be moving away from; the new session's first cycle
 * reconciles whatever is pending instead.
 */
const FLUSH_FIRST_MODES: ReadonlySet<SyncMode> = new Set<SyncMode>(['two-way-safe', 'one-way-safe']);

function baseName(file: string): string {
  return file.split(/[\\/]/).pop() ?? file;
}

function labelled(desired: Desired, projectId: ProjectId): SessionSpec {
  const labels = { ...desired.spec.labels, [PROJECT_LABEL]: projectId, [SPEC_HASH_LABEL]: desired.specHash };
  return { ...desired.spec, labels };
}

function diff(observed: ObservedSession, desired: Desired): SpecChange[] {
  if (isSyncSpec(observed.spec) && isSyncSpec(desired.spec)) return diffSyncSpecs(observed.spec, desired.spec);
  if (!isSyncSpec(observed.spec) && !isSyncSpec(desired.spec)) return diffForwardSpecs(observed.spec, desired.spec);
  return [{ field: 'kind', recreate: true, description: 'session kind changed' }];
}

class Planner {
  readonly warnings: string[] = [];

  constructor(
    private readonly projectId: ProjectId,
    private readonly intent: Intent,
  ) {}

  /** keep, or the pause/resume that brings a kept or updated session to the intent. */
  private settle(observed: ObservedSession, key: SessionKey, kept: boolean): Action[] {
    const sessionId = observed.id;
    if (this.intent.paused && !observed.paused) return [{ kind: 'pause', key, sessionId, reason: 'project start --paused' }];
    if (!this.intent.paused && observed.paused) return [{ kind: 'resume', key, sessionId, reason: 'paused; project start resumes it' }];
    return kept ? [{ kind: 'keep', key, sessionId, reason: observed.paused ? 'up to date (paused)' : 'up to date' }] : [];
  }

  private flushOnCreate(desired: Desired): boolean {
    return 'flushOnCreate' in desired && desired.flushOnCreate && !this.intent.paused;
  }

  private create(desired: Desired): Action {
    const flushOnCreate = this.flushOnCreate(desired);
    const notes = [this.intent.paused ? 'paused (--paused)' : '', flushOnCreate ? 'flush on create' : ''].filter((note) => note !== '');
    const reason = ['not created yet', ...notes].join('; ');
    return { kind: 'create', key: desired.key, spec: labelled(desired, this.projectId), paused: this.intent.paused, flushOnCreate, reason };
  }

  private recreate(observed: ObservedSession, desired: Desired, why: string): Action {
    const safe = isSyncSpec(observed.spec) && FLUSH_FIRST_MODES.has(effectiveMode(observed.spec.configuration));
    const flushFirst = safe && !observed.paused;
    if (safe && observed.paused) {
      this.warnings.push(`${desired.key} is paused, so it is recreated without a final flush; changes it has not synchronized yet are reconciled by the new session`);
    }
    const notes = [why, flushFirst ? 'flush first' : '', this.flushOnCreate(desired) ? 'flush on create' : ''];
    return {
      kind: 'recreate',
      key: desired.key,
      sessionId: observed.id,
      spec: labelled(desired, this.projectId),
      paused: this.intent.paused,
      flushFirst,
      flushOnCreate: this.flushOnCreate(desired),
      reason: notes.filter((note) => note !== '').join('; '),
    };
  }

  /** The actions that converge one desired session, given the session found for its key. */
  session(desired: Desired, observed: ObservedSession | undefined): Action[] {
    if (observed === undefined) return [this.create(desired)];
    if (observed.specHash === undefined) {
      return [this.recreate(observed, desired, 'no spec-hash label (created by another tool or by upstream Mutagen)')];
    }
    if (observed.specHash === desired.specHash) return this.settle(observed, desired.key, true);
    const changes = diff(observed, desired);
    const recreating = changes.filter((change) => change.recreate);
    if (recreating.length > 0) return [this.recreate(observed, desired, recreating.map((change) => change.description).join('; '))];
    const rescan = changes.some((change) => change.field.startsWith('ignore.'));
    const reason = changes.length === 0
      ? `spec-hash label out of date (${observed.specHash} → ${desired.specHash})`
      : [...changes.map((change) => change.description), ...(rescan ? ['rescan'] : [])].join('; ');
    const changed = changes.length === 0 ? ['labels'] : changes.map((change) => change.field);
    const update: Action = { kind: 'update', key: desired.key, sessionId: observed.id, spec: labelled(desired, this.projectId), changed, reason };
    return [update, ...this.settle(observed, desired.key, false)];
  }
}

function compareKeys(a: ObservedSession, b: ObservedSession): number {
  const kind = (session: ObservedSession): number => (isSyncSpec(session.spec) ? 1 : 0);
  return kind(a) - kind(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Pairs each desired session with one observed session; the rest are terminated. */
function match(desired: readonly Desired[], observed: readonly ObservedSession[], file: string): { pairs: Map<SessionKey, ObservedSession>; terminations: Action[] } {
  const pairs = new Map<SessionKey, ObservedSession>();
  for (const session of desired) {
    const candidates = observed.filter((found) => found.key === session.key);
    const chosen = candidates.find((found) => found.specHash === session.specHash) ?? candidates[0];
    if (chosen !== undefined) pairs.set(session.key, chosen);
  }
  const used = new Set([...pairs.values()].map((session) => session.id));
  const wanted = new Set(desired.map((session) => session.key));
  const terminations: Action[] = [...observed]
    .filter((session) => !used.has(session.id))
    .sort(compareKeys)
    .map((session) => ({
      kind: 'terminate',
      key: session.key,
      sessionId: session.id,
      reason: wanted.has(session.key) ? `duplicate of ${pairs.get(session.key)?.id ?? 'another session'}` : `no longer in ${file}`,
    }));
  return { pairs, terminations };
}

function hook(desired: DesiredProject, phase: HookPhase, when: boolean, reason: string): Action[] {
  const commands = desired.hooks[phase];
  return when && commands.length > 0 ? [{ kind: 'hook', phase, commands: [...commands], reason }] : [];
}

/**
 * Decides what `project start` does (pure and deterministic; ARCHITECTURE §4.1, §5). Each
 * session of the file is matched by key (`sync:<name>`, `forward:<name>`) with the sessions found
 * by project label. Same spec hash → keep. Missing hash label → recreate. Otherwise the specs are
 * diffed: a change of URL, mode, hash algorithm, symlink mode or permissions mode recreates the
 * session (flushing it first in safe modes); any other change (ignores and ignore syntax, then a
 * rescan; watch, probe, scan, stage, permission defaults, limits, compression, labels) is an
 * in-place update that keeps the ancestor. Sessions no longer in the file are terminated.
 * Run order: beforeCreate hooks (when something is created, or nothing ran yet) → terminations →
 * before{Pause,Resume} hooks → forward sessions → sync sessions (file order) → after hooks →
 * afterCreate hooks.
 */
export function planProject(desired: DesiredProject, observed: ObservedState, intent: Intent): Plan {
  const planner = new Planner(observed.projectId, intent);
  const sessions: Desired[] = [...desired.forward, ...desired.sync];
  const { pairs, terminations } = match(sessions, observed.sessions, baseName(desired.file));
  const steps = sessions.flatMap((session) => planner.session(session, pairs.get(session.key)));
  const creating = steps.filter((step) => step.kind === 'create' || step.kind === 'recreate').length;
  const fresh = observed.sessions.length === 0;
  const createReason = fresh ? 'project start' : `${creating} session${creating === 1 ? '' : 's'} to create`;
  const pausing = steps.some((step) => step.kind === 'pause');
  const resuming = steps.some((step) => step.kind === 'resume');
  const actions: Action[] = [
    ...hook(desired, 'beforeCreate', fresh || creating > 0, createReason),
    ...terminations,
    ...hook(desired, 'beforePause', pausing, 'sessions to pause'),
    ...hook(desired, 'beforeResume', resuming, 'sessions to resume'),
    ...steps,
    ...hook(desired, 'afterPause', pausing, 'sessions paused'),
    ...hook(desired, 'afterResume', resuming, 'sessions resumed'),
    ...hook(desired, 'afterCreate', fresh || creating > 0, createReason),
  ];
  return { projectId: observed.projectId, actions, warnings: [...desired.warnings, ...planner.warnings] };
}
