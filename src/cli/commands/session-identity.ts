import { MutagenError } from '../../base/errors.js';
import { parseLabel } from '../../model/label.js';
import { validateName } from '../../model/name.js';

/** `-n/--name` and `-l/--label` of `sync create` and `forward create`, validated (cli spec §3.1, §3.3). */
export function parseIdentity(flags: { readonly name?: string; readonly label?: readonly string[] }): { name: string; labels: Record<string, string> } {
  const name = flags.name ?? '';
  const problem = validateName(name);
  if (problem !== undefined) throw new MutagenError('MUTAGEN_INVALID_NAME', `invalid session name: ${problem}`);
  const labels: Record<string, string> = {};
  for (const text of flags.label ?? []) {
    const { key, value } = parseLabel(text);
    labels[key] = value;
  }
  return { name, labels };
}
