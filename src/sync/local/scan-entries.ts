import { MutagenError } from '../../base/errors.js';
import { joinPath, type Entry } from '../../model/entry.js';
import type { Yielder } from './hasher.js';
import type { CacheEntry } from './scan-cache.js';

/** Directory-like entries (directories and phantom directories of ignored paths). */
export type DirectoryLike = Extract<Entry, { contents: ReadonlyMap<string, Entry> }>;

/**
 * What one counting directory subtree adds to count(snapshot), the directory itself included. A
 * pure function of the entry (a file's size follows from its digest), so it is memoised by
 * identity: reusing an unchanged subtree then costs O(1) instead of a walk.
 */
export interface SubtreeCounts {
  readonly directories: number;
  readonly files: number;
  readonly symbolicLinks: number;
  readonly totalFileSize: number;
}

export const NO_COUNTS: SubtreeCounts = { directories: 0, files: 0, symbolicLinks: 0, totalFileSize: 0 };

export function difference(after: SubtreeCounts, before: SubtreeCounts): SubtreeCounts {
  return {
    directories: after.directories - before.directories,
    files: after.files - before.files,
    symbolicLinks: after.symbolicLinks - before.symbolicLinks,
    totalFileSize: after.totalFileSize - before.totalFileSize,
  };
}

/**
 * A counting subtree's statistics: memoised in `memo`, else summed once (file sizes from the
 * baseline `cache`), pausing with `yielder` when a slice is used up.
 */
export async function subtreeCounts(
  path: string,
  entry: DirectoryLike,
  memo: WeakMap<Entry, SubtreeCounts>,
  cache: ReadonlyMap<string, CacheEntry> | undefined,
  yielder: Yielder,
): Promise<SubtreeCounts> {
  if (entry.kind === 'phantom-directory') return NO_COUNTS;
  const known = memo.get(entry);
  if (known !== undefined) return known;
  if (yielder.due()) await yielder.pause();
  let directories = 1;
  let files = 0;
  let symbolicLinks = 0;
  let totalFileSize = 0;
  for (const [name, child] of entry.contents) {
    const childPath = joinPath(path, name);
    switch (child.kind) {
      case 'directory':
      case 'phantom-directory': {
        const inner = await subtreeCounts(childPath, child, memo, cache, yielder);
        directories += inner.directories;
        files += inner.files;
        symbolicLinks += inner.symbolicLinks;
        totalFileSize += inner.totalFileSize;
        break;
      }
      case 'file': {
        const cached = cache?.get(childPath);
        if (cached === undefined) throw new MutagenError('MUTAGEN_SCAN', 'old cache entries do not correspond to baseline');
        files++;
        totalFileSize += cached.size;
        break;
      }
      case 'symlink':
        symbolicLinks++;
        break;
      case 'untracked':
      case 'problematic':
        break;
    }
  }
  const counts = { directories, files, symbolicLinks, totalFileSize };
  memo.set(entry, counts);
  return counts;
}

/** Same leaf (files, links, problems): the baseline's object can stand for the new one. */
function sameLeaf(a: Entry, b: Entry): boolean {
  switch (a.kind) {
    case 'file':
      return b.kind === 'file' && a.executable === b.executable && Buffer.compare(a.digest, b.digest) === 0;
    case 'symlink':
      return b.kind === 'symlink' && a.target === b.target;
    case 'problematic':
      return b.kind === 'problematic' && a.problem === b.problem;
    case 'untracked':
      return b.kind === 'untracked';
    case 'directory':
    case 'phantom-directory':
      return false;
  }
}

/**
 * A re-listed directory, sharing the baseline's objects where nothing changed: unchanged leaves
 * become the baseline's, and an unchanged directory is the baseline directory itself. Later
 * stages (reconcile, problem lists, archive packing) skip shared subtrees by identity.
 */
export function internDirectory(kind: DirectoryLike['kind'], baseline: DirectoryLike, contents: Map<string, Entry>): DirectoryLike {
  let same = contents.size === baseline.contents.size;
  for (const [name, entry] of contents) {
    const old = baseline.contents.get(name);
    if (old === entry) continue;
    if (old !== undefined && sameLeaf(old, entry)) contents.set(name, old);
    else same = false;
  }
  return same && baseline.kind === kind ? baseline : { kind, contents };
}

