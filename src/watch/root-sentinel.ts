import { watch, type FSWatcher } from 'node:fs';
import { lstat } from 'node:fs/promises';
import path from 'node:path';

/** What the root is: a directory (with its identity), something else, or nothing. */
export type RootKind = { readonly kind: 'directory'; readonly identity: string } | { readonly kind: 'other' | 'missing' };

/** A non-recursive watch of the root's parent directory, filtered to the root's own name. */
export interface RootSentinel {
  close(): void;
}

/**
 * Reports every event on the root's name in its parent directory: the root being created,
 * deleted, replaced (renamed over) or, for a file root, written. Covers what a watch on the root
 * itself cannot: on Linux such a watch follows the inode, so a root moved away and recreated
 * would go on reporting the old directory. Throws when the parent cannot be watched (missing,
 * unreadable); later failures go to `onError`. Returns undefined for a filesystem root.
 */
export function watchRootName(root: string, onRootEvent: () => void, onError: (error: unknown) => void): RootSentinel | undefined {
  const parent = path.dirname(root);
  if (parent === root) return undefined;
  const name = path.basename(root);
  const watcher: FSWatcher = watch(parent, { persistent: true }, (_event, filename) => {
    if (filename === null || filename === name) onRootEvent();
  });
  watcher.on('error', onError);
  let closed = false;
  return {
    close: () => {
      if (closed) return;
      closed = true;
      watcher.close();
    },
  };
}

/** lstat of the root; throws only for errors other than "not there". */
export async function inspectRoot(root: string): Promise<RootKind> {
  try {
    const stats = await lstat(root, { bigint: true });
    return stats.isDirectory() ? { kind: 'directory', identity: `${stats.dev}:${stats.ino}` } : { kind: 'other' };
  } catch (error) {
    if (error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR')) return { kind: 'missing' };
    throw error;
  }
}

export function sameRoot(a: RootKind, b: RootKind): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== 'directory' || (b.kind === 'directory' && a.identity === b.identity);
}
