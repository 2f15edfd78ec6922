import { InFlight } from '../../base/concurrency.js';
import { createYielder } from '../../base/yielder.js';
import { errorMessage, MutagenError } from '../../base/errors.js';
import type { HashAlgorithm } from '../../model/configuration.js';
import { comparePaths, type Change, type Entry } from '../../model/entry.js';
import { countEntries } from '../core/entries.js';
import type { TransitionResult } from '../endpoint.js';
import { PathWalker, type WalkTarget } from './fs-walk.js';
import type { CacheEntry } from './scan-cache.js';
import { CANCELLED_PROBLEM, chain, isCancelled, recordProblem, type TransitionContext, type TransitionSettings } from './transition-context.js';
import { createAt, swapFile } from './transition-create.js';
import { removeAt } from './transition-remove.js';

export interface TransitionOptions extends TransitionSettings {
  readonly root: string;
  /** 0 = unlimited. */
  readonly maxEntryCount: number;
  /** count() of the snapshot the changes were computed from (§2.8 projection). */
  readonly lastScanCount: number;
  readonly hash: HashAlgorithm;
  /** One-way modes' alpha (§5.8): transitioning is an error. */
  readonly readOnly?: boolean;
  readonly signal?: AbortSignal;
  /** When given, receives a scan-cache entry for every file this batch placed (digest reuse). */
  readonly placed?: Map<string, CacheEntry>;
}

export const ENTRY_LIMIT_PROBLEM = 'transitioning would exceeded allowed entry count';

/**
 * Applies changes to the local tree, sequentially and in order (sync-semantics §5). Nothing is
 * removed or overwritten unless it still matches the scan; files appear only whole, through
 * renames of staged files. Per-path failures (including cancellation through `signal`) are
 * problems in the result, whose `results[i]` is what is on disk for `changes[i]` afterwards.
 * Rejects only for infrastructure errors: a read-only endpoint or an entry-count underflow.
 */
export async function applyTransitions(changes: readonly Change[], options: TransitionOptions): Promise<TransitionResult> {
  if (options.readOnly === true) throw new MutagenError('MUTAGEN_ENDPOINT', 'unable to transition: endpoint is read-only');
  if (exceedsEntryLimit(changes, options)) {
    return { results: changes.map((change) => change.old), problems: [{ path: '', error: ENTRY_LIMIT_PROBLEM }], missingStagedFiles: false };
  }
  const context: TransitionContext = {
    cache: options.cache,
    staging: options.staging,
    symlinkMode: options.symlinkMode,
    permissionsMode: options.permissionsMode,
    defaultFileMode: options.defaultFileMode,
    defaultDirectoryMode: options.defaultDirectoryMode,
    owner: options.owner,
    group: options.group,
    decomposesUnicode: options.decomposesUnicode,
    signal: options.signal,
    walker: new PathWalker(options.root, options.decomposesUnicode),
    problems: [],
    yieldTurn: createYielder(),
    placed: options.placed,
    placements: new InFlight(),
    crossDevice: false,
    missingStagedFiles: false,
  };
  const results: (Entry | undefined)[] = [];
  for (const change of changes) results.push(await applyChange(context, change));
  // The results' directories are complete once every placement in a file thread has ended.
  await context.placements.below(0);
  const problems = [...context.problems].sort((a, b) => comparePaths(a.path, b.path));
  return { results, problems, missingStagedFiles: context.missingStagedFiles };
}

/** §2.8: last scan count − count(old) + count(new) over all changes, against the maximum. */
function exceedsEntryLimit(changes: readonly Change[], options: TransitionOptions): boolean {
  let projected = options.lastScanCount;
  for (const change of changes) {
    const removed = countEntries(change.old);
    if (removed > projected) throw new MutagenError('MUTAGEN_TRANSITION', 'unable to transition: entry count underflow');
    projected = projected - removed + countEntries(change.new);
  }
  return options.maxEntryCount > 0 && projected > options.maxEntryCount;
}

/** §5.1: cancelled → old; file→file → swap; else remove old, then (if gone) create new. */
async function applyChange(context: TransitionContext, change: Change): Promise<Entry | undefined> {
  const { path: relative, old, new: replacement } = change;
  if (isCancelled(context)) {
    recordProblem(context, relative, CANCELLED_PROBLEM);
    return old;
  }
  if (old?.kind === 'file' && replacement?.kind === 'file') {
    try {
      const target = await walk(context, relative, true);
      await swapFile(context, target, relative, old, replacement);
      return replacement;
    } catch (error) {
      recordProblem(context, relative, chain('unable to swap file', error));
      return old;
    }
  }
  if (old !== undefined) {
    let target: WalkTarget;
    try {
      target = await walk(context, relative, true);
    } catch (error) {
      recordProblem(context, relative, errorMessage(error));
      return old;
    }
    const remaining = await removeAt(context, target, relative, old);
    if (remaining !== undefined) return remaining;
  }
  if (replacement === undefined) return undefined;
  let target: WalkTarget;
  try {
    target = await walk(context, relative, false);
  } catch (error) {
    recordProblem(context, relative, errorMessage(error));
    return undefined;
  }
  return createAt(context, target, relative, replacement);
}

async function walk(context: TransitionContext, relative: string, validateLeaf: boolean): Promise<WalkTarget> {
  try {
    return await context.walker.walkToParent(relative, validateLeaf);
  } catch (error) {
    throw new MutagenError('MUTAGEN_TRANSITION', chain('unable to walk to transition root', error), { cause: error });
  }
}
