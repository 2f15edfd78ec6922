import type { Entry, Problem } from '../../model/entry.js';
import { EMPTY_CONTENTS, isDirectoryLike, isSynchronizable, joinPath } from '../../model/entry.js';

/** Bytewise digest equality. */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

function propertiesEqual(a: Entry, b: Entry): boolean {
  switch (a.kind) {
    case 'directory':
    case 'phantom-directory':
    case 'untracked':
      return b.kind === a.kind;
    case 'file':
      return b.kind === 'file' && a.executable === b.executable && digestsEqual(a.digest, b.digest);
    case 'symlink':
      return b.kind === 'symlink' && a.target === b.target;
    case 'problematic':
      return b.kind === 'problematic' && a.problem === b.problem;
  }
}

/**
 * Entry equality (sync-semantics §1.3). Shallow comparison ignores directory contents, so any
 * two directories are shallow-equal; deep comparison also requires the same child names with
 * deep-equal children. Executability and problem messages take part in equality.
 */
export function entriesEqual(a: Entry | undefined, b: Entry | undefined, deep: boolean): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  if (!propertiesEqual(a, b)) return false;
  if (!deep || !isDirectoryLike(a) || !isDirectoryLike(b)) return true;
  if (a.contents === b.contents) return true;
  if (a.contents.size !== b.contents.size) return false;
  for (const [name, child] of a.contents) {
    const other = b.contents.get(name);
    if (other === undefined || !entriesEqual(child, other, true)) return false;
  }
  return true;
}

/** Number of synchronizable entries (the root included); unsynchronizable subtrees count 0. */
export function countEntries(e: Entry | undefined): number {
  if (e === undefined || !isSynchronizable(e)) return 0;
  let count = 1;
  if (e.kind === 'directory') {
    for (const child of e.contents.values()) count += countEntries(child);
  }
  return count;
}

/**
 * The tree with every non-synchronizable entry removed; undefined when `e` itself is not
 * synchronizable (phantom directories included). Unchanged subtrees are shared, not copied.
 */
export function synchronizable(e: Entry | undefined): Entry | undefined {
  if (e === undefined || !isSynchronizable(e)) return undefined;
  if (e.kind !== 'directory' || e.contents.size === 0) return e;
  let contents: Map<string, Entry> | undefined;
  for (const [name, child] of e.contents) {
    const kept = synchronizable(child);
    if (kept === child) continue;
    contents ??= new Map(e.contents);
    if (kept === undefined) contents.delete(name);
    else contents.set(name, kept);
  }
  return contents === undefined ? e : { kind: 'directory', contents };
}

/** Child names of a directory-like entry in code-unit order (deterministic traversal). */
export function sortedNames(contents: ReadonlyMap<string, Entry>): string[] {
  return [...contents.keys()].sort(compareNames);
}

/** Code-unit order of names; names within one directory are unique. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorted union of the child names of up to three entries. */
export function unionNames(...entries: (Entry | undefined)[]): string[] {
  const names = new Set<string>();
  for (const entry of entries) {
    if (isDirectoryLike(entry)) for (const name of entry.contents.keys()) names.add(name);
  }
  return [...names].sort(compareNames);
}

/** Contents of a directory-like entry, or the empty map for anything else. */
export function contentsOf(e: Entry | undefined): ReadonlyMap<string, Entry> {
  return isDirectoryLike(e) ? e.contents : EMPTY_CONTENTS;
}

/** `{path, error}` for every Problematic entry, depth-first (parents first, names sorted). */
export function collectProblems(e: Entry | undefined, path = '', clean?: WeakSet<Entry>): Problem[] {
  const problems: Problem[] = [];
  const visit = (entry: Entry, at: string): void => {
    if (entry.kind === 'problematic') {
      problems.push({ path: at, error: entry.problem });
      return;
    }
    if (!isDirectoryLike(entry) || clean?.has(entry) === true) return;
    const before = problems.length;
    for (const name of sortedNames(entry.contents)) {
      const child = entry.contents.get(name);
      if (child !== undefined) visit(child, joinPath(at, name));
    }
    // Entries are immutable: a subtree found free of problems stays so (callers keep `clean`
    // across scans, whose unchanged subtrees are the same objects).
    if (problems.length === before) clean?.add(entry);
  };
  if (e !== undefined) visit(e, path);
  return problems;
}

/** Slim copy: a directory (or phantom) with empty contents; other kinds are returned as is. */
export function withoutContents(e: Entry): Entry {
  if (!isDirectoryLike(e) || e.contents.size === 0) return e;
  return { kind: e.kind, contents: EMPTY_CONTENTS };
}

/** The entry at a root-relative path (`""` = root), or undefined if any component is missing. */
export function entryAt(root: Entry | undefined, path: string): Entry | undefined {
  if (path === '') return root;
  let current = root;
  for (const name of path.split('/')) {
    if (!isDirectoryLike(current)) return undefined;
    current = current.contents.get(name);
  }
  return current;
}

/** Why `name` cannot be a directory content name (§1.1), or undefined when it is valid. */
export function invalidNameReason(name: string): string | undefined {
  if (name === '') return 'empty content name';
  if (name === '.' || name === '..') return 'dot name';
  if (name.includes('/')) return 'content name contains path separator';
  return undefined;
}
