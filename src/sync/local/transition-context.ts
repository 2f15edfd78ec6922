import { chmod } from './sync-fs.js';
import { lchmod } from 'node:fs/promises';
import { errorMessage, MutagenError } from '../../base/errors.js';
import type { PermissionsMode, SymlinkMode } from '../../model/configuration.js';
import type { Entry, Problem } from '../../model/entry.js';
import type { PathWalker } from './fs-walk.js';
import { applyOwnership } from './ownership.js';
import type { CacheEntry, ScanCache } from './scan-cache.js';
import type { StagingStore } from './staging.js';
import { normalizePortableTarget } from './symlink.js';

export type DirectoryEntry = Extract<Entry, { kind: 'directory' }>;
export type SymlinkEntry = Extract<Entry, { kind: 'symlink' }>;

/** Shared state of one transition batch: settings, the walker, and what went wrong. */
export interface TransitionContext {
  readonly cache: ScanCache;
  readonly staging: StagingStore;
  readonly symlinkMode: SymlinkMode;
  readonly permissionsMode: PermissionsMode;
  readonly defaultFileMode: number;
  readonly defaultDirectoryMode: number;
  readonly owner: number | undefined;
  readonly group: number | undefined;
  readonly decomposesUnicode: boolean;
  readonly signal: AbortSignal | undefined;
  readonly walker: PathWalker;
  readonly problems: Problem[];
  /** Gives the event loop a turn now and then: transitions run synchronous syscalls. */
  readonly yieldTurn: () => Promise<void>;
  /** Files placed by this batch, as scan-cache entries (see recordPlacement); optional. */
  readonly placed: Map<string, CacheEntry> | undefined;
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

/** Linux cannot change a symbolic link's mode; macOS can. */
export async function setSymlinkMode(context: TransitionContext, file: string): Promise<void> {
  if (process.platform === 'darwin') await lchmod(file, fileModeFor(context, true));
}

/** Throws when the symbolic link mode forbids creating `entry` (sync-semantics §2.6). */
export function checkSymlink(context: TransitionContext, relative: string, entry: SymlinkEntry): void {
  switch (context.symlinkMode) {
    case 'ignore':
      throw new MutagenError('MUTAGEN_TRANSITION', 'symbolic link creation is not allowed in ignore mode');
    case 'portable': {
      const normalized = normalizePortableTarget(relative, entry.target);
      if (!('target' in normalized)) throw new MutagenError('MUTAGEN_TRANSITION', normalized.problem);
      if (normalized.target !== entry.target) throw new MutagenError('MUTAGEN_TRANSITION', 'symbolic link target is not in portable form');
      break;
    }
    case 'posix-raw':
      if (entry.target === '') throw new MutagenError('MUTAGEN_TRANSITION', 'symbolic link target is empty');
      break;
  }
}
