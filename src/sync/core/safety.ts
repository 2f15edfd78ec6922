import type { Change, Entry } from '../../model/entry.js';

export type HaltReason = 'halted-on-root-emptied' | 'halted-on-root-deletion' | 'halted-on-root-type-change';

/** Direct children of the root (untracked ones count), or undefined unless it is a Directory. */
function rootChildren(e: Entry | undefined): number | undefined {
  return e?.kind === 'directory' ? e.contents.size : undefined;
}

/**
 * Root-emptied check (sync-semantics §5.9), run after scanning and before reconciliation in every
 * mode: the ancestor root is a Directory with at least two direct children, and exactly one of
 * alpha/beta is a Directory root with none.
 */
export function checkRootEmptied(ancestor: Entry | undefined, alpha: Entry | undefined, beta: Entry | undefined): HaltReason | undefined {
  const before = rootChildren(ancestor);
  if (before === undefined || before < 2) return undefined;
  const alphaEmptied = rootChildren(alpha) === 0;
  const betaEmptied = rootChildren(beta) === 0;
  return alphaEmptied !== betaEmptied ? 'halted-on-root-emptied' : undefined;
}

function isRootDeletion(change: Change): boolean {
  return change.path === '' && change.old !== undefined && change.new === undefined;
}

function isRootTypeChange(change: Change): boolean {
  return change.path === '' && change.old !== undefined && change.new !== undefined && change.old.kind !== change.new.kind;
}

/**
 * Root deletion / type-change checks (sync-semantics §5.9) on the transitions that reconciliation
 * produced for alpha and beta. Deletion is reported before a type change.
 */
export function checkRootTransitions(alphaChanges: readonly Change[], betaChanges: readonly Change[]): HaltReason | undefined {
  const all = [...alphaChanges, ...betaChanges];
  if (all.some(isRootDeletion)) return 'halted-on-root-deletion';
  if (all.some(isRootTypeChange)) return 'halted-on-root-type-change';
  return undefined;
}
