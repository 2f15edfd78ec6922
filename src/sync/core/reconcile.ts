import { assertNever } from '../../base/errors.js';
import type { SyncMode } from '../../model/configuration.js';
import type { Change, Conflict, Entry } from '../../model/entry.js';
import { joinPath } from '../../model/entry.js';
import { diff, nonDeletions } from './diff.js';
import { contentsOf, entriesEqual, synchronizable, unionNames, withoutContents } from './entries.js';

export type { SyncMode } from '../../model/configuration.js';

export interface ReconcileResult {
  /** Agreement, both-absent and one-way-safe untracking updates (apply ignores `old`). */
  ancestorChanges: Change[];
  /** Transitions to apply to alpha (content coming from beta); always empty in one-way modes. */
  alphaChanges: Change[];
  /** Transitions to apply to beta (content coming from alpha). */
  betaChanges: Change[];
  /** Full changes on each side; callers slim them for listing. */
  conflicts: Conflict[];
}

function isNilOrUntracked(e: Entry | undefined): boolean {
  return e === undefined || e.kind === 'untracked';
}

/** U(x) = diff(synchronizable(x), x): unsynchronizable content at or below `path`. */
function unsynchronizable(path: string, e: Entry | undefined): Change[] {
  return diff(path, synchronizable(e), e);
}

/**
 * Triples of (ancestor, alpha, beta) subtrees known to reconcile to nothing: no ancestor change,
 * no transition, no conflict. Entries are immutable and unchanged subtrees are shared between
 * cycles (copy-on-write ancestors, accelerated scans), so a controller that keeps one of these
 * reconciles in time proportional to what changed rather than to the size of the tree.
 */
export class QuietSubtrees {
  private readonly known = new WeakMap<Entry, WeakMap<Entry, WeakSet<Entry>>>();

  has(anc: Entry, a: Entry, b: Entry): boolean {
    return this.known.get(anc)?.get(a)?.has(b) === true;
  }

  add(anc: Entry, a: Entry, b: Entry): void {
    let byAlpha = this.known.get(anc);
    if (byAlpha === undefined) this.known.set(anc, (byAlpha = new WeakMap()));
    let betas = byAlpha.get(a);
    if (betas === undefined) byAlpha.set(a, (betas = new WeakSet()));
    betas.add(b);
  }
}

function outputSize(result: ReconcileResult): number {
  return result.ancestorChanges.length + result.alphaChanges.length + result.betaChanges.length + result.conflicts.length;
}

/**
 * Three-way reconciliation (sync-semantics §4). Pure: `ancestor` must hold synchronizable kinds
 * only; `alpha` and `beta` are reified, executability-patched scans. Lists are depth-first in
 * sorted name order; once a disagreement is handled at a path nothing below it is visited.
 */
export function reconcile(ancestor: Entry | undefined, alpha: Entry | undefined, beta: Entry | undefined, mode: SyncMode, quiet?: QuietSubtrees): ReconcileResult {
  const result: ReconcileResult = { ancestorChanges: [], alphaChanges: [], betaChanges: [], conflicts: [] };
  const disagree = disagreementHandler(mode, result);
  // Visits the union of children of agreeing directories, skipping triples known to be quiet.
  const descend = (path: string, anc: Entry | undefined, a: Entry, b: Entry | undefined): void => {
    const memoizable = quiet !== undefined && anc !== undefined && b !== undefined && a.kind === 'directory';
    if (memoizable && quiet.has(anc, a, b)) return;
    const before = outputSize(result);
    const ac = contentsOf(anc);
    const alphaContents = contentsOf(a);
    const betaContents = contentsOf(b);
    for (const name of unionNames(anc, a, b)) {
      visit(joinPath(path, name), ac.get(name), alphaContents.get(name), betaContents.get(name));
    }
    if (memoizable && outputSize(result) === before) quiet.add(anc, a, b);
  };
  const visit = (path: string, anc: Entry | undefined, a: Entry | undefined, b: Entry | undefined): void => {
    // Identical subtrees (same objects) on all three: nothing to do below here.
    if (a === b && anc === a) return;
    // §4.2 step 1: problematic content is skipped silently (it is already a scan problem).
    if (a?.kind === 'problematic' || b?.kind === 'problematic') return;
    // Step 2: nothing to track on either side.
    if (isNilOrUntracked(a) && isNilOrUntracked(b)) {
      if (anc !== undefined) result.ancestorChanges.push({ path, old: undefined, new: undefined });
      return;
    }
    // Step 3: agreement; the ancestor catches up and the union of children is visited.
    if (entriesEqual(a, b, false) && a !== undefined) {
      let ancestorChildren = anc;
      if (!entriesEqual(anc, a, false)) {
        result.ancestorChanges.push({ path, old: undefined, new: withoutContents(a) });
        ancestorChildren = undefined;
      }
      descend(path, ancestorChildren, a, b);
      return;
    }
    disagree(path, anc, a, b);
  };
  visit('', ancestor, alpha, beta);
  return result;
}

