import type { Entry } from '../../model/entry.js';
import { contentsOf, digestsEqual } from './entries.js';

/**
 * Patches the snapshot of the side whose filesystem does not preserve executability
 * (sync-semantics §2.4), file by file at equal paths: (1) the preserving side's file has the
 * same digest → copy its bit; (2) else the ancestor's file has the same digest → copy the
 * ancestor's bit; (3) else the preserving side's and the ancestor's files share a digest (the
 * content was edited on the non-preserving side) → copy the preserving side's bit; (4) else
 * leave it as scanned. Returns a new tree (unchanged subtrees shared); inputs are not modified.
 */
export function propagateExecutability(
  ancestor: Entry | undefined,
  preserving: Entry | undefined,
  nonPreserving: Entry | undefined,
): Entry | undefined {
  if ((ancestor === undefined && preserving === undefined) || nonPreserving === undefined) return nonPreserving;
  if (nonPreserving.kind === 'file') return patchFile(ancestor, preserving, nonPreserving);
  if (nonPreserving.kind !== 'directory') return nonPreserving;
  const ancestorContents = contentsOf(ancestor);
  const preservingContents = contentsOf(preserving);
  if (ancestorContents.size === 0 && preservingContents.size === 0) return nonPreserving;
  let contents: Map<string, Entry> | undefined;
  for (const [name, child] of nonPreserving.contents) {
    const patched = propagateExecutability(ancestorContents.get(name), preservingContents.get(name), child);
    if (patched === child || patched === undefined) continue;
    contents ??= new Map(nonPreserving.contents);
    contents.set(name, patched);
  }
  return contents === undefined ? nonPreserving : { kind: 'directory', contents };
}

function patchFile(ancestor: Entry | undefined, preserving: Entry | undefined, target: Extract<Entry, { kind: 'file' }>): Entry {
  let executable = target.executable;
  if (preserving?.kind === 'file' && digestsEqual(preserving.digest, target.digest)) {
    executable = preserving.executable;
  } else if (ancestor?.kind === 'file' && digestsEqual(ancestor.digest, target.digest)) {
    executable = ancestor.executable;
  } else if (preserving?.kind === 'file' && ancestor?.kind === 'file' && digestsEqual(preserving.digest, ancestor.digest)) {
    executable = preserving.executable;
  }
  return executable === target.executable ? target : { kind: 'file', digest: target.digest, executable };
}
