import { CommanderError } from 'commander';
import { MutagenError } from '../base/errors.js';

/**
 * Argument helpers shared by the commands: CSV splitting of list flags, unsigned integer flags,
 * and the translation of commander's errors into our messages (cli spec §1).
 */

function invalidArgument(value: string, flag: string, reason: string): MutagenError {
  return new MutagenError('MUTAGEN_INVALID_ARGUMENT', `invalid argument ${JSON.stringify(value)} for "${flag}" flag: ${reason}`);
}

/**
 * Splits one flag occurrence with CSV rules (Go's encoding/csv on a single record): fields are
 * separated by commas, a field that starts with `"` is quoted (`""` is a literal quote), and a
 * bare `"` inside an unquoted field is an error. The empty string yields no values.
 */
export function splitCsv(value: string, flag: string): string[] {
  if (value === '') return [];
  const fields: string[] = [];
  let index = 0;
  for (;;) {
    let field = '';
    if (value[index] === '"') {
      index++;
      for (;;) {
        const quote = value.indexOf('"', index);
        if (quote < 0) throw invalidArgument(value, flag, 'extraneous or missing " in quoted field');
        field += value.slice(index, quote);
        index = quote + 1;
        if (value[index] !== '"') break;
        field += '"';
        index++;
      }
      if (index < value.length && value[index] !== ',') throw invalidArgument(value, flag, 'extraneous or missing " in quoted field');
    } else {
      const comma = value.indexOf(',', index);
      field = value.slice(index, comma < 0 ? value.length : comma);
      if (field.includes('"')) throw invalidArgument(value, flag, 'bare " in non-quoted field');
      index += field.length;
    }
    fields.push(field);
    if (index >= value.length) return fields;
    index++;
  }
}

/** A commander option parser accumulating CSV-split values of a repeatable flag. */
export function csvList(flag: string): (value: string, previous: string[] | undefined) => string[] {
  return (value, previous) => [...(previous ?? []), ...splitCsv(value, flag)];
}

/** A commander option parser for an unsigned integer flag of `bits` bits (values beyond 2⁵³ are refused). */
export function unsignedInteger(flag: string, bits: 32 | 64): (value: string) => number {
  const limit = bits === 32 ? 0xffff_ffff : Number.MAX_SAFE_INTEGER;
  return (value) => {
    if (!/^[0-9]+$/.test(value)) throw invalidArgument(value, flag, 'invalid syntax');
    const parsed = Number(value);
    if (!Number.isSafeInteger(parsed) || parsed > limit) throw invalidArgument(value, flag, 'value out of range');
    return parsed;
  };
}

const QUOTED = /'([^']*)'/;

/**
 * Maps a commander failure to exit 0 (help, version) or to our user error. Unknown commands
 * never come from commander (group commands report them), nor do bad flag values (our parsers
 * throw MutagenErrors directly).
 */
export function translateCommanderError(error: CommanderError): MutagenError | 'success' {
  if (error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 'success';
  const quoted = QUOTED.exec(error.message)?.[1] ?? '';
  const flag = quoted.split(/[ ,]+/).find((part) => part.startsWith('--')) ?? quoted.split(/[ ,]+/)[0] ?? quoted;
  switch (error.code) {
    case 'commander.unknownOption':
      return new MutagenError('MUTAGEN_INVALID_ARGUMENT', `unknown flag: ${quoted}`);
    case 'commander.excessArguments':
      return new MutagenError('MUTAGEN_INVALID_ARGUMENT', 'command does not accept arguments');
    case 'commander.optionMissingArgument':
      return new MutagenError('MUTAGEN_INVALID_ARGUMENT', `flag needs an argument: ${flag}`);
    case 'commander.unknownCommand':
      return new MutagenError('MUTAGEN_INVALID_ARGUMENT', `unknown command "${quoted}"`);
    default:
      return new MutagenError('MUTAGEN_INVALID_ARGUMENT', error.message.replace(/^error: /, ''));
  }
}

export function isCommanderError(error: unknown): error is CommanderError {
  return error instanceof CommanderError;
}
