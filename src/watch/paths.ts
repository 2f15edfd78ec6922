import path from 'node:path';

/** Mutagen's own temporary files, staging directories and probe files (sync-semantics §2.3). */
export const TEMPORARY_PREFIX = '.mutagen-temporary-';

/** True when any component of a root-relative (slash-separated) path is a temporary name. */
export function isTemporaryPath(relative: string): boolean {
  if (relative.startsWith(TEMPORARY_PREFIX)) return true;
  return relative.includes(`/${TEMPORARY_PREFIX}`);
}

/** `candidate` relative to `root` with `/` separators ('' for the root), or undefined when outside it. */
export function relativeTo(root: string, candidate: string): string | undefined {
  const relative = path.relative(root, candidate);
  if (relative === '') return '';
  if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) return undefined;
  return path.sep === '/' ? relative : relative.split(path.sep).join('/');
}
