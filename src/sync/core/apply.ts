import { MutagenError } from '../../base/errors.js';
import type { Change, Entry } from '../../model/entry.js';
import { isDirectoryLike } from '../../model/entry.js';

type DirectoryLike = Extract<Entry, { contents: ReadonlyMap<string, Entry> }>;

/**
 * Copy-on-write tree editing for one applyChanges call: directories copied during the call own
 * a mutable contents map (looked up by identity), so each directory is copied at most once
 * however many changes land below it.
 */
class Editor {
  private readonly owned = new Map<ReadonlyMap<string, Entry>, Map<string, Entry>>();

  constructor(public root: Entry | undefined) {}

  /** A directory we may mutate: `entry` itself if copied earlier in this call, else a copy. */
  private own(entry: DirectoryLike): { entry: DirectoryLike; contents: Map<string, Entry> } {
    const existing = this.owned.get(entry.contents);
    if (existing !== undefined) return { entry, contents: existing };
    const contents = new Map(entry.contents);
    this.owned.set(contents, contents);
    return { entry: { kind: entry.kind, contents }, contents };
  }

  apply(change: Change): void {
    if (change.path === '') {
      this.root = change.new;
      return;
    }
    const names = change.path.split('/');
    const leaf = names.pop() ?? '';
    if (!isDirectoryLike(this.root)) throw missingParent(change.path);
    const top = this.own(this.root);
    this.root = top.entry;
    let contents = top.contents;
    for (const name of names) {
      const child = contents.get(name);
      if (!isDirectoryLike(child)) throw missingParent(change.path);
      const next = this.own(child);
      contents.set(name, next.entry);
      contents = next.contents;
    }
    if (change.new === undefined) contents.delete(leaf);
    else contents.set(leaf, change.new);
  }
}

function missingParent(path: string): MutagenError {
  return new MutagenError('MUTAGEN_INTERNAL', `unable to apply change at ${JSON.stringify(path)}: unable to resolve parent path`);
}

/**
 * Applies `changes` in order to `base` (sync-semantics §1.4) and returns the new tree; `base` is
 * never modified and unchanged subtrees are shared. `old` is ignored. A change at `""` replaces
 * the whole tree. Throws MutagenError (MUTAGEN_INTERNAL) when a change's parent path does not
 * resolve to a directory.
 */
export function applyChanges(base: Entry | undefined, changes: readonly Change[]): Entry | undefined {
  if (changes.length === 0) return base;
  const editor = new Editor(base);
  for (const change of changes) editor.apply(change);
  return editor.root;
}
