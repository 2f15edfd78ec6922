import { digestsEqual } from '../core/entries.js';
import type { WrittenStat } from './staging-writer.js';

/** A committed staged file: where it is, and its stat when it was closed (unknown after a restart). */
export interface StagedFile {
  readonly file: string;
  readonly stat: WrittenStat | undefined;
}

interface Slot extends StagedFile {
  readonly digest: Uint8Array;
  /** Another file staged for the same path, with another digest (rare). */
  next: Slot | undefined;
}

/**
 * Staged files by (path, digest): a map by path whose values chain the digests staged for it,
 * compared byte for byte (no hex string per lookup: an initial sync looks up every file twice).
 */
export class StagedIndex {
  private readonly byPath = new Map<string, Slot>();

  get(relative: string, digest: Uint8Array): StagedFile | undefined {
    for (let slot = this.byPath.get(relative); slot !== undefined; slot = slot.next) {
      if (digestsEqual(slot.digest, digest)) return slot;
    }
    return undefined;
  }

  /** Records `file` for (relative, digest); returns the file it replaces for that pair, if any. */
  set(relative: string, digest: Uint8Array, file: StagedFile): StagedFile | undefined {
    const previous = this.delete(relative, digest);
    this.byPath.set(relative, { file: file.file, stat: file.stat, digest, next: this.byPath.get(relative) });
    return previous;
  }

  /** Forgets (relative, digest); returns what was recorded for it. */
  delete(relative: string, digest: Uint8Array): StagedFile | undefined {
    let before: Slot | undefined;
    for (let slot = this.byPath.get(relative); slot !== undefined; before = slot, slot = slot.next) {
      if (!digestsEqual(slot.digest, digest)) continue;
      if (before !== undefined) before.next = slot.next;
      else if (slot.next === undefined) this.byPath.delete(relative);
      else this.byPath.set(relative, slot.next);
      return slot;
    }
    return undefined;
  }

  clear(): void {
    this.byPath.clear();
  }
}
