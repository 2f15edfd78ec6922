import type { Change, Entry } from '../../model/entry.js';
import { joinPath } from '../../model/entry.js';
import { contentsOf, entriesEqual, unionNames } from './entries.js';

/**
 * Changes that turn `base` into `target` below `path` (sync-semantics §1.4). Where the two are not
 * shallow-equal, one change replaces the whole subtree and nothing below it is visited; where
 * they agree, the union of child names is compared, in sorted order. Changes never nest.
 */
export function diff(path: string, base: Entry | undefined, target: Entry | undefined): Change[] {
  const changes: Change[] = [];
  collect(path, base, target, changes);
  return changes;
}

function collect(path: string, base: Entry | undefined, target: Entry | undefined, out: Change[]): void {
  if (base === target) return;
  if (!entriesEqual(base, target, false)) {
    out.push({ path, old: base, new: target });
    return;
  }
  const baseContents = contentsOf(base);
  const targetContents = contentsOf(target);
  if (baseContents === targetContents) return;
  for (const name of unionNames(base, target)) {
    collect(joinPath(path, name), baseContents.get(name), targetContents.get(name), out);
  }
}

/** The changes of `changes` that are not deletions (`new` set): creations and modifications. */
export function nonDeletions(changes: readonly Change[]): Change[] {
  return changes.filter((change) => change.new !== undefined);
}
