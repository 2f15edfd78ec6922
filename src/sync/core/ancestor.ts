import { MutagenError } from '../../base/errors.js';
import type { Change, Entry } from '../../model/entry.js';
import { joinPath } from '../../model/entry.js';
import { applyChanges } from './apply.js';
import { entriesEqual, invalidNameReason } from './entries.js';

/**
 * New ancestor = apply(old, ancestorChanges ++ {path, new: result} for every transition of every
 * side) (sync-semantics §4.7), where `results[i]` is what transition `changes[i]` actually
 * achieved on disk. Validates that the result holds synchronizable kinds only (throws
 * MUTAGEN_ARCHIVE otherwise; MUTAGEN_INTERNAL when results and changes disagree in length or a
 * parent path is missing). `changed` is false when the new tree deep-equals the old one, so the
 * caller can skip saving the archive.
 */
export function nextAncestor(
  ancestor: Entry | undefined,
  ancestorChanges: readonly Change[],
  transitions: readonly { changes: readonly Change[]; results: readonly (Entry | undefined)[] }[],
): { ancestor: Entry | undefined; changed: boolean } {
  const all: Change[] = [...ancestorChanges];
  for (const { changes, results } of transitions) {
    if (changes.length !== results.length) {
      throw new MutagenError('MUTAGEN_INTERNAL', `transition results mismatch: ${results.length} results for ${changes.length} changes`);
    }
    changes.forEach((change, i) => all.push({ path: change.path, old: change.old, new: results[i] }));
  }
  if (all.length === 0) return { ancestor, changed: false };
  const next = applyChanges(ancestor, all);
  // The old ancestor was validated when it was made; only what the changes put in is new.
  for (const change of all) {
    const name = change.path.slice(change.path.lastIndexOf('/') + 1);
    const reason = change.path === '' ? undefined : invalidNameReason(name);
    if (reason !== undefined) throw new MutagenError('MUTAGEN_ARCHIVE', `invalid ancestor at ${JSON.stringify(change.path)}: ${reason} ${JSON.stringify(name)}`);
    validateAncestorAt(change.new, change.path);
  }
  return { ancestor: next, changed: !entriesEqual(ancestor, next, true) };
}

/**
 * Throws MutagenError (MUTAGEN_ARCHIVE) unless the tree is a valid ancestor (§1.1): only
 * synchronizable kinds, valid child names, non-empty digests and symlink targets.
 */
export function validateAncestor(e: Entry | undefined): void {
  validateAncestorAt(e, '');
}

function validateAncestorAt(e: Entry | undefined, root: string): void {
  const fail = (path: string, problem: string): never => {
    throw new MutagenError('MUTAGEN_ARCHIVE', `invalid ancestor at ${JSON.stringify(path)}: ${problem}`);
  };
  const visit = (entry: Entry, path: string): void => {
    switch (entry.kind) {
      case 'directory':
        for (const [name, child] of entry.contents) {
          const reason = invalidNameReason(name);
          if (reason !== undefined) fail(path, `${reason} ${JSON.stringify(name)}`);
          visit(child, joinPath(path, name));
        }
        return;
      case 'file':
        if (entry.digest.byteLength === 0) fail(path, 'file with empty digest');
        return;
      case 'symlink':
        if (entry.target === '') fail(path, 'symbolic link with empty target');
        return;
      default:
        fail(path, `${entry.kind} content is not synchronizable`);
    }
  };
  if (e !== undefined) visit(e, root);
}
