import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode, MutagenError } from '../../../base/errors.js';

/** One usable line of a known_hosts file. */
export interface KnownHostEntry {
  readonly file: string;
  readonly line: number;
  readonly marker: 'revoked' | 'cert-authority' | undefined;
  /** Comma-separated patterns (may be negated) or one `|1|salt|hash` hashed name. */
  readonly hosts: string;
  readonly keyType: string;
  readonly key: Buffer;
}

export type HostKeyStatus =
  | { readonly kind: 'match'; readonly entry: KnownHostEntry }
  | { readonly kind: 'revoked'; readonly entry: KnownHostEntry }
  /** A key of the same type is known for this host and differs: possible attack. */
  | { readonly kind: 'mismatch'; readonly entry: KnownHostEntry }
  /** Nothing of this type is known; `otherTypes` lists key types that are. */
  | { readonly kind: 'unknown'; readonly otherTypes: readonly string[] };

/** The name looked up in known_hosts: `host`, or `[host]:port` when the port is not 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Parses known_hosts text; malformed lines are skipped as OpenSSH does. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    let marker: KnownHostEntry['marker'];
    if (fields[0].startsWith('@')) {
      const name = fields.shift();
      if (name === '@revoked') marker = 'revoked';
      else if (name === '@cert-authority') marker = 'cert-authority';
      else return;
    }
    const [hosts, keyType, keyText] = fields;
    if (hosts === undefined || keyType === undefined || keyText === undefined) return;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyText)) return;
    entries.push({ file, line: index + 1, marker, hosts, keyType, key: Buffer.from(keyText, 'base64') });
  });
  return entries;
}

/** Reads and parses files in order; missing files are empty. */
export async function readKnownHosts(files: readonly string[]): Promise<KnownHostEntry[]> {
  const entries: KnownHostEntry[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new MutagenError('MUTAGEN_HOST_KEY', `unable to read known hosts file ${file}: ${code ?? String(error)}`, { cause: error });
    }
    entries.push(...parseKnownHosts(text, file));
  }
  return entries;
}

/** Whether an entry's host field names `name` (hashed entries by HMAC-SHA1, else patterns). */
export function entryMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (salt === undefined || hash === undefined) return false;
    const expected = Buffer.from(hash, 'base64');
    const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
  return matchPatternList(hosts.split(','), name);
}

/** OpenSSH's match_pattern_list: a matching negated pattern wins; case-insensitive; `*`, `?`. */
export function matchPatternList(patterns: readonly string[], name: string): boolean {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const body = negated ? pattern.slice(1) : pattern;
    const source = body.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    if (!new RegExp(`^${source}$`, 'i').test(name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** Checks a presented key (its type and wire blob) for `name` against parsed entries. */
export function checkHostKey(entries: readonly KnownHostEntry[], name: string, keyType: string, key: Buffer): HostKeyStatus {
  const forHost = entries.filter((entry) => entry.marker !== 'cert-authority' && entryMatches(entry.hosts, name));
  const revoked = entries.find((entry) => entry.marker === 'revoked' && entry.key.equals(key));
  if (revoked !== undefined) return { kind: 'revoked', entry: revoked };
  const plain = forHost.filter((entry) => entry.marker === undefined);
  const match = plain.find((entry) => entry.key.equals(key));
  if (match !== undefined) return { kind: 'match', entry: match };
  const changed = plain.find((entry) => entry.keyType === keyType);
  if (changed !== undefined) return { kind: 'mismatch', entry: changed };
  return { kind: 'unknown', otherTypes: [...new Set(plain.map((entry) => entry.keyType))] };
}

/** The key types known for `name`, in file order (to prefer them when negotiating). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], name: string): string[] {
  const types = entries
    .filter((entry) => entry.marker === undefined && entryMatches(entry.hosts, name))
    .map((entry) => entry.keyType);
  return [...new Set(types)];
}

/** OpenSSH's fingerprint: `SHA256:` + unpadded base64 of the blob's SHA-256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** A known_hosts host field; hashed (`|1|salt|hmac`) when `hashed`. */
export function hostField(name: string, hashed: boolean): string {
  if (!hashed) return name;
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

/**
 * Appends one entry with a single append write (creating the folder 0700 and the file 0600 when
 * missing), so concurrent readers see the old or the new content, never half a line.
 */
export async function appendKnownHost(file: string, entry: { name: string; keyType: string; key: Buffer; hashed: boolean }): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const handle = await open(file, 'a+', 0o600);
  try {
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await handle.appendFile(`${prefix}${hostField(entry.name, entry.hashed)} ${entry.keyType} ${entry.key.toString('base64')}\n`);
  } finally {
    await handle.close();
  }
}
