import { MutagenError } from '../base/errors.js';
import type { ForwardSessionState, Selection, SyncSessionState } from '../model/session.js';
import { observeForwardSession, observeSyncSession, PROJECT_LABEL } from '../planner/observed.js';
import type { ObservedState, ProjectId } from '../planner/observed.js';
import type { ProjectDaemon } from './daemon-api.js';

/** What the daemon runs for one project: the planner's view and the live states for `list`. */
export interface ProjectSessions {
  readonly observed: ObservedState;
  readonly sync: readonly SyncSessionState[];
  /** undefined when the daemon does not implement forwarding yet. */
  readonly forward: readonly ForwardSessionState[] | undefined;
}

/** The selection of every session of a project (cli spec §7.6): label `io.mutagen.project=<id>`. */
export function projectSelection(projectId: ProjectId): Selection {
  return { labelSelector: `${PROJECT_LABEL}=${projectId}` };
}

/** True for the daemon's answer to a forwarding call while forwarding is not implemented. */
export function isUnsupported(error: unknown): boolean {
  return error instanceof MutagenError && error.code === 'MUTAGEN_UNSUPPORTED';
}

/**
 * Lists the sessions labelled with `projectId` (ARCHITECTURE §4.1 step 7), sync and forward in
 * parallel, oldest first as the daemon lists them. A daemon without forwarding counts as having
 * no forward sessions. Rejects with the daemon's error otherwise; cancelled by `signal`.
 */
export async function observeProject(daemon: ProjectDaemon, projectId: ProjectId, signal: AbortSignal): Promise<ProjectSessions> {
  const selection = projectSelection(projectId);
  const [sync, forward] = await Promise.all([
    daemon.call('sync.list', { selection }, { signal }),
    daemon.call('forward.list', { selection }, { signal }).catch((error: unknown) => {
      if (isUnsupported(error)) return undefined;
      throw error;
    }),
  ]);
  const sessions = [...(forward?.sessions ?? []).map((state) => observeForwardSession(state.session)), ...sync.sessions.map((state) => observeSyncSession(state.session))];
  return { observed: { projectId, sessions }, sync: sync.sessions, forward: forward?.sessions };
}

/** An observed state with no sessions, for a project that is not running yet. */
export function emptyObservation(projectId: ProjectId): ProjectSessions {
  return { observed: { projectId, sessions: [] }, sync: [], forward: [] };
}
