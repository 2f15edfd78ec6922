import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';

/** Path operations of the client platform (`path.win32` for a Windows client). */
export function pathFor(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** `X:\…` or `X:/…`: a Windows absolute path with a drive letter. */
export function isWindowsDrivePath(text: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(text);
}

/**
 * The home directory of `user` from the passwd database (`/etc/passwd`; no native addon), with
 * the current user's own entry from the OS as a fallback. Throws a fragment when unknown.
 */
export function lookupUserHome(user: string, passwdFile = '/etc/passwd'): string {
  let text = '';
  try {
    text = readFileSync(passwdFile, 'utf8');
  } catch {
    // An unreadable database is the same as a user missing from it; the fallback may still know.
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 7 && fields[0] === user) return fields[5] as string;
  }
  try {
    const current = userInfo();
    if (current.username === user && current.homedir !== '') return current.homedir;
  } catch {
    // No current-user entry either.
  }
  throw new Error(`unknown user ${user}`);
}

function expandTilde(raw: string, home: string, platform: NodeJS.Platform): string {
  if (!raw.startsWith('~')) return raw;
  const separator = platform === 'win32' ? /[\\/]/ : /\//;
  const match = separator.exec(raw);
  const user = match === null ? raw.slice(1) : raw.slice(1, match.index);
  const remaining = match === null ? '' : raw.slice(match.index + 1);
  let homeDirectory: string;
  if (user === '') {
    if (home === '') throw new Error('unable to compute path to home directory: $HOME is not defined');
    homeDirectory = home;
  } else {
    try {
      homeDirectory = lookupUserHome(user);
    } catch (error) {
      throw new Error(`unable to lookup user: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  return pathFor(platform).join(homeDirectory, remaining);
}

/**
 * Tilde expansion (`~`, `~user`), then made absolute against `cwd` and cleaned (`.`/`..`
 * resolved, trailing separators removed). Symlinks are not resolved; `${VAR}` is not expanded.
 * Throws an Error whose message is the fragment after `unable to normalize path: `.
 */
export function normalizeLocalPath(raw: string, options: { cwd: string; home: string; platform: NodeJS.Platform }): string {
  let expanded: string;
  try {
    expanded = expandTilde(raw, options.home, options.platform);
  } catch (error) {
    throw new Error(`unable to perform tilde expansion: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return pathFor(options.platform).resolve(options.cwd, expanded);
}
