import { lchmod } from 'node:fs/promises';
import { chmod, mkdir, symlink } from './sync-fs.js';
import { lstatSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { errnoCode, MutagenError } from '../../base/errors.js';
import { joinPath, type Entry, type FileEntry } from '../../model/entry.js';
import { digestsEqual } from '../core/entries.js';
import { isValidName, type WalkTarget } from './fs-walk.js';
import { applyOwnership } from './ownership.js';
import { cacheEntryFromStat, cacheMatchesExactly } from './scan-cache.js';
import { normalizePortableTarget } from './symlink.js';
import {
  CANCELLED_PROBLEM, chain, fileModeFor, isCancelled, recordProblem, setFilePermissions, type TransitionContext,
} from './transition-context.js';
import { relocateStagedFile } from './transition-relocate.js';
import { verifyFile } from './transition-remove.js';

type DirectoryEntry = Extract<Entry, { kind: 'directory' }>;
type SymlinkEntry = Extract<Entry, { kind: 'symlink' }>;

function failure(message: string, cause?: unknown): MutagenError {
  return new MutagenError('MUTAGEN_TRANSITION', message, cause === undefined ? {} : { cause });
}

/**
 * Creates `entry` at `target`, which must not exist (sync-semantics §5.5). Returns what was
 * actually created: the entry, a partial directory, or undefined. Failures become problems.
 */
export async function createAt(context: TransitionContext, target: WalkTarget, relative: string, entry: Entry): Promise<Entry | undefined> {
  await context.yieldTurn();
  switch (entry.kind) {
    case 'directory':
      return createDirectory(context, target, relative, entry);
    case 'file':
      try {
        await createFile(context, target, relative, entry);
      } catch (error) {
        recordProblem(context, relative, chain('unable to create file', error));
        return undefined;
      }
      return entry;
    case 'symlink':
      try {
        await createSymlink(context, target, relative, entry);
      } catch (error) {
        recordProblem(context, relative, chain('unable to create symbolic link', error));
        return undefined;
      }
      return entry;
    default:
      recordProblem(context, relative, `creation requested for unsupported entry kind (${entry.kind})`);
      return undefined;
  }
}

/**
 * Replaces the file at `target` (sync-semantics §5.4) after verifying it is still what was
 * scanned: a chmod when only executability differs, else the staged file renamed over it.
 * Throws a chainable error (the caller prefixes `unable to swap file`).
 */
export async function swapFile(context: TransitionContext, target: WalkTarget, relative: string, old: FileEntry, replacement: FileEntry): Promise<void> {
  await verifyFile(context, target, relative, old);
  const mode = fileModeFor(context, replacement.executable);
  if (digestsEqual(old.digest, replacement.digest)) {
    try {
      await setFilePermissions(context, target.absolute, mode);
    } catch (error) {
      throw failure(chain('unable to change file permissions', error), error);
    }
    return;
  }
  await placeStagedFile(context, target, relative, replacement, true);
}

async function createFile(context: TransitionContext, target: WalkTarget, relative: string, entry: FileEntry): Promise<void> {
  await placeStagedFile(context, target, relative, entry, false);
  context.walker.noteCreated(target.parent, target.name);
}

async function placeStagedFile(context: TransitionContext, target: WalkTarget, relative: string, entry: FileEntry, replace: boolean): Promise<void> {
  // No separate existence check: preparing a staged file that is not there fails with ENOENT.
  const staged = await context.staging.stagedLocation(relative, entry.digest);
  const mode = fileModeFor(context, entry.executable);
  const prepare = (file: string): Promise<void> => setFilePermissions(context, file, mode);
  try {
    await prepare(staged);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      context.missingStagedFiles = true;
      throw failure('unable to relocate staged file: no staged file with the expected digest', error);
    }
    throw failure(chain('unable to set staged file permissions', error), error);
  }
  const before = statQuietly(staged);
  try {
    await relocateStagedFile(staged, target, { replace, prepare });
  } catch (error) {
    throw failure(chain('unable to relocate staged file', error), error);
  }
  recordPlacement(context, target.absolute, relative, entry, before);
}

function statQuietly(file: string): BigIntStats | undefined {
  try {
    return lstatSync(file, { bigint: true });
  } catch {
    return undefined;
  }
}

/**
 * Remembers what was placed so the next scan reuses the digest instead of re-reading the file.
 * A link or rename keeps inode, size, mode and mtime, so the target's stat must equal the staged
 * file's stat taken before it moved; anything else (a cross-device copy, or a write by someone
 * else in between) records nothing and the next scan hashes the file as usual.
 */
function recordPlacement(context: TransitionContext, absolute: string, relative: string, entry: FileEntry, before: BigIntStats | undefined): void {
  if (before === undefined || context.placed === undefined) return;
  const after = statQuietly(absolute);
  if (after === undefined || !cacheMatchesExactly(cacheEntryFromStat(before, entry.digest), after)) return;
  context.placed.set(relative, cacheEntryFromStat(after, entry.digest));
}

async function createSymlink(context: TransitionContext, target: WalkTarget, relative: string, entry: SymlinkEntry): Promise<void> {
  switch (context.symlinkMode) {
    case 'ignore':
      throw failure('symbolic link creation is not allowed in ignore mode');
    case 'portable': {
      const normalized = normalizePortableTarget(relative, entry.target);
      if (!('target' in normalized)) throw failure(normalized.problem);
      if (normalized.target !== entry.target) throw failure('symbolic link target is not in portable form');
      break;
    }
    case 'posix-raw':
      if (entry.target === '') throw failure('symbolic link target is empty');
      break;
  }
  await symlink(entry.target, target.absolute);
  context.walker.noteCreated(target.parent, target.name);
  try {
    await applyOwnership(target.absolute, context, { symlink: true });
    // Linux cannot change a symbolic link's mode; macOS can.
    if (process.platform === 'darwin') await lchmod(target.absolute, fileModeFor(context, true));
  } catch (error) {
    throw failure(chain('unable to set symbolic link permissions', error), error);
  }
}

/**
 * mkdir (fails if anything exists), ownership and default directory mode, then every child.
 * A child failure is a problem at the child path; the result holds what was created.
 */
async function createDirectory(context: TransitionContext, target: WalkTarget, relative: string, entry: DirectoryEntry): Promise<Entry | undefined> {
  try {
    await mkdir(target.absolute, { mode: 0o700 });
  } catch (error) {
    recordProblem(context, relative, chain('unable to create directory', error));
    return undefined;
  }
  context.walker.noteCreated(target.parent, target.name);
  try {
    await applyOwnership(target.absolute, context);
    await chmod(target.absolute, context.defaultDirectoryMode & 0o7777);
  } catch (error) {
    recordProblem(context, relative, chain('unable to set directory permissions', error));
    return { kind: 'directory', contents: new Map() };
  }
  const created = new Map<string, Entry>();
  for (const [name, child] of entry.contents) {
    const childPath = joinPath(relative, name);
    if (!isValidName(name)) {
      recordProblem(context, childPath, 'invalid entry name');
      continue;
    }
    if (isCancelled(context)) {
      recordProblem(context, childPath, CANCELLED_PROBLEM);
      continue;
    }
    const result = await createAt(context, { parent: target.absolute, name, absolute: path.join(target.absolute, name) }, childPath, child);
    if (result !== undefined) created.set(name, result);
  }
  return { kind: 'directory', contents: created };
}
