import type { Snapshot } from '../../model/entry.js';
import { entriesEqual } from '../core/entries.js';

/** Synchronizable entries of a snapshot (the scanner counts exactly what countEntries would). */
export function snapshotCount(snapshot: Snapshot): number {
  return snapshot.directories + snapshot.files + snapshot.symbolicLinks;
}

export function sameSnapshot(a: Snapshot, b: Snapshot): boolean {
  return a.preservesExecutability === b.preservesExecutability && a.decomposesUnicode === b.decomposesUnicode
    && entriesEqual(a.content, b.content, true);
}

/** A snapshot of a missing root or of an empty directory (undefined: no scan yet). */
export function isEmptySnapshot(snapshot: Snapshot | undefined): boolean {
  if (snapshot === undefined) return false;
  const content = snapshot.content;
  return content === undefined || (content.kind === 'directory' && content.contents.size === 0);
}
