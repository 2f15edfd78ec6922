import { lchmod } from 'node:fs/promises';
import { chmod, mkdir, symlink } from './sync-fs.js';
import { existsSync, lstatSync, type BigIntStats } from 'node:fs';
import { errnoCode, MutagenError } from '../../base/errors.js';
import { childPath as joinChild } from '../../base/paths.js';
import { joinPath, type Entry, type FileEntry } from '../../model/entry.js';
import { digestsEqual } from '../core/entries.js';
import { isValidName, type WalkTarget } from './fs-walk.js';
import { hashPool } from './hash-pool.js';
import { applyOwnership } from './ownership.js';
import { cacheEntryFromStat } from './scan-cache.js';
import { normalizePortableTarget } from './symlink.js';
import {
  CANCELLED_PROBLEM, chain, fileModeFor, isCancelled, recordProblem, setFilePermissions, type TransitionContext,
} from './transition-context.js';
import { relocateStagedFile } from './transition-relocate.js';
import { verifyFile } from './transition-remove.js';

type DirectoryEntry = Extract<Entry, { kind: 'directory' }>;

/** Files placed by file threads at once at most (what waits for a thread is kept in memory). */
const PLACEMENTS_IN_FLIGHT = 512;
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
  const staged = context.staging.lookup(relative, entry.digest);
  if (staged === undefined) throw missingStagedFile(context);
  const mode = fileModeFor(context, entry.executable);
  const prepare = (file: string): Promise<void> => setFilePermissions(context, file, mode);
  // Files placed are remembered with the staged file's stat (a link or rename keeps inode, size,
  // mode and mtime), so the next scan reuses the digest instead of re-reading them (§2.5 still
  // compares that stat with what is then on disk). Staged files are created with the default
  // file mode, so most need neither a chmod nor another stat here.
  let stat = staged.stat;
  if (stat === undefined || needsPreparation(context, stat, mode)) {
    try {
      await prepare(staged.file);
      stat = lstatSync(staged.file, { bigint: true });
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') {
        context.staging.release(relative, entry.digest);
        throw missingStagedFile(context, error);
      }
      throw failure(chain('unable to set staged file permissions', error), error);
    }
  }
  let how: 'moved' | 'copied';
  try {
    const replacedSize = replace ? context.cache.get(relative)?.size : undefined;
    how = await relocateStagedFile(staged.file, target, { replace, prepare, ...(replacedSize === undefined ? {} : { replacedSize }) });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' && !existsSync(staged.file)) {
      context.staging.release(relative, entry.digest);
      throw missingStagedFile(context, error);
    }
    throw failure(chain('unable to relocate staged file', error), error);
  }
  notePlaced(context, relative, entry, how === 'moved' ? stat : undefined);
}

/**
 * A staged file is in place: the staging store forgets it, and a file placed as the staged inode
 * itself (`stat` given) is remembered with that stat (the next scan reuses its digest).
 */
function notePlaced(context: TransitionContext, relative: string, entry: FileEntry, stat: Pick<BigIntStats, 'ino' | 'size' | 'mtimeNs' | 'mode'> | undefined): void {
  context.staging.release(relative, entry.digest);
  if (stat !== undefined) context.placed?.set(relative, cacheEntryFromStat(stat, entry.digest));
}

function missingStagedFile(context: TransitionContext, cause?: unknown): MutagenError {
  context.missingStagedFiles = true;
  return failure('unable to relocate staged file: no staged file with the expected digest', cause);
}

/** Whether the staged file needs ownership or a mode change before it is moved into place. */
function needsPreparation(context: TransitionContext, stat: Pick<BigIntStats, 'mode'>, mode: number): boolean {
  return context.owner !== undefined || context.group !== undefined || (Number(stat.mode) & 0o7777) !== mode;
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
    // The name is valid: no normalization needed.
    const childTarget = { parent: target.absolute, name, absolute: joinChild(target.absolute, name) };
    if (child.kind === 'file') {
      if (context.placements.size >= PLACEMENTS_IN_FLIGHT) await context.placements.below(PLACEMENTS_IN_FLIGHT / 2);
      if (createFileInThread(context, childTarget, childPath, child, created)) continue;
    }
    const result = await createAt(context, childTarget, childPath, child);
    if (result !== undefined) created.set(name, result);
  }
  return { kind: 'directory', contents: created };
}

/**
 * createFile() for a file of a directory this transition has just created, whose staged file
 * needs no preparation: a file thread makes the link(2) while the walk goes on (the loop would
 * spend most of an initial sync's transition in those calls), and applyTransitions() waits for
 * it. The file is in `created` (in order) unless its placement fails. A link the thread could
 * not make takes the usual way (createFile), which reports why or does what a hard link cannot
 * (another filesystem, none at all). False: not such a file, for the caller to create.
 */
function createFileInThread(context: TransitionContext, target: WalkTarget, relative: string, entry: FileEntry, created: Map<string, Entry>): boolean {
  const staged = context.staging.lookup(relative, entry.digest);
  const stat = staged?.stat;
  if (staged === undefined || stat === undefined || context.crossDevice || needsPreparation(context, stat, fileModeFor(context, entry.executable))) return false;
  created.set(target.name, entry);
  context.placements.start();
  hashPool.linkThen(staged.file, target.absolute, (failure) => {
    if (failure === undefined) {
      context.walker.noteCreated(target.parent, target.name);
      notePlaced(context, relative, entry, stat);
      context.placements.end();
      return;
    }
    // Staging on another filesystem: no link can work, the next files take the usual way at once.
    if (failure === 'EXDEV') context.crossDevice = true;
    void createFile(context, target, relative, entry).catch((error: unknown) => {
      created.delete(target.name);
      recordProblem(context, relative, chain('unable to create file', error));
    }).finally(() => context.placements.end());
  });
  return true;
}
