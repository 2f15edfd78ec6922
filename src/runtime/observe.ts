import { isAbortError, wrapError } from '../base/errors.js';
import type { ForwardSessionState, Selection, SyncSessionState } from '../model/session.js';
import { observeForwardSession, observeSyncSession, PROJECT_LABEL } from '../planner/observed.js';
import type { ObservedState, ProjectId } from '../planner/observed.js';
import type { ProjectDaemon } from './daemon-api.js';

/** What the daemon runs for one project: the planner's view and the live states for `list`. */
export interface ProjectSessions {
  readonly observed: ObservedState;
  readonly sync: readonly SyncSessionState[];
  readonly forward: readonly ForwardSessionState[];
}

/** The selection of every session of a project (cli spec §7.6): label `io.mutagen.project=<id>`. */
export function projectSelection(projectId: ProjectId): Selection {
  return { labelSelector: `${PROJECT_LABEL}=${projectId}` };
}

/**
 * Lists the sessions labelled with `projectId` (ARCHITECTURE §4.1 step 7), sync and forward in
 * parallel, oldest first as the daemon lists them. Rejects with the daemon's error, wrapped as
 * `unable to list <kind> sessions: …` (a daemon without forwarding answers MUTAGEN_UNSUPPORTED);
 * cancelled by `signal`.
 */
export async function observeProject(daemon: ProjectDaemon, projectId: ProjectId, signal: AbortSignal): Promise<ProjectSessions> {
  const selection = projectSelection(projectId);
  const listing = <T>(kind: string, call: Promise<T>): Promise<T> => call.catch((error: unknown) => {
    throw isAbortError(error) ? error : wrapError(`unable to list ${kind} sessions`, error);
  });
  const [sync, forward] = await Promise.all([
    listing('synchronization', daemon.call('sync.list', { selection }, { signal })),
    listing('forwarding', daemon.call('forward.list', { selection }, { signal })),
  ]);
  const sessions = [...forward.sessions.map((state) => observeForwardSession(state.session)), ...sync.sessions.map((state) => observeSyncSession(state.session))];
  return { observed: { projectId, sessions }, sync: sync.sessions, forward: forward.sessions };
}

/** An observed state with no sessions, for a project that is not running yet. */
export function emptyObservation(projectId: ProjectId): ProjectSessions {
  return { observed: { projectId, sessions: [] }, sync: [], forward: [] };
}
