import { accountDatabaseFile, lookUpAccountId, MAX_ACCOUNT_ID, type AccountDatabases } from '../../base/accounts.js';
import { errorMessage, MutagenError } from '../../base/errors.js';

export type { AccountDatabases } from '../../base/accounts.js';

const NUMERIC_ID = /^[0-9]+$/;

/**
 * Resolves a socket owner or group spec (cli spec §5.2) to a numeric id: `id:<n>`, a bare decimal
 * number, or a name looked up in /etc/passwd or /etc/group (read directly: no native addon, so it
 * works inside the agent). Unset or empty → undefined (leave as created). Throws
 * MUTAGEN_INVALID_CONFIGURATION with `invalid ownership specification` for a bad or unknown spec.
 */
export async function resolveAccountId(
  spec: string | undefined,
  kind: 'user' | 'group',
  options: AccountDatabases & { readonly signal?: AbortSignal } = {},
): Promise<number | undefined> {
  if (spec === undefined || spec === '') return undefined;
  const what = kind === 'user' ? 'owner' : 'group';
  const numeric = spec.startsWith('id:') ? spec.slice(3) : NUMERIC_ID.test(spec) ? spec : undefined;
  if (numeric !== undefined) {
    const id = NUMERIC_ID.test(numeric) ? Number(numeric) : Number.NaN;
    if (!Number.isSafeInteger(id) || id > MAX_ACCOUNT_ID) {
      throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `invalid ownership specification for socket ${what}: "${spec}" is not a valid numeric id`);
    }
    return id;
  }
  const file = accountDatabaseFile(kind, options);
  let id: number | undefined;
  try {
    id = await lookUpAccountId(kind, spec, options, options.signal);
  } catch (error) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `invalid ownership specification for socket ${what}: unable to read ${file}: ${errorMessage(error)}`, { cause: error });
  }
  if (id === undefined) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `invalid ownership specification for socket ${what}: no ${kind} named "${spec}" in ${file}`, {
      hint: `Use an existing ${kind} name, or a numeric id written as id:<n>.`,
    });
  }
  return id;
}
