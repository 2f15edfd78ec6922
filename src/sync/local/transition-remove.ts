import { lstat, readlink, rmdir, unlink } from './sync-fs.js';
import path from 'node:path';
import { MutagenError } from '../../base/errors.js';
import { joinPath, type Entry, type FileEntry } from '../../model/entry.js';
import { digestsEqual } from '../core/entries.js';
import { readDirectoryNames, type WalkTarget } from './fs-walk.js';
import { cacheMatchesExactly } from './scan-cache.js';
import { normalizePortableTarget } from './symlink.js';
import { CANCELLED_PROBLEM, chain, isCancelled, recordProblem, type TransitionContext } from './transition-context.js';

type DirectoryEntry = Extract<Entry, { kind: 'directory' }>;
type SymlinkEntry = Extract<Entry, { kind: 'symlink' }>;

function failure(message: string, cause?: unknown): MutagenError {
  return new MutagenError('MUTAGEN_TRANSITION', message, cause === undefined ? {} : { cause });
}

/**
 * Removes `expected` at `target` if (and only as far as) it still matches what was scanned
 * (sync-semantics §5.3). Returns what remains on disk of `expected`: undefined when fully removed.
 * Every failure is recorded as a problem; nothing throws.
 */
export async function removeAt(context: TransitionContext, target: WalkTarget, relative: string, expected: Entry): Promise<Entry | undefined> {
  switch (expected.kind) {
    case 'directory':
      return removeDirectory(context, target, relative, expected);
    case 'file':
      try {
        await verifyFile(context, target, relative, expected);
        await unlink(target.absolute);
      } catch (error) {
        recordProblem(context, relative, chain('unable to remove file', error));
        return expected;
      }
      break;
    case 'symlink':
      try {
        if (context.symlinkMode === 'ignore') throw failure('symbolic link removal is not allowed in ignore mode');
        await verifySymlink(context, target, relative, expected);
        await unlink(target.absolute);
      } catch (error) {
        recordProblem(context, relative, chain('unable to remove symbolic link', error));
        return expected;
      }
      break;
    default:
      recordProblem(context, relative, `removal requested for unsupported entry kind (${expected.kind})`);
      return expected;
  }
  context.walker.noteRemoved(target.parent, target.name);
  return undefined;
}

/**
 * The file must still be what the scan saw: its cache entry matches a fresh lstat in full mode,
 * mtime, size and inode, and the cached digest is the expected one. Throws `unable to validate
 * existing file: …`.
 */
export async function verifyFile(context: TransitionContext, target: WalkTarget, relative: string, expected: FileEntry): Promise<void> {
  const cached = context.cache.get(relative);
  if (cached === undefined) throw failure('unable to validate existing file: unable to find cache information for path');
  let stat;
  try {
    stat = await lstat(target.absolute, { bigint: true });
  } catch (error) {
    throw failure(chain('unable to validate existing file: unable to grab file statistics', error), error);
  }
  if (!cacheMatchesExactly(cached, stat) || !digestsEqual(cached.digest, expected.digest)) {
    throw failure('unable to validate existing file: modification detected');
  }
}

async function verifySymlink(context: TransitionContext, target: WalkTarget, relative: string, expected: SymlinkEntry): Promise<void> {
  let onDisk: string;
  try {
    onDisk = await readlink(target.absolute);
  } catch (error) {
    throw failure(chain('unable to validate existing symbolic link: unable to read symbolic link target', error), error);
  }
  if (context.symlinkMode === 'portable') {
    const normalized = normalizePortableTarget(relative, onDisk);
    if (!('target' in normalized)) throw failure('unable to validate existing symbolic link: modification detected');
    onDisk = normalized.target;
  }
  if (onDisk !== expected.target) throw failure('unable to validate existing symbolic link: modification detected');
}

/**
 * Lists the directory and removes each known child recursively; unknown on-disk children are
 * left alone with a problem. The directory itself goes only if everything below it went.
 */
async function removeDirectory(context: TransitionContext, target: WalkTarget, relative: string, expected: DirectoryEntry): Promise<Entry | undefined> {
  let names: string[];
  try {
    // readdir follows symbolic links: make sure this is still a real directory first.
    if (!(await lstat(target.absolute)).isDirectory()) throw failure('modification detected');
    names = await readDirectoryNames(target.absolute, context.decomposesUnicode);
  } catch (error) {
    recordProblem(context, relative, chain('unable to remove directory', error));
    return expected;
  }
  const remaining = new Map<string, Entry>();
  let blocked = false;
  let cancelled = false;
  for (const name of names) {
    await context.yieldTurn();
    const child = expected.contents.get(name);
    const childPath = joinPath(relative, name);
    if (child === undefined) {
      recordProblem(context, childPath, 'unknown content encountered on disk');
      blocked = true;
      continue;
    }
    if (isCancelled(context)) {
      cancelled = true;
      remaining.set(name, child);
      continue;
    }
    const left = await removeAt(context, { parent: target.absolute, name, absolute: path.join(target.absolute, name) }, childPath, child);
    if (left !== undefined) remaining.set(name, left);
  }
  if (cancelled) recordProblem(context, relative, CANCELLED_PROBLEM);
  if (!blocked && !cancelled && remaining.size === 0) {
    try {
      await rmdir(target.absolute);
      context.walker.noteRemoved(target.parent, target.name);
      return undefined;
    } catch (error) {
      recordProblem(context, relative, chain('unable to remove directory', error));
    }
  }
  return { kind: 'directory', contents: remaining };
}
