import { isUtf8 } from 'node:buffer';
import { readlinkSync } from 'node:fs';
import { errnoCode, errorMessage } from '../../base/errors.js';
import type { SymlinkMode } from '../../model/configuration.js';
import type { Entry } from '../../model/entry.js';

/**
 * Symbolic link rules (sync-semantics §2.6): the portable checks are pure string checks; the
 * scanner reads links through readSymbolicLink.
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

/**
 * The scan entry for the symbolic link at `absolute` (root-relative `path`) in `mode`: Untracked in
 * `ignore` mode, the (normalised) target, or Problematic. Undefined when it vanished. The link is
 * never followed; a target that is not valid UTF-8 is Problematic.
 */
export function readSymbolicLink(path: string, absolute: string, mode: SymlinkMode): Entry | undefined {
  if (mode === 'ignore') return { kind: 'untracked' };
  let raw: Buffer;
  try {
    raw = readlinkSync(absolute, { encoding: 'buffer' });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    return { kind: 'problematic', problem: `unable to read symbolic link target: ${errorMessage(error)}` };
  }
  if (!isUtf8(raw)) return { kind: 'problematic', problem: 'symbolic link target is not valid UTF-8' };
  const target = raw.toString('utf8');
  if (mode === 'portable') {
    const normalized = normalizePortableTarget(path, target);
    return 'problem' in normalized ? { kind: 'problematic', problem: normalized.problem } : { kind: 'symlink', target: normalized.target };
  }
  if (target === '') return { kind: 'problematic', problem: 'symbolic link target is empty' };
  return { kind: 'symlink', target };
}
