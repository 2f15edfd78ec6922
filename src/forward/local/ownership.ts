import { readFile } from 'node:fs/promises';
import { errorMessage, MutagenError } from '../../base/errors.js';

const NUMERIC_ID = /^[0-9]+$/;
const MAX_ID = 0xffff_fffe;

/** Where names are looked up; tests and unusual systems may point elsewhere. */
export interface AccountDatabases {
  readonly passwdFile?: string;
  readonly groupFile?: string;
}

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
    if (!Number.isSafeInteger(id) || id > MAX_ID) {
      throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `invalid ownership specification for socket ${what}: "${spec}" is not a valid numeric id`);
    }
    return id;
  }
  const file = kind === 'user' ? (options.passwdFile ?? '/etc/passwd') : (options.groupFile ?? '/etc/group');
  let text: string;
  try {
    text = await readFile(file, { encoding: 'utf8', ...(options.signal === undefined ? {} : { signal: options.signal }) });
  } catch (error) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `invalid ownership specification for socket ${what}: unable to read ${file}: ${errorMessage(error)}`, { cause: error });
  }
  const id = lookUpName(text, spec);
  if (id === undefined) {
    throw new MutagenError('MUTAGEN_INVALID_CONFIGURATION', `invalid ownership specification for socket ${what}: no ${kind} named "${spec}" in ${file}`, {
      hint: `Use an existing ${kind} name, or a numeric id written as id:<n>.`,
    });
  }
  return id;
}

/** passwd and group lines both start `name:password:id:`; comments and blank lines are skipped. */
function lookUpName(database: string, name: string): number | undefined {
  for (const line of database.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    if (fields[0] !== name || fields.length < 3) continue;
    const id = fields[2] ?? '';
    return NUMERIC_ID.test(id) ? Number(id) : undefined;
  }
  return undefined;
}
