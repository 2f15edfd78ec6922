import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

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
