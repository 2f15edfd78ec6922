import { MutagenError } from '../base/errors.js';
import { parseLabelSelector } from './selector.js';
import type { Selection } from './session.js';

export interface Selectable {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

const PREFIX = 'invalid session selection specification';

/**
 * Resolves a selection against sessions in creation order (cli spec §3.5): exactly one
 * mechanism (or none when `allowNone`, meaning all); each specification must match the exact
 * identifier or name of at least one session; a selector matching nothing is not an error.
 */
export function selectSessions<T extends Selectable>(sessions: readonly T[], selection: Selection, options: { readonly allowNone: boolean }): T[] {
  const specifications = selection.specifications ?? [];
  const mechanisms = (selection.all === true ? 1 : 0) + (specifications.length > 0 ? 1 : 0) + (selection.labelSelector !== undefined ? 1 : 0);
  if (mechanisms > 1) throw new MutagenError('MUTAGEN_INVALID_SELECTION', `${PREFIX}: multiple selection mechanisms present`);
  if (mechanisms === 0) {
    if (options.allowNone) return [...sessions];
    throw new MutagenError('MUTAGEN_INVALID_SELECTION', `${PREFIX}: no selection mechanisms present`);
  }
  if (selection.all === true) return [...sessions];
  if (selection.labelSelector !== undefined) {
    const selector = parseLabelSelector(selection.labelSelector);
    return sessions.filter((s) => selector.matches(s.labels));
  }
  const chosen = new Set<string>();
  for (const specification of specifications) {
    if (specification === '') throw new MutagenError('MUTAGEN_INVALID_SELECTION', `${PREFIX}: empty specification`);
    const matches = sessions.filter((s) => s.id === specification || s.name === specification);
    if (matches.length === 0) {
      throw new MutagenError('MUTAGEN_NOT_FOUND', `unable to locate requested sessions: specification "${specification}" did not match any sessions`);
    }
    for (const match of matches) chosen.add(match.id);
  }
  return sessions.filter((s) => chosen.has(s.id));
}
