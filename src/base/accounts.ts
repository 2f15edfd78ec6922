import { readFile } from 'node:fs/promises';

/** Where account names are looked up; tests and unusual systems may point elsewhere. */
export interface AccountDatabases {
  readonly passwdFile?: string;
  readonly groupFile?: string;
}

/** The largest POSIX id accepted ((uid_t)-1 means "unchanged" to chown). */
export const MAX_ACCOUNT_ID = 0xffff_fffe;

const DECIMAL = /^[0-9]+$/;

/** The passwd (users) or group database file. */
export function accountDatabaseFile(kind: 'user' | 'group', databases: AccountDatabases = {}): string {
  return kind === 'user' ? (databases.passwdFile ?? '/etc/passwd') : (databases.groupFile ?? '/etc/group');
}

/**
 * Looks `name` up in /etc/passwd or /etc/group, read directly (no native addon, so it works in
 * the agent too). Resolves to the numeric id, or undefined when no entry has that name (or its id
 * field is not a decimal number). Rejects with the read error when the file cannot be read.
 */
export async function lookUpAccountId(
  kind: 'user' | 'group',
  name: string,
  databases: AccountDatabases = {},
  signal?: AbortSignal,
): Promise<number | undefined> {
  const text = await readFile(accountDatabaseFile(kind, databases), { encoding: 'utf8', ...(signal === undefined ? {} : { signal }) });
  // passwd and group lines both start `name:password:id:`; comments and blank lines are skipped.
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    if (fields[0] !== name || fields.length < 3) continue;
    const id = fields[2] ?? '';
    return DECIMAL.test(id) && Number(id) <= MAX_ACCOUNT_ID ? Number(id) : undefined;
  }
  return undefined;
}
