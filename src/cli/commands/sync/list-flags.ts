import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { errnoCode, MutagenError } from '../../../base/errors.js';
import { parseTemplate, type JsonTemplate } from '../../render/template.js';
import { addSelectionOptions, type SelectionFlags } from '../../selection.js';

export interface ListFlags extends SelectionFlags {
  readonly long?: boolean;
  readonly json?: boolean;
  readonly template?: string;
  readonly templateFile?: string;
}

/** Flags shared by list and monitor: -l/--long, --label-selector, --json, --template, --template-file. */
export function addListOptions(command: Command): Command {
  command.addOption(new Option('-l, --long', 'show detailed session information'));
  addSelectionOptions(command, { all: false });
  return command
    .addOption(new Option('--json', 'print sessions as a JSON array'))
    .addOption(new Option('--template <template>', 'specify a template for formatting output (only {{json .}})'))
    .addOption(new Option('--template-file <file>', 'specify a file containing a template for formatting output'));
}

/**
 * The JSON template chosen by --json, --template (newline appended) or --template-file (used
 * as written); undefined for the human layout. More than one of them is an error.
 */
export async function resolveTemplate(flags: ListFlags, cwd: string, signal: AbortSignal): Promise<JsonTemplate | undefined> {
  const given = [flags.json === true, flags.template !== undefined, flags.templateFile !== undefined].filter(Boolean).length;
  if (given > 1) throw new MutagenError('MUTAGEN_INVALID_ARGUMENT', 'multiple output formats specified (--json, --template, --template-file)');
  if (flags.json === true) return { prefix: '', suffix: '\n' };
  if (flags.template !== undefined) return parseTemplate(`${flags.template}\n`, '');
  if (flags.templateFile === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(path.resolve(cwd, flags.templateFile), { encoding: 'utf8', signal });
  } catch (error) {
    throw new MutagenError('MUTAGEN_INVALID_ARGUMENT', `unable to load template file (${flags.templateFile}): ${errnoCode(error) ?? String(error)}`, { cause: error });
  }
  return parseTemplate(text, flags.templateFile);
}
