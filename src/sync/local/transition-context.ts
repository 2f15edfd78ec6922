import type { InFlight } from '../../base/concurrency.js';
import { chmod } from './sync-fs.js';
import { errorMessage } from '../../base/errors.js';
import type { PermissionsMode, SymlinkMode } from '../../model/configuration.js';
import type { Problem } from '../../model/entry.js';
import type { PathWalker } from './fs-walk.js';
import { applyOwnership } from './ownership.js';
import type { CacheEntry, ScanCache } from './scan-cache.js';
import type { StagingStore } from './staging.js';

/** What a transition batch places with, as its caller gives it (TransitionOptions) and its steps see it. */
export interface TransitionSettings {
  /** The cache of the scan that produced the changes' `old` entries (§5.3 verification). */
  readonly cache: ScanCache;
  readonly staging: StagingStore;
  readonly symlinkMode: SymlinkMode;
  readonly permissionsMode: PermissionsMode;
  readonly defaultFileMode: number;
  readonly defaultDirectoryMode: number;
  readonly owner: number | undefined;
  readonly group: number | undefined;
  readonly decomposesUnicode: boolean;
}

/** Shared state of one transition batch: settings, the walker, and what went wrong. */
export interface TransitionContext extends TransitionSettings {
  readonly signal: AbortSignal | undefined;
  readonly walker: PathWalker;
  readonly problems: Problem[];
  /** Gives the event loop a turn now and then: transitions run synchronous syscalls. */
  readonly yieldTurn: () => Promise<void>;
  /** Files placed by this batch, as scan-cache entries (see recordPlacement); optional. */
  readonly placed: Map<string, CacheEntry> | undefined;
  /** Placements under way in file threads; applyTransitions() waits for them. */
  readonly placements: InFlight;
  /** Set once a link found the staging root on another filesystem. */
  crossDevice: boolean;
  missingStagedFiles: boolean;
}

export const CANCELLED_PROBLEM = 'transition cancelled';

export function recordProblem(context: TransitionContext, path: string, error: string): void {
  context.problems.push({ path, error });
}

/** `prefix: message of error`, the chain a problem text is made of. */
export function chain(prefix: string, error: unknown): string {
  return `${prefix}: ${errorMessage(error)}`;
}

export function isCancelled(context: TransitionContext): boolean {
  return context.signal?.aborted === true;
}

/**
 * Mode of a file Mutagen writes (sync-semantics §2.10): in portable mode the default file mode
 * without execute bits, plus an execute bit for each read bit when executable (0644 → 0755);
 * in manual mode exactly the default file mode.
 */
export function fileModeFor(context: Pick<TransitionContext, 'permissionsMode' | 'defaultFileMode'>, executable: boolean): number {
  if (context.permissionsMode === 'manual') return context.defaultFileMode & 0o7777;
  const base = context.defaultFileMode & 0o7666;
  return executable ? base | ((base & 0o444) >> 2) : base;
}

/** Ownership first (chown may clear set-id bits), then the mode. */
export async function setFilePermissions(context: TransitionContext, file: string, mode: number): Promise<void> {
  await applyOwnership(file, context);
  await chmod(file, mode);
}
