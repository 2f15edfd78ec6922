import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { MutagenError } from '../base/errors.js';

/** Name of the default data directory under the home directory ([ts]: never a real Mutagen's). */
export const DEFAULT_DATA_DIRECTORY_NAME = '.mutagen-ts';

/** Unix socket paths longer than this fail to bind on macOS (104 bytes with the terminator). */
const MAXIMUM_SOCKET_PATH_LENGTH = 103;

/** Where the daemon keeps its files (cli spec §10.3). */
export interface DaemonPaths {
  readonly dataDirectory: string;
  readonly daemonDirectory: string;
  readonly lock: string;
  readonly socket: string;
  readonly log: string;
}

/**
 * The data directory: `$MUTAGEN_DATA_DIRECTORY` when set (it must be non-empty and absolute),
 * otherwise `<home>/.mutagen-ts`. Pure: creates nothing.
 */
export function resolveDataDirectory(env: Readonly<Record<string, string | undefined>>, home: string): string {
  const configured = env['MUTAGEN_DATA_DIRECTORY'];
  if (configured !== undefined) {
    if (configured === '') {
      throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', 'provided data directory path is empty', {
        hint: 'Unset MUTAGEN_DATA_DIRECTORY or set it to an absolute path.',
      });
    }
    if (!path.isAbsolute(configured)) {
      throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `provided data directory path is not absolute: ${configured}`, {
        hint: 'Set MUTAGEN_DATA_DIRECTORY to an absolute path.',
      });
    }
    return path.normalize(configured);
  }
  if (home === '') {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', 'unable to determine home directory', {
      hint: 'Set HOME or MUTAGEN_DATA_DIRECTORY.',
    });
  }
  return path.join(home, DEFAULT_DATA_DIRECTORY_NAME);
}

export function daemonPaths(dataDirectory: string): DaemonPaths {
  const daemonDirectory = path.join(dataDirectory, 'daemon');
  return {
    dataDirectory,
    daemonDirectory,
    lock: path.join(daemonDirectory, 'daemon.lock'),
    socket: path.join(daemonDirectory, 'daemon.sock'),
    log: path.join(daemonDirectory, 'daemon.log'),
  };
}

/** Fails with a clear message when the socket path cannot be bound (length limit of sun_path). */
export function checkSocketPath(socket: string): void {
  if (Buffer.byteLength(socket) > MAXIMUM_SOCKET_PATH_LENGTH) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `daemon socket path is too long (${Buffer.byteLength(socket)} bytes): ${socket}`, {
      hint: `Use a data directory with a shorter path (MUTAGEN_DATA_DIRECTORY); socket paths are limited to ${MAXIMUM_SOCKET_PATH_LENGTH} bytes.`,
    });
  }
}

/** Creates `directory` (and missing parents) with mode 0700; tightens it to 0700 if it existed. */
export async function ensurePrivateDirectory(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true, mode: 0o700 });
  await chmod(directory, 0o700);
}

/** Creates the data directory and its daemon/ folder (both 0700). */
export async function ensureDaemonDirectories(paths: DaemonPaths): Promise<void> {
  await ensurePrivateDirectory(paths.dataDirectory);
  await ensurePrivateDirectory(paths.daemonDirectory);
}
