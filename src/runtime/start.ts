import type { DesiredProject } from '../config/project.js';
import { newIdentifier } from '../model/identifier.js';
import type { ProjectId } from '../planner/observed.js';
import { planProject } from '../planner/plan-project.js';
import type { Plan } from '../planner/plan.js';
import { applyPlan } from './apply.js';
import { acquireProjectLock } from './lock.js';
import type { ProjectLock } from './lock.js';
import { emptyObservation, observeProject } from './observe.js';
import type { ProjectSessions } from './observe.js';
import type { RunResult } from './progress.js';
import { loadProjectFile, resolveProjectFile } from './project.js';
import type { ProjectConnection, ProjectEnvironment } from './project.js';

export interface StartOptions {
  /** `--paused`: sessions are created (or brought) paused; flushOnCreate is ignored. */
  readonly paused: boolean;
  /** `--dry-run`: plan and return; nothing is changed (no lock content, no session, no hook). */
  readonly dryRun: boolean;
  /** Called with the plan before anything is applied (renderers print it). */
  readonly onPlan?: (plan: Plan, project: DesiredProject) => void | Promise<void>;
  /** Concurrent session actions per step. */
  readonly concurrency?: number;
}

export type StartOutcome =
  | {
      readonly kind: 'dry-run';
      readonly file: string;
      readonly plan: Plan;
      readonly project: DesiredProject;
      /** Whether the plan is against running sessions (false: the project would start fresh). */
      readonly running: boolean;
    }
  | {
      readonly kind: 'applied';
      readonly file: string;
      readonly plan: Plan;
      readonly project: DesiredProject;
      readonly result: RunResult;
      /** true when this start wrote a new project identifier (first start, or a stale lock replaced). */
      readonly fresh: boolean;
    };

/** Deletes a lock file this start made or found empty, when it fails before reaching the daemon (§7.5). */
async function forget(lock: ProjectLock): Promise<void> {
  if (lock.projectId === undefined) await lock.remove();
}

async function load(file: string, environment: ProjectEnvironment, lock: ProjectLock): Promise<DesiredProject> {
  try {
    return loadProjectFile(file, environment);
  } catch (error) {
    await forget(lock);
    throw error;
  }
}

async function connect(environment: ProjectEnvironment, lock: ProjectLock): Promise<ProjectConnection> {
  try {
    return await environment.connect();
  } catch (error) {
    await forget(lock);
    throw error;
  }
}

/**
 * The project's sessions, or none: an identifier whose sessions are all gone is stale
 * (ARCHITECTURE §4.1 step 5) and is replaced by a fresh one.
 */
async function observe(daemon: ProjectConnection, lockId: ProjectId | undefined, signal: AbortSignal): Promise<{ id: ProjectId; fresh: boolean; sessions: ProjectSessions }> {
  if (lockId !== undefined) {
    const sessions = await observeProject(daemon, lockId, signal);
    if (sessions.observed.sessions.length > 0) return { id: lockId, fresh: false, sessions };
  }
  const id = newIdentifier('proj');
  return { id, fresh: true, sessions: emptyObservation(id) };
}

async function dryRunWithoutDaemon(file: string, project: DesiredProject, lock: ProjectLock, options: StartOptions): Promise<StartOutcome> {
  const plan = planProject(project, emptyObservation(newIdentifier('proj')).observed, { paused: options.paused });
  if (!lock.existed) await lock.remove();
  return { kind: 'dry-run', file, plan, project, running: false };
}

/**
 * `mutagen project start` (cli spec §7.7 with the [ts] convergence of ARCHITECTURE §4.1): lock →
 * load and validate (nothing else runs on a bad file) → connect → observe by project label →
 * plan → (`--dry-run`: return the plan, change nothing) → store the identifier → apply. Starting
 * a running project converges it to the edited file. Failing before the daemon is reached
 * deletes a lock this start created; afterwards the lock stays (the next `start` or `terminate`
 * repairs a partial run, whose result lists what was applied). Throws for a bad file, lock or
 * connection; a failed action is in `result.failures`.
 */
export async function startProject(environment: ProjectEnvironment, options: StartOptions): Promise<StartOutcome> {
  const file = resolveProjectFile(environment);
  const lock = await acquireProjectLock(file, { signal: environment.signal, ...(environment.onWait === undefined ? {} : { onWait: environment.onWait }) });
  try {
    const project = await load(file, environment, lock);
    // With no identifier there is nothing to observe: a dry run need not start the daemon.
    if (options.dryRun && lock.projectId === undefined) return await dryRunWithoutDaemon(file, project, lock, options);
    const daemon = await connect(environment, lock);
    try {
      const { id, fresh, sessions } = await observe(daemon, lock.projectId, environment.signal);
      const plan = planProject(project, sessions.observed, { paused: options.paused });
      if (options.dryRun) return { kind: 'dry-run', file, plan, project, running: !fresh };
      if (fresh) await lock.write(id);
      await options.onPlan?.(plan, project);
      const result = await applyPlan(plan, {
        daemon,
        ...(environment.prompter === undefined ? {} : { prompter: environment.prompter }),
        sink: environment.sink,
        signal: environment.signal,
        hooks: { cwd: project.directory, env: environment.env, io: environment.hookIo },
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      });
      return { kind: 'applied', file, plan, project, result, fresh };
    } finally {
      daemon.close();
    }
  } finally {
    await lock.release();
  }
}
