import type { Entry } from '../../model/entry.js';

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

