import { chmodSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, statSync, symlinkSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../../base/errors.js';
import { joinPath, type Entry, type FileEntry } from '../../model/entry.js';
import { isValidName, type WalkTarget } from './fs-walk.js';
import { cacheEntryFromStat } from './scan-cache.js';
import type { WrittenStat } from './staging-writer.js';
import { checkSymlink, fileModeFor, isCancelled, setSymlinkMode, type DirectoryEntry, type TransitionContext } from './transition-context.js';


/** A file of the assembled tree: its path, entry, and the stat it will have in place. */
type AssembledFile = readonly [relative: string, entry: FileEntry, stat: WrittenStat];

/**
 * Creates a whole new directory in one rename (sync-semantics §5.5, applied to a subtree): the
 * staging store keeps small files under their own paths in a mirror tree (staging.ts), so the
 * staged copy of `entry` is completed there (other staged files moved in, symbolic links made,
 * modes set) and checked name by name against `entry`: exactly its names, every file the staged
 * one with the expected digest. Then that directory is renamed over `target`, the empty
 * directory the caller has just created (rename replaces only an empty directory: anything put
 * there meanwhile makes it fail, ENOTEMPTY). Every file appears whole, as with a per-file
 * placement, and the subtree appears at once.
 *
 * Returns false, having changed nothing at `target`, when it cannot be used: ownership to set, a
 * decomposing filesystem, a file not staged, names staged by an earlier attempt that `entry` does
 * not have, a staging root on another filesystem, any failure. The caller then creates the
 * entries one by one, from the same staged files (the index follows any file moved here).
 */
export async function adoptStagedTree(context: TransitionContext, target: WalkTarget, relative: string, entry: DirectoryEntry): Promise<boolean> {
  if (entry.contents.size === 0 || context.owner !== undefined || context.group !== undefined || context.decomposesUnicode) return false;
  const staged = context.staging.treePath(relative);
  if (staged === undefined) return false;
  const files: AssembledFile[] = [];
  try {
    // A staging root on another filesystem cannot be renamed from: not worth assembling.
    if (statSync(context.staging.root).dev !== statSync(target.parent).dev) return false;
    if (!(await assemble(context, staged, relative, entry, files))) return false;
    renameSync(staged, target.absolute);
  } catch {
    return false;
  }
  for (const [file, { digest }, stat] of files) {
    context.staging.release(file, digest);
    context.placed?.set(file, cacheEntryFromStat(stat, digest));
  }
  return true;
}

/** Completes and checks the staged copy of `entry` at `directory`; false when it cannot match. */
async function assemble(context: TransitionContext, directory: string, relative: string, entry: DirectoryEntry, files: AssembledFile[]): Promise<boolean> {
  await context.yieldTurn();
  if (isCancelled(context)) return false;
  const present = new Map<string, Dirent>();
  try {
    for (const dirent of readdirSync(directory, { withFileTypes: true })) present.set(dirent.name, dirent);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
    mkdirSync(directory, { recursive: true, mode: 0o700 });
  }
  for (const name of present.keys()) if (!entry.contents.has(name)) return false;
  for (const [name, child] of entry.contents) {
    if (!isValidName(name)) return false;
    const childPath = joinPath(relative, name);
    const childFile = path.join(directory, name);
    const existing = present.get(name);
    if (child.kind === 'directory') {
      if (existing !== undefined && !existing.isDirectory()) return false;
      if (!(await assemble(context, childFile, childPath, child, files))) return false;
    } else if (!(await assembleLeaf(context, childFile, childPath, child, existing, files))) {
      return false;
    }
  }
  chmodSync(directory, context.defaultDirectoryMode & 0o7777);
  return true;
}

/** A file (the staged one, gathered here) or symbolic link (made here) of the staged copy. */
async function assembleLeaf(context: TransitionContext, file: string, relative: string, entry: Entry, existing: Dirent | undefined, files: AssembledFile[]): Promise<boolean> {
  switch (entry.kind) {
    case 'file': {
      const staged = context.staging.gatherIntoTree(relative, entry.digest, file);
      if (staged?.file !== file) return false;
      const mode = fileModeFor(context, entry.executable);
      let stat = staged.stat;
      if (stat === undefined || (Number(stat.mode) & 0o7777) !== mode) {
        chmodSync(file, mode);
        stat = lstatSync(file, { bigint: true });
      }
      files.push([relative, entry, stat]);
      return true;
    }
    case 'symlink':
      checkSymlink(context, relative, entry);
      if (existing === undefined) symlinkSync(entry.target, file);
      else if (!existing.isSymbolicLink() || readlinkSync(file) !== entry.target) return false;
      await setSymlinkMode(context, file);
      return true;
    default:
      return false;
  }
}
