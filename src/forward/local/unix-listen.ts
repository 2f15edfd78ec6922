import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmod, chown, link, lstat, rmdir, stat, unlink } from 'node:fs/promises';
import type net from 'node:net';
import path from 'node:path';
import { isAbortError, MutagenError } from '../../base/errors.js';
import type { SocketOptions } from '../endpoint.js';
import { hasCode, listenFailure, listenOn } from './bind.js';
import { resolveAccountId } from './ownership.js';
import { describeSocketError, maxUnixSocketPathBytes, unixPathLengthProblem } from './socket-errors.js';

/** A bound socket file; `release()` removes it if it is still the one we created (same dev/ino). */
export interface UnixBinding {
  readonly path: string;
  release(): Promise<void>;
}

interface Ownership {
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly mode: number;
}

/**
 * Binds `server` to the Unix socket `socketPath` (cli spec §8.3). Checks the path length and
 * the parent directory first; then binds under a temporary name in the same directory, applies
 * owner/group/mode there, and hard-links it into place (so the socket never appears with the
 * wrong mode, and an existing entry is detected atomically: `leave` fails, `overwrite` removes
 * that one entry and links again). libuv unlinks the temporary name when the server closes; the
 * real name is removed by `release()` only while it is still our inode. Where hard links are not
 * possible (or the temporary name would be too long) it binds the path directly.
 */
export async function bindUnix(server: net.Server, socketPath: string, options: SocketOptions, signal: AbortSignal): Promise<UnixBinding> {
  const tooLong = unixPathLengthProblem(socketPath);
  if (tooLong !== undefined) throw listenFailure(tooLong.problem, tooLong.hint);
  const ownership = await resolveOwnership(options, signal);
  const directory = path.dirname(socketPath);
  await checkDirectory(directory);
  const temporary = path.join(directory, `.mt-${randomBytes(4).toString('hex')}`);
  if (Buffer.byteLength(temporary) <= maxUnixSocketPathBytes()) {
    await listenAt(server, temporary, signal);
    const identity = await applyOwnership(temporary, ownership);
    if (await linkIntoPlace(temporary, socketPath, options.overwriteMode)) {
      await unlink(temporary).catch(() => undefined);
      return { path: socketPath, release: () => removeIfSame(socketPath, identity) };
    }
    // No hard links here: close (libuv removes the temporary name) and bind the path itself.
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await listenDirect(server, socketPath, options.overwriteMode, signal);
  const identity = await applyOwnership(socketPath, ownership);
  return { path: socketPath, release: () => removeIfSame(socketPath, identity) };
}

async function resolveOwnership(options: SocketOptions, signal: AbortSignal): Promise<Ownership> {
  if (!Number.isInteger(options.permissionMode) || options.permissionMode < 0 || options.permissionMode > 0o777) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `invalid socket permission mode ${options.permissionMode.toString(8)} (expected an octal value up to 0777)`);
  }
  const uid = await resolveAccountId(options.owner, 'user', { signal });
  const gid = await resolveAccountId(options.group, 'group', { signal });
  return { uid, gid, mode: options.permissionMode };
}

async function checkDirectory(directory: string): Promise<void> {
  let stats: Stats;
  try {
    stats = await stat(directory);
  } catch (error) {
    if (hasCode(error, 'ENOENT')) throw listenFailure(`directory ${directory} does not exist`, 'Create the directory first, or choose a socket path in an existing directory.', error);
    throw listenFailure(`unable to access directory ${directory}: ${describeSocketError(error)}`, undefined, error);
  }
  if (!stats.isDirectory()) throw listenFailure(`${directory} is not a directory`, 'Choose a socket path whose parent is a directory.');
}

async function listenAt(server: net.Server, socketPath: string, signal: AbortSignal): Promise<void> {
  try {
    await listenOn(server, { path: socketPath }, signal);
  } catch (error) {
    throw explainBindError(error, socketPath);
  }
}

