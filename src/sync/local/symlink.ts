/**
 * Portable symbolic link rules (sync-semantics §2.6). Pure string checks; no filesystem access.
 */

/** Windows turns targets of 248 characters or more into extended paths, which do not round-trip. */
export const MAXIMUM_PORTABLE_TARGET_LENGTH = 247;

const IS_WINDOWS = process.platform === 'win32';

/**
 * Normalises a symbolic link target read at `linkPath` (root-relative, `/`-separated) and checks
 * that it can be propagated portably: non-empty, at most 247 bytes, no colon, no backslash
 * (converted to `/` on Windows), relative, and never leaving the synchronization root while it is
 * walked component by component. On failure `problem` is the full Problematic message,
 * `invalid symbolic link: <reason>`.
 */
export function normalizePortableTarget(linkPath: string, target: string): { target: string } | { problem: string } {
  const reason = portabilityProblem(linkPath, target);
  if (reason !== undefined) return { problem: `invalid symbolic link: ${reason}` };
  return { target: IS_WINDOWS ? target.replaceAll('\\', '/') : target };
}

function portabilityProblem(linkPath: string, rawTarget: string): string | undefined {
  if (rawTarget === '') return 'target empty';
  if (Buffer.byteLength(rawTarget, 'utf8') > MAXIMUM_PORTABLE_TARGET_LENGTH) return 'target too long';
  if (rawTarget.includes(':')) return 'colon in target (absolute or unsupported path)';
  let target = rawTarget;
  if (IS_WINDOWS) target = target.replaceAll('\\', '/');
  else if (target.includes('\\')) return 'backslash in target';
  if (target.startsWith('/')) return 'target is absolute';
  if (escapesRoot(linkPath, target)) return 'target references location outside synchronization root';
  return undefined;
}

/**
 * Dereferencing the link removes one level, so the walk starts at the number of `/` in the link
 * path. Checked per component: leaving the root and coming back is still an escape.
 */
function escapesRoot(linkPath: string, target: string): boolean {
  let depth = 0;
  for (let i = 0; i < linkPath.length; i++) if (linkPath.charCodeAt(i) === 0x2f) depth++;
  for (const component of target.split('/')) {
    if (component === '.') continue;
    depth += component === '..' ? -1 : 1;
    if (depth < 0) return true;
  }
  return false;
}
