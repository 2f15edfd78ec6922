import { isUtf8 } from 'node:buffer';
import type { BigIntStats, Dirent } from 'node:fs';
import { readdirSync } from 'node:fs';
import { errnoCode, errorMessage } from '../../base/errors.js';

/**
 * Directory listing for the scanner (sync-semantics §2.3 steps 1–2): names with their types from
 * one scandir, and names that are not valid UTF-8 told apart from names holding a real U+FFFD.
 */

/** Mutagen's own temporary files, staging directories and probe files: never recorded. */
export const TEMPORARY_PREFIX = '.mutagen-temporary-';

export type ChildKind = 'file' | 'directory' | 'symlink' | 'special' | 'unknown';

export interface Listing {
  /** The listing with types, or undefined when `names` had to be read as bytes. */
  readonly dirents: Dirent[] | undefined;
  readonly names: string[] | undefined;
  /** Names that are not valid UTF-8 (§2.3 step 2). */
  readonly invalid: Buffer[];
}

/** Failures of scandir that happen while opening the directory rather than reading it. */
const OPEN_ERRORS = new Set(['EACCES', 'EPERM', 'ENOTDIR', 'ELOOP', 'EMFILE', 'ENFILE', 'ENAMETOOLONG']);

export function direntKind(dirent: Dirent): ChildKind {
  if (dirent.isFile()) return 'file';
  if (dirent.isDirectory()) return 'directory';
  if (dirent.isSymbolicLink()) return 'symlink';
  if (dirent.isFIFO() || dirent.isSocket() || dirent.isBlockDevice() || dirent.isCharacterDevice()) return 'special';
  return 'unknown';
}

export function statKind(stat: BigIntStats): ChildKind {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'directory';
  if (stat.isSymbolicLink()) return 'symlink';
  return 'special';
}

/**
 * Lists a directory. Undefined when it vanished; otherwise the listing or the Problematic
 * message (`unable to open directory: …` or `unable to read directory contents: …`).
 */
export function listDirectory(absolute: string): Listing | { readonly problem: string } | undefined {
  try {
    const dirents = readdirSync(absolute, { withFileTypes: true });
    if (!dirents.some((dirent) => dirent.name.includes('\uFFFD'))) return { dirents, names: undefined, invalid: [] };
    // Some name may not be UTF-8: re-list as bytes to tell a real U+FFFD from a replacement.
    const names: string[] = [];
    const invalid: Buffer[] = [];
    for (const raw of readdirSync(absolute, { encoding: 'buffer' })) {
      if (isUtf8(raw)) names.push(raw.toString('utf8'));
      else invalid.push(raw);
    }
    return { dirents: undefined, names, invalid };
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return undefined;
    const what = code !== undefined && OPEN_ERRORS.has(code) ? 'unable to open directory' : 'unable to read directory contents';
    return { problem: `${what}: ${errorMessage(error)}` };
  }
}

/** The name a non-UTF-8 entry is recorded under: invalid bytes as U+FFFD, then a marker. */
export function substituteName(raw: Buffer): string {
  return `${raw.toString('utf8')} (non-UTF-8)`;
}
