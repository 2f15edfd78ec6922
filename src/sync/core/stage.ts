import type { Change, Entry } from '../../model/entry.js';
import { joinPath } from '../../model/entry.js';
import { digestsEqual, sortedNames } from './entries.js';

/**
 * The `(path, digest)` of every File inside every change's `new` tree, depth-first with names
 * sorted (sync-semantics §6.1), skipping file→file changes with equal digests (an
 * executability-only change is a chmod, not a transfer). Empty means no staging is needed.
 */
export function filesToStage(changes: readonly Change[]): { path: string; digest: Uint8Array }[] {
  const files: { path: string; digest: Uint8Array }[] = [];
  const visit = (path: string, entry: Entry): void => {
    if (entry.kind === 'file') {
      files.push({ path, digest: entry.digest });
    } else if (entry.kind === 'directory') {
      for (const name of sortedNames(entry.contents)) {
        const child = entry.contents.get(name);
        if (child !== undefined) visit(joinPath(path, name), child);
      }
    }
  };
  for (const change of changes) {
    const { old, new: next } = change;
    if (next === undefined) continue;
    if (old?.kind === 'file' && next.kind === 'file' && digestsEqual(old.digest, next.digest)) continue;
    visit(change.path, next);
  }
  return files;
}
