import { MutagenError } from '../../../base/errors.js';

/**
 * Who commands run as in a container, and where `~` is. Pure parsers for what the probe reads:
 * `env` output, `id` output, `/etc/passwd`. All input comes from the container: untrusted.
 */
export interface ContainerUser {
  /** HOME as the engine sets it for an exec as this user (from /etc/passwd, else `/`). */
  readonly home: string;
  readonly uid: number;
  readonly gid: number;
  /** The user name when the container knows it. */
  readonly name?: string;
}

/** HOME from `env` output (NAME=value lines); undefined when absent or not absolute. */
export function parseEnvHome(text: string): string | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('HOME=')) {
      const home = line.slice('HOME='.length).replace(/\r$/, '');
      return home.startsWith('/') ? home : undefined;
    }
  }
  return undefined;
}

export interface IdOutput {
  readonly uid: number;
  readonly gid: number;
  readonly name?: string;
}

/** `uid=1000(app) gid=1000(app) groups=...` (GNU coreutils and busybox). */
export function parseIdOutput(text: string): IdOutput | undefined {
  const match = /^uid=(\d+)(?:\(([^)]*)\))? gid=(\d+)/.exec(text.trim());
  if (match === null) return undefined;
  const uid = Number(match[1]);
  const gid = Number(match[3]);
  if (!Number.isSafeInteger(uid) || !Number.isSafeInteger(gid)) return undefined;
  return match[2] === undefined ? { uid, gid } : { uid, gid, name: match[2] };
}

export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.replace(/\r$/, '').split(':');
    if (fields.length < 7 || line.startsWith('#')) continue;
    const [name = '', , uidText = '', gidText = '', , home = ''] = fields;
    const uid = Number(uidText);
    const gid = Number(gidText);
    if (name === '' || !/^\d+$/.test(uidText) || !/^\d+$/.test(gidText)) continue;
    entries.push({ name, uid, gid, home });
  }
  return entries;
}

/** `name[:group]` or `uid[:gid]` as given to `--user`; '' = root. */
export function splitUserSpec(spec: string): { readonly user: string; readonly group?: string } {
  const colon = spec.indexOf(':');
  if (colon === -1) return { user: spec === '' ? 'root' : spec };
  const user = spec.slice(0, colon);
  return { user: user === '' ? 'root' : user, group: spec.slice(colon + 1) };
}

/**
 * Resolves a user spec against /etc/passwd the way the engine does for `exec --user`: a name
 * must exist; a numeric uid need not (then home `/`, gid 0); a numeric group overrides the gid.
 * `passwd` undefined = the container has no /etc/passwd.
 */
export function resolveFromPasswd(spec: string, passwd: string | undefined): ContainerUser {
  const { user, group } = splitUserSpec(spec);
  const entries = passwd === undefined ? [] : parsePasswd(passwd);
  const numeric = /^\d+$/.test(user);
  const entry = entries.find((candidate) => (numeric ? candidate.uid === Number(user) : candidate.name === user));
  if (entry === undefined && !numeric && user !== 'root') {
    throw new MutagenError('MUTAGEN_TRANSPORT', `unable to find user ${user}: no matching entries in passwd file`, {
      hint: 'Use a user that exists in the container (or a numeric uid) in the docker:// URL.',
    });
  }
  const gid = group !== undefined && /^\d+$/.test(group) ? Number(group) : (entry?.gid ?? 0);
  const uid = entry?.uid ?? (numeric ? Number(user) : 0);
  const home = entry?.home !== undefined && entry.home.startsWith('/') ? entry.home : '/';
  return entry === undefined ? { home, uid, gid } : { home, uid, gid, name: entry.name };
}
