import { chown, lchown } from './sync-fs.js';
import { accountDatabaseFile, lookUpAccountId, MAX_ACCOUNT_ID, type AccountDatabases } from '../../base/accounts.js';
import { errorMessage, MutagenError } from '../../base/errors.js';

/** Where names are looked up; tests and unusual systems may point elsewhere. */
export interface OwnershipDatabases extends AccountDatabases {
  readonly signal?: AbortSignal;
}

const NUMERIC_ID = /^(0|[1-9][0-9]*)$/;

/**
 * Resolves an ownership spec (sync-semantics §2.10) to a numeric POSIX id: `id:<n>` (no leading
 * zeros except `0`) or a user/group name looked up in /etc/passwd or /etc/group. `undefined`
 * (unset) stays undefined: ownership is then left as the process creates it. `sid:` specs are
 * Windows-only and rejected here. Failures are MutagenError('MUTAGEN_INVALID_CONFIGURATION').
 */
export async function resolveOwnership(
  spec: string | undefined,
  kind: 'user' | 'group',
  databases: OwnershipDatabases = {},
): Promise<number | undefined> {
  if (spec === undefined || spec === '') return undefined;
  const what = kind === 'user' ? 'owner' : 'group';
  if (spec.startsWith('id:')) return parseNumericId(spec.slice(3), what);
  if (spec.startsWith('sid:')) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `invalid ${what} specification "${spec}": windows security identifiers are not supported on this platform`);
  }
  const file = accountDatabaseFile(kind, databases);
  let id: number | undefined;
  try {
    id = await lookUpAccountId(kind, spec, databases, databases.signal);
  } catch (error) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `unable to look up ${what} "${spec}": unable to read ${file}: ${errorMessage(error)}`, { cause: error });
  }
  if (id === undefined) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `unable to look up ${what} "${spec}": no such ${kind} in ${file}`, {
      hint: `Use an existing ${kind} name or a numeric id written as id:<n>.`,
    });
  }
  return id;
}

function parseNumericId(text: string, what: string): number {
  if (!NUMERIC_ID.test(text)) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `invalid ${what} specification "id:${text}": expected a decimal id without leading zeros`);
  }
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id > MAX_ACCOUNT_ID) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `invalid ${what} specification "id:${text}": id out of range`);
  }
  return id;
}

/**
 * Applies ownership with chown (lchown for symbolic links) when an owner or group is set; an
 * unset half is passed as -1 (unchanged). Nothing happens when both are unset.
 */
export async function applyOwnership(
  target: string,
  ownership: { readonly owner: number | undefined; readonly group: number | undefined },
  options: { readonly symlink?: boolean } = {},
): Promise<void> {
  if (ownership.owner === undefined && ownership.group === undefined) return;
  const uid = ownership.owner ?? -1;
  const gid = ownership.group ?? -1;
  if (options.symlink === true) await lchown(target, uid, gid);
  else await chown(target, uid, gid);
}
