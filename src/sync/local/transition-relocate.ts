import { randomBytes } from 'node:crypto';
import { close, constants, openSync } from 'node:fs';
import { copyFile, link, lstat, rename, rm, unlink } from './sync-fs.js';
import path from 'node:path';
import { errnoCode, errorMessage, MutagenError } from '../../base/errors.js';
import type { WalkTarget } from './fs-walk.js';

/** Errors from link(2) that mean "this filesystem has no hard links". */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);
const CROSS_DEVICE_PREFIX = '.mutagen-temporary-cross-device-rename-';

export interface RelocateOptions {
  /** Replace an existing target atomically (swap) instead of failing when one exists (create). */
  readonly replace: boolean;
  /** Sets ownership and mode on a cross-device copy before it is moved into place. */
  readonly prepare: (file: string) => Promise<void>;
  /** Size of the file a swap replaces, when known (a large one is released off the loop). */
  readonly replacedSize?: number;
}

/**
 * Replacing a file this large frees its blocks when the rename drops its last link, inside
 * rename(2) on the event loop (256 MiB on ext4 with online discard: 100-450 ms, CPU-idle).
 * The swap keeps it open across the rename instead, and the close that frees it runs in the
 * thread pool: the new content is in place first, and the loop is not blocked.
 */
const DEFERRED_RELEASE_SIZE = 16 * 1024 * 1024;
const RELEASE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | (constants.O_NONBLOCK ?? 0);

/**
 * Moves a prepared staged file into place (sync-semantics §5.4–5.5). A swap renames over the
 * target (atomic). A creation never replaces: Node has no renameat2(RENAME_NOREPLACE), so the
 * staged file is hard-linked to the target (link fails with EEXIST atomically; its staged name
 * goes with the staging root);
 * a filesystem without hard links falls back to check-then-rename. When the staging root is on
 * another filesystem (EXDEV), the file is first copied to a `.mutagen-temporary-cross-device-
 * rename…` file in the target directory, prepared, and moved from there. At no point does a
 * partial file appear under the target name. Throws with a chainable message. Resolves to
 * 'moved' when the staged inode itself is now at the target, 'copied' after a cross-device copy.
 */
export async function relocateStagedFile(staged: string, target: WalkTarget, options: RelocateOptions): Promise<'moved' | 'copied'> {
  try {
    await move(staged, target.absolute, options.replace, options.replacedSize, false);
    return 'moved';
  } catch (error) {
    if (errnoCode(error) !== 'EXDEV') throw relocationError(error);
  }
  const temporary = path.join(target.parent, `${CROSS_DEVICE_PREFIX}${randomBytes(8).toString('hex')}`);
  try {
    await copyFile(staged, temporary, constants.COPYFILE_EXCL);
    await options.prepare(temporary);
    await move(temporary, target.absolute, options.replace, options.replacedSize, true);
  } catch (error) {
    await rm(temporary, { force: true });
    throw relocationError(error);
  }
  await unlink(staged).catch(() => undefined);
  return 'copied';
}

/**
 * Moves `source` to `destination` (see relocateStagedFile). After a hard link, `source` is
 * unlinked only when `unlinkLinked` (a temporary in the target's directory); a staged name is
 * left to the wipe that follows the transition (StagingStore.wipe), which removes it with the
 * rest of the staging root off the loop: an unlink here would cost every created file a
 * synchronous system call.
 */
async function move(source: string, destination: string, replace: boolean, replacedSize: number | undefined, unlinkLinked: boolean): Promise<void> {
  if (replace) {
    const replaced = replacedSize !== undefined && replacedSize >= DEFERRED_RELEASE_SIZE && process.platform !== 'win32' ? holdOpen(destination) : undefined;
    try {
      await rename(source, destination);
    } finally {
      if (replaced !== undefined) close(replaced, () => undefined);
    }
    return;
  }
  try {
    await link(source, destination);
  } catch (error) {
    const code = errnoCode(error);
    if (code === undefined || !NO_HARD_LINKS.has(code)) throw error;
    await checkThenRename(source, destination);
    return;
  }
  if (unlinkLinked) await unlink(source).catch(() => undefined);
}

/** A descriptor that keeps the file at `file` alive across its replacement; undefined if it cannot be opened. */
function holdOpen(file: string): number | undefined {
  try {
    return openSync(file, RELEASE_FLAGS);
  } catch {
    return undefined;
  }
}

async function checkThenRename(source: string, destination: string): Promise<void> {
  try {
    await lstat(destination);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
    await rename(source, destination);
    return;
  }
  throw Object.assign(new Error('target already exists'), { code: 'EEXIST' });
}

function relocationError(error: unknown): MutagenError {
  if (errnoCode(error) === 'EEXIST') return new MutagenError('MUTAGEN_TRANSITION', 'target already exists', { cause: error });
  return new MutagenError('MUTAGEN_TRANSITION', errorMessage(error), { cause: error });
}
