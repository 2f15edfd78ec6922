import { comparePaths, type Change, type Conflict, type Entry, type Problem, type Snapshot } from '../model/entry.js';
import type { EndpointState, StagingProgress, SyncSessionRecord, SyncSessionState, SyncStatus } from '../model/session.js';
import { withoutContents } from './core/entries.js';

/** How many conflicts and problems a state lists; the rest is counted (sync-semantics §8). */
export const LISTED_LIMIT = 10;

/** Mutable per-endpoint view kept by the controller. */
export class EndpointView {
  connected = false;
  scanned = false;
  snapshot: Snapshot | undefined;
  scanProblems: Problem[] = [];
  transitionProblems: Problem[] = [];

  reset(): void {
    this.connected = false;
    this.scanned = false;
    this.snapshot = undefined;
    this.scanProblems = [];
    this.transitionProblems = [];
  }

  toState(progress: StagingProgress | undefined): EndpointState {
    const scans = limit(this.scanProblems, (a, b) => comparePaths(a.path, b.path));
    const transitions = limit(this.transitionProblems, (a, b) => comparePaths(a.path, b.path));
    return {
      connected: this.connected,
      scanned: this.scanned,
      directories: this.snapshot?.directories ?? 0,
      files: this.snapshot?.files ?? 0,
      symbolicLinks: this.snapshot?.symbolicLinks ?? 0,
      totalFileSize: this.snapshot?.totalFileSize ?? 0,
      scanProblems: scans.listed,
      excludedScanProblems: scans.excluded,
      transitionProblems: transitions.listed,
      excludedTransitionProblems: transitions.excluded,
      stagingProgress: progress,
    };
  }
}

function limit<T>(items: readonly T[], compare: (a: T, b: T) => number): { listed: T[]; excluded: number } {
  const sorted = [...items].sort(compare);
  return { listed: sorted.slice(0, LISTED_LIMIT), excluded: Math.max(0, sorted.length - LISTED_LIMIT) };
}

function slimChange(change: Change): Change {
  return { path: change.path, old: slim(change.old), new: slim(change.new) };
}

function slim(entry: Entry | undefined): Entry | undefined {
  return entry === undefined ? undefined : withoutContents(entry);
}

/** Conflicts for listing: sorted by root, slim copies, first 10 plus the excluded count. */
export function listConflicts(conflicts: readonly Conflict[]): { listed: Conflict[]; excluded: number } {
  const { listed, excluded } = limit(conflicts, (a, b) => comparePaths(a.root, b.root));
  return {
    listed: listed.map((c) => ({ root: c.root, alphaChanges: c.alphaChanges.map(slimChange), betaChanges: c.betaChanges.map(slimChange) })),
    excluded,
  };
}

export interface StateParts {
  readonly record: SyncSessionRecord;
  readonly status: SyncStatus;
  readonly lastError: string | undefined;
  readonly successfulCycles: number;
  readonly conflicts: readonly Conflict[];
  readonly alpha: EndpointView;
  readonly beta: EndpointView;
  readonly alphaProgress: StagingProgress | undefined;
  readonly betaProgress: StagingProgress | undefined;
}

export function buildState(parts: StateParts): SyncSessionState {
  const conflicts = listConflicts(parts.conflicts);
  return {
    session: parts.record,
    status: parts.status,
    lastError: parts.lastError,
    successfulCycles: parts.successfulCycles,
    conflicts: conflicts.listed,
    excludedConflicts: conflicts.excluded,
    alpha: parts.alpha.toState(parts.alphaProgress),
    beta: parts.beta.toState(parts.betaProgress),
  };
}
