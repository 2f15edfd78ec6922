import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { TreeWatch, TreeWatchCallbacks } from './tree-watch.js';

/**
 * True where `fs.watch(root, { recursive: true })` is the operating system's own recursive watch
 * (FSEvents on macOS, ReadDirectoryChangesW on Windows). Node on Linux emulates it in JavaScript
 * by walking the whole tree, ignored directories included: there, watchTree is used instead.
 */
export const NATIVE_RECURSIVE_WATCH = process.platform === 'darwin' || process.platform === 'win32';

/**
 * One native recursive watch over `root`. Pruned directories cannot be left out of the watch
 * itself, so their events are dropped here: each reported path's ancestor directories are tested
 * (memoised per directory until close). Ready as soon as the watch exists.
 */
export function watchTreeRecursively(root: string, callbacks: TreeWatchCallbacks): TreeWatch {
  const pruned = new Map<string, boolean>();
  const isPruned = (directory: string): boolean => {
    let verdict = pruned.get(directory);
    if (verdict === undefined) {
      const slash = directory.lastIndexOf('/');
      verdict = (slash >= 0 && isPruned(directory.slice(0, slash))) || callbacks.pruneDirectory(directory);
      if (pruned.size > 100_000) pruned.clear();
      pruned.set(directory, verdict);
    }
    return verdict;
  };
  let closed = false;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(root, { persistent: true, recursive: true }, (_event, name) => {
      if (closed) return;
      if (name === null || name === '') {
        callbacks.onPath('');
        return;
      }
      const relative = path.sep === '/' ? name : name.split(path.sep).join('/');
      const slash = relative.lastIndexOf('/');
      if (slash >= 0 && isPruned(relative.slice(0, slash))) return;
      callbacks.onPath(relative);
    });
    watcher.on('error', (error) => {
      if (!closed) callbacks.onError(error);
    });
  } catch (error) {
    // Reported like a later failure, so the owner's restart budget applies.
    queueMicrotask(() => callbacks.onError(error));
  }
  return {
    ready: Promise.resolve(),
    // Events are only recorded here (no lstat, no walk): nothing to defer.
    hold: () => undefined,
    release: () => undefined,
    settled: () => true,
    close: () => {
      if (!closed) {
        closed = true;
        watcher?.close();
      }
      return Promise.resolve();
    },
  };
}
