import { ConfigError, MutagenError } from '../base/errors.js';

/** A path into a decoded YAML document: mapping keys and sequence indices. */
export type KeyPath = readonly (string | number)[];

/** 1-based line and column in a YAML source. */
export interface Position {
  readonly line: number;
  readonly col: number;
}

/** One problem found while loading a file, before it is bound to a file name. */
export interface Problem {
  readonly path: KeyPath;
  readonly position: Position;
  readonly message: string;
  readonly hint?: string;
}

const SIMPLE_KEY = /^[\p{L}\p{N}_-]+$/u;

/** `sync.web.ignore.paths[3]`; keys that are not simple words are quoted: `commands["a b"]`. */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (SIMPLE_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Binds a problem to the file it was found in (`file` is the name shown to the user). */
export function toConfigError(file: string, problem: Problem): ConfigError {
  const at = { file, line: problem.position.line, col: problem.position.col, keyPath: formatKeyPath(problem.path) };
  return new ConfigError(at, problem.message, problem.hint === undefined ? {} : { hint: problem.hint });
}

function compareErrors(a: ConfigError, b: ConfigError): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.col - b.col || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}

/** Sorts by file, line, column and drops exact duplicates (one bad default shared by sessions). */
export function sortConfigErrors(errors: readonly ConfigError[]): ConfigError[] {
  const seen = new Set<string>();
  const out: ConfigError[] = [];
  for (const error of [...errors].sort(compareErrors)) {
    if (seen.has(error.message)) continue;
    seen.add(error.message);
    out.push(error);
  }
  return out;
}

/**
 * Every problem of a project or global configuration file, reported together. The message is
 * one `file:line:col: key.path: problem` line per error, in file order; `errors` has them as
 * `ConfigError`s (code `MUTAGEN_CONFIG`) for renderers that want the parts.
 */
export class ConfigErrors extends MutagenError {
  readonly errors: readonly ConfigError[];

  constructor(errors: readonly ConfigError[]) {
    const sorted = sortConfigErrors(errors);
    const hint = sorted.find((error) => error.hint !== undefined)?.hint;
    super('MUTAGEN_CONFIG', sorted.map((error) => error.message).join('\n'), hint === undefined ? {} : { hint });
    this.name = 'ConfigErrors';
    this.errors = sorted;
  }
}

/** Throws `ConfigErrors` when there is anything to report. */
export function throwIfErrors(errors: readonly ConfigError[]): void {
  if (errors.length > 0) throw new ConfigErrors(errors);
}