type Disagreement = (path: string, anc: Entry | undefined, a: Entry | undefined, b: Entry | undefined) => void;

function disagreementHandler(mode: SyncMode, result: ReconcileResult): Disagreement {
  switch (mode) {
    case 'two-way-safe':
      return (path, anc, a, b) => twoWay(path, anc, a, b, false, result);
    case 'two-way-resolved':
      return (path, anc, a, b) => twoWay(path, anc, a, b, true, result);
    case 'one-way-safe':
      return (path, anc, a, b) => oneWaySafe(path, anc, a, b, result);
    case 'one-way-replica':
      return (path, anc, a, b) => oneWayReplica(path, anc, a, b, result);
    default:
      return assertNever(mode, 'synchronization mode');
  }
}

/**
 * Propagates `newEntry` onto one side at `path`, unless that side holds unsynchronizable content
 * there (`blockers` = U(side)), which makes it a conflict instead.
 */
function propagate(
  result: ReconcileResult,
  target: 'alpha' | 'beta',
  change: Change,
  blockers: Change[],
  otherSide: readonly Change[],
): void {
  if (blockers.length > 0) {
    const conflict: Conflict = target === 'beta'
      ? { root: change.path, alphaChanges: otherSide, betaChanges: blockers }
      : { root: change.path, alphaChanges: blockers, betaChanges: otherSide };
    result.conflicts.push(conflict);
    return;
  }
  (target === 'beta' ? result.betaChanges : result.alphaChanges).push(change);
}

/** §4.3: both two-way modes; `resolved` lets alpha win when both sides created or modified. */
function twoWay(path: string, anc: Entry | undefined, a: Entry | undefined, b: Entry | undefined, resolved: boolean, result: ReconcileResult): void {
  const alphaSync = synchronizable(a);
  const betaSync = synchronizable(b);
  const alphaDiff = diff(path, anc, alphaSync);
  const betaDiff = diff(path, anc, betaSync);
  if (betaDiff.length === 0) {
    propagate(result, 'beta', { path, old: anc, new: alphaSync }, unsynchronizable(path, b), alphaDiff);
    return;
  }
  if (alphaDiff.length === 0) {
    propagate(result, 'alpha', { path, old: anc, new: betaSync }, unsynchronizable(path, a), betaDiff);
    return;
  }
  const alphaNew = nonDeletions(alphaDiff);
  const betaNew = nonDeletions(betaDiff);
  if (alphaNew.length === 0 && betaNew.length === 0) {
    // Both only deleted: the side that deleted everything wins.
    if (alphaSync === undefined) propagate(result, 'beta', { path, old: betaSync, new: undefined }, unsynchronizable(path, b), alphaDiff);
    else propagate(result, 'alpha', { path, old: alphaSync, new: undefined }, unsynchronizable(path, a), betaDiff);
    return;
  }
  if (betaNew.length === 0) {
    propagate(result, 'beta', { path, old: betaSync, new: alphaSync }, unsynchronizable(path, b), alphaNew);
    return;
  }
  if (alphaNew.length === 0) {
    propagate(result, 'alpha', { path, old: alphaSync, new: betaSync }, unsynchronizable(path, a), betaNew);
    return;
  }
  if (!resolved) {
    result.conflicts.push({ root: path, alphaChanges: alphaNew, betaChanges: betaNew });
    return;
  }
  propagate(result, 'beta', { path, old: betaSync, new: alphaSync }, unsynchronizable(path, b), alphaNew);
}

/** §4.4. The alpha side of a one-way conflict is the synthetic change ancestor → alpha. */
function oneWaySafe(path: string, anc: Entry | undefined, a: Entry | undefined, b: Entry | undefined, result: ReconcileResult): void {
  const synthetic: Change[] = [{ path, old: anc, new: a }];
  const betaNew = nonDeletions(diff(path, anc, synchronizable(b)));
  if (betaNew.length === 0) {
    propagate(result, 'beta', { path, old: b, new: synchronizable(a) }, unsynchronizable(path, b), synthetic);
    return;
  }
  const bothDirectories = anc?.kind === 'directory' && b?.kind === 'directory';
  if (isNilOrUntracked(a) && !bothDirectories) {
    // Beta keeps its content; the ancestor forgets the path so later cycles leave it alone too.
    if (anc !== undefined) result.ancestorChanges.push({ path, old: undefined, new: undefined });
    return;
  }
  result.conflicts.push({ root: path, alphaChanges: synthetic, betaChanges: betaNew });
}

/** §4.5: beta mirrors alpha's synchronizable content unless beta holds unsynchronizable content. */
function oneWayReplica(path: string, anc: Entry | undefined, a: Entry | undefined, b: Entry | undefined, result: ReconcileResult): void {
  const synthetic: Change[] = [{ path, old: anc, new: a }];
  propagate(result, 'beta', { path, old: b, new: synchronizable(a) }, unsynchronizable(path, b), synthetic);
}
