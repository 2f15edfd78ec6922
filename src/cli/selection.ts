import { Option, type Command } from 'commander';
import { MutagenError, wrapError } from '../base/errors.js';
import { parseLabelSelector } from '../model/selector.js';
import type { Selection } from '../model/session.js';

const PREFIX = 'invalid session selection specification';

export interface SelectionFlags {
  readonly all?: boolean;
  readonly labelSelector?: string;
}

/** Adds `-a/--all` (unless `all` is false, as on list/monitor) and `--label-selector`. */
export function addSelectionOptions(command: Command, options: { readonly all: boolean }): Command {
  if (options.all) command.addOption(new Option('-a, --all', 'select all sessions'));
  return command.addOption(new Option('--label-selector <selector>', 'select sessions by label selector'));
}

/**
 * Builds and checks a selection before the daemon is contacted (cli spec §3.5): at most one
 * mechanism (exactly one when `required`), no empty specification, a parsable label selector.
 * Whether specifications match anything is decided by the daemon.
 */
export function buildSelection(specifications: readonly string[], flags: SelectionFlags, required: boolean): Selection {
  const labelSelector = flags.labelSelector === undefined || flags.labelSelector === '' ? undefined : flags.labelSelector;
  const all = flags.all === true;
  const mechanisms = (all ? 1 : 0) + (specifications.length > 0 ? 1 : 0) + (labelSelector !== undefined ? 1 : 0);
  if (mechanisms > 1) throw new MutagenError('MUTAGEN_INVALID_SELECTION', `${PREFIX}: multiple selection mechanisms present`);
  if (mechanisms === 0 && required) throw new MutagenError('MUTAGEN_INVALID_SELECTION', `${PREFIX}: no selection mechanisms present`);
  if (specifications.includes('')) throw new MutagenError('MUTAGEN_INVALID_SELECTION', `${PREFIX}: empty specification`);
  if (labelSelector !== undefined) {
    try {
      parseLabelSelector(labelSelector);
    } catch (error) {
      throw wrapError(PREFIX, error, 'MUTAGEN_INVALID_SELECTION');
    }
  }
  const selection: { all?: boolean; specifications?: string[]; labelSelector?: string } = {};
  if (all) selection.all = true;
  if (specifications.length > 0) selection.specifications = [...new Set(specifications)];
  if (labelSelector !== undefined) selection.labelSelector = labelSelector;
  return selection;
}