function explainBindError(error: unknown, socketPath: string): unknown {
  if (isAbortError(error)) return error;
  const directory = path.dirname(socketPath);
  if (hasCode(error, 'EACCES', 'EPERM')) {
    return listenFailure(`permission denied creating a socket in ${directory}`, 'Choose a directory you can write to, or change its permissions.', error);
  }
  if (hasCode(error, 'ENOENT')) return listenFailure(`directory ${directory} does not exist`, 'Create the directory first, or choose a socket path in an existing directory.', error);
  if (hasCode(error, 'EROFS')) return listenFailure(`${directory} is on a read-only file system`, undefined, error);
  return listenFailure(describeSocketError(error), undefined, error);
}

/** chown (when an owner or group is set) and chmod; returns the inode identity of the socket file. */
async function applyOwnership(socketPath: string, ownership: Ownership): Promise<{ dev: number; ino: number }> {
  if (ownership.uid !== undefined || ownership.gid !== undefined) {
    try {
      await chown(socketPath, ownership.uid ?? -1, ownership.gid ?? -1);
    } catch (error) {
      throw listenFailure(`unable to set socket ownership: ${describeSocketError(error)}`, 'Changing a socket\'s owner or group needs the rights to do so (usually root).', error);
    }
  }
  try {
    await chmod(socketPath, ownership.mode);
  } catch (error) {
    throw listenFailure(`unable to set socket permission mode: ${describeSocketError(error)}`, undefined, error);
  }
  const stats = await lstat(socketPath);
  return { dev: stats.dev, ino: stats.ino };
}

function existsFailure(socketPath: string): MutagenError {
  return listenFailure(
    `a file already exists at ${socketPath}`,
    `Remove ${socketPath} if it is a stale socket, or set the socket overwrite mode to "overwrite" (--socket-overwrite-mode overwrite, or socket.overwriteMode in mutagen.yml) so that it is replaced.`,
  );
}

/** Links `temporary` to `socketPath`; false when this file system cannot hard-link. */
async function linkIntoPlace(temporary: string, socketPath: string, mode: SocketOptions['overwriteMode']): Promise<boolean> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await link(temporary, socketPath);
      return true;
    } catch (error) {
      if (hasCode(error, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EMLINK', 'ENOSYS')) return false;
      if (!hasCode(error, 'EEXIST')) throw explainBindError(error, socketPath);
      if (mode === 'leave' || attempt > 0) throw existsFailure(socketPath);
      await removeConflict(socketPath);
    }
  }
}

async function listenDirect(server: net.Server, socketPath: string, mode: SocketOptions['overwriteMode'], signal: AbortSignal): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await listenOn(server, { path: socketPath }, signal);
      return;
    } catch (error) {
      if (!hasCode(error, 'EADDRINUSE')) throw explainBindError(error, socketPath);
      if (mode === 'leave' || attempt > 0) throw existsFailure(socketPath);
      await removeConflict(socketPath);
    }
  }
}

/** Removes the one entry in the way: a file, socket or symlink (unlink) or an empty directory (rmdir). */
async function removeConflict(socketPath: string): Promise<void> {
  try {
    const stats = await lstat(socketPath);
    if (stats.isDirectory()) await rmdir(socketPath);
    else await unlink(socketPath);
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return;
    const reason = hasCode(error, 'ENOTEMPTY', 'EEXIST') ? `${socketPath} is a directory that is not empty` : describeSocketError(error);
    throw listenFailure(`unable to remove conflicting socket: ${reason}`, undefined, error);
  }
}

/** Unlinks `socketPath` only while it is still the inode we created (another listener may own it now). */
async function removeIfSame(socketPath: string, identity: { dev: number; ino: number }): Promise<void> {
  try {
    const stats = await lstat(socketPath);
    if (stats.dev === identity.dev && stats.ino === identity.ino) await unlink(socketPath);
  } catch {
    // Already gone, or not ours to remove.
  }
}
