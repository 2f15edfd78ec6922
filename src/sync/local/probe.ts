import { randomBytes } from 'node:crypto';
import { chmod, lstat, open, readdir, statfs, unlink } from 'node:fs/promises';
import path from 'node:path';
import { MutagenError, errorMessage } from '../../base/errors.js';
import type { ProbeMode } from '../../model/configuration.js';

/** What the root's filesystem does to modes and names (sync-semantics §2.2). */
export interface FilesystemBehavior {
  readonly preservesExecutability: boolean;
  readonly decomposesUnicode: boolean;
}

/** Probe files carry Mutagen's temporary prefix, so scans never see them. */
const EXECUTABILITY_PROBE_PREFIX = '.mutagen-temporary-executability-test-';
const UNICODE_PROBE_PREFIX = '.mutagen-temporary-unicode-test-\u00e9ntry-';

/** statfs f_type magic numbers with a known answer (Linux). */
const LINUX_KNOWN: ReadonlyMap<number, FilesystemBehavior> = new Map([
  [0xef53, { preservesExecutability: true, decomposesUnicode: false }], // ext2/3/4
  [0x6969, { preservesExecutability: true, decomposesUnicode: false }], // NFS
]);

const WINDOWS: FilesystemBehavior = { preservesExecutability: false, decomposesUnicode: false };

function probeError(what: string, cause: unknown): MutagenError {
  return new MutagenError('MUTAGEN_SCAN', `unable to probe root ${what} behavior: ${errorMessage(cause)}`, { cause });
}

/**
 * Answers §2.2 for the filesystem holding `root` (for a file root: its parent directory;
 * Unicode decomposition is only probed for directory roots). `assume`: executability on POSIX,
 * no decomposition. `probe`: `cache` (keyed by the root's device id) first, then the statfs fast
 * path, then probe files in the directory (cached in `cache` for directory roots, so the probe
 * files do not keep waking a watcher). Probe failures reject with MutagenError('MUTAGEN_SCAN');
 * an abort rejects with the signal's reason.
 */
export async function probeBehavior(
  root: string,
  rootIsDirectory: boolean,
  mode: ProbeMode,
  signal?: AbortSignal,
  cache?: Map<bigint, FilesystemBehavior>,
): Promise<FilesystemBehavior> {
  if (mode === 'assume') return { preservesExecutability: process.platform !== 'win32', decomposesUnicode: false };
  if (process.platform === 'win32') return WINDOWS;
  const device = (await lstat(root, { bigint: true })).dev;
  const cached = cache?.get(device);
  if (cached !== undefined) return rootIsDirectory ? cached : { ...cached, decomposesUnicode: false };
  signal?.throwIfAborted();
  const directory = rootIsDirectory ? root : path.dirname(root);
  const known = await fastPath(directory);
  if (known !== undefined) return rootIsDirectory ? known : { ...known, decomposesUnicode: false };
  const preservesExecutability = await probeExecutability(directory, signal);
  if (!rootIsDirectory) return { preservesExecutability, decomposesUnicode: false };
  const behavior = { preservesExecutability, decomposesUnicode: await probeDecomposition(directory, signal) };
  cache?.set(device, behavior);
  return behavior;
}

async function fastPath(directory: string): Promise<FilesystemBehavior | undefined> {
  if (process.platform !== 'linux') return undefined;
  try {
    return LINUX_KNOWN.get((await statfs(directory)).type);
  } catch {
    return undefined;
  }
}

function probeName(prefix: string): string {
  return `${prefix}${randomBytes(8).toString('hex')}`;
}

/**
 * Creates a probe file, chmods it to 0700 and checks that exactly the user execute bit reads
 * back. The probe file is always removed.
 */
export async function probeExecutability(directory: string, signal?: AbortSignal): Promise<boolean> {
  signal?.throwIfAborted();
  const file = path.join(directory, probeName(EXECUTABILITY_PROBE_PREFIX));
  try {
    await (await open(file, 'wx', 0o600)).close();
    try {
      await chmod(file, 0o700);
      const mode = (await lstat(file)).mode;
      return (mode & 0o111) === 0o100;
    } finally {
      await unlink(file);
    }
  } catch (error) {
    throw probeError('executability preservation', error);
  }
}

/**
 * Creates a probe file whose name holds a composed `é` and lists the directory: the filesystem
 * decomposes if the listing shows the decomposed form. The probe file is always removed.
 */
export async function probeDecomposition(directory: string, signal?: AbortSignal): Promise<boolean> {
  signal?.throwIfAborted();
  const name = probeName(UNICODE_PROBE_PREFIX);
  const decomposed = name.normalize('NFD');
  const file = path.join(directory, name);
  try {
    await (await open(file, 'wx', 0o600)).close();
    try {
      const names = await readdir(directory);
      if (names.includes(decomposed)) return true;
      if (names.includes(name)) return false;
      throw new Error('probe file not found in directory listing');
    } finally {
      await unlink(file);
    }
  } catch (error) {
    throw probeError('Unicode decomposition', error);
  }
}
