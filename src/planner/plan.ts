import { assertNever } from '../base/errors.js';
import type { HookPhase } from '../config/project.js';
import type { SessionId } from '../model/session.js';
import type { ProjectId, SessionKey, SessionSpec } from './observed.js';

/**
 * One step of a plan; `reason` says why, in words (`beta URL changed docker://a/x → docker://b/x`).
 * Specs in actions are complete, labels included (`io.mutagen.project`, `io.mutagen.spec-hash`).
 * - `create`: a new session (`paused` per intent; `flushOnCreate`: flush and wait once created).
 * - `recreate`: terminate `sessionId` (after a flush when `flushFirst`), then create `spec`.
 * - `update`: apply `spec` in place; the ancestor is kept (`changed` lists the field paths).
 * - `keep` / `pause` / `resume` / `terminate`: on the existing `sessionId`.
 * - `hook`: run `commands` of `phase` in the project folder, stopping at the first failure.
 */
export type Action =
  | { readonly kind: 'create'; readonly key: SessionKey; readonly spec: SessionSpec; readonly paused: boolean; readonly flushOnCreate: boolean; readonly reason: string }
  | {
      readonly kind: 'recreate'; readonly key: SessionKey; readonly sessionId: SessionId; readonly spec: SessionSpec;
      readonly paused: boolean; readonly flushFirst: boolean; readonly flushOnCreate: boolean; readonly reason: string;
    }
  | { readonly kind: 'update'; readonly key: SessionKey; readonly sessionId: SessionId; readonly spec: SessionSpec; readonly changed: readonly string[]; readonly reason: string }
  | { readonly kind: 'keep' | 'pause' | 'resume' | 'terminate'; readonly key: SessionKey; readonly sessionId: SessionId; readonly reason: string }
  | { readonly kind: 'hook'; readonly phase: HookPhase; readonly commands: readonly string[]; readonly reason: string };

export type ActionKind = Action['kind'];

/** What `project start` will do, in run order. Pure data: the runtime executes it as is. */
export interface Plan {
  readonly projectId: ProjectId;
  readonly actions: readonly Action[];
  readonly warnings: readonly string[];
}

function formatAction(action: Action): string[] {
  switch (action.kind) {
    case 'hook':
      return [`hook ${action.phase}: ${action.reason}`, ...action.commands.map((command) => `  > ${command}`)];
    case 'create':
    case 'recreate':
    case 'update':
    case 'keep':
    case 'pause':
    case 'resume':
    case 'terminate':
      return [`${action.kind} ${action.key}: ${action.reason}`];
    default:
      return assertNever(action, 'plan action');
  }
}

/**
 * The plan as text: one line per action (`<kind> <key>: <reason>`; hooks list their commands as
 * `  > command`), then `warning: …` lines. This is the `--dry-run` output and the test oracle.
 */
export function formatPlan(plan: Plan): string {
  const lines = plan.actions.flatMap((action) => formatAction(action));
  if (lines.length === 0) lines.push('nothing to do');
  for (const warning of plan.warnings) lines.push(`warning: ${warning}`);
  return lines.join('\n');
}

/** How many actions of each kind (hooks excluded), for summaries: `2 create, 1 keep`. */
export function summarizePlan(plan: Plan): string {
  const counts = new Map<ActionKind, number>();
  for (const action of plan.actions) if (action.kind !== 'hook') counts.set(action.kind, (counts.get(action.kind) ?? 0) + 1);
  return [...counts].map(([kind, count]) => `${count} ${kind}`).join(', ') || 'nothing to do';
}
