import path from 'node:path';
import { formatPlan, summarizePlan } from '../../planner/plan.js';
import type { Plan } from '../../planner/plan.js';
import { neutralize } from './output.js';

/**
 * The plan as `project start --dry-run` prints it: a header naming the file and project, the
 * planner's own lines (`<kind> <key>: <reason>`, hook commands as `  > command`, `warning: …`)
 * indented, and a closing line saying nothing was changed.
 */
export function formatDryRun(plan: Plan, file: string, running: boolean): string {
  const header = running
    ? `Plan for ${path.basename(file)} (project ${plan.projectId}):`
    : `Plan for ${path.basename(file)} (not running yet; a new project identifier is written on start):`;
  const body = formatPlan(plan).split('\n').map((line) => `  ${line}`);
  return `${neutralize([header, ...body].join('\n'))}\nDry run: nothing was changed (${summarizePlan(plan)}).\n`;
}

/** The plan before it is applied (plain output): same lines, with a header. */
export function formatPlanHeader(plan: Plan, file: string): string {
  const body = formatPlan(plan).split('\n').map((line) => `  ${line}`);
  return `${neutralize([`Plan for ${path.basename(file)} (project ${plan.projectId}):`, ...body].join('\n'))}\n`;
}
