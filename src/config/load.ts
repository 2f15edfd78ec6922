import fs from 'node:fs';
import path from 'node:path';
import { MutagenError, errnoCode } from '../base/errors.js';
import type { ConfigError } from '../base/errors.js';
import type { ForwardConfiguration, SyncConfiguration } from '../model/configuration.js';
import { validateIgnorePattern } from '../sync/ignore/ignorer.js';
import { toForwardConfiguration, toSyncConfiguration } from './convert.js';
import { ConfigErrors, throwIfErrors, toConfigError } from './errors.js';
import type { Problem } from './errors.js';
import { emptyGlobalConfiguration, normalizeProject } from './normalize.js';
import type { GlobalConfiguration } from './normalize.js';
import type { DesiredProject } from './project.js';
import { globalFileSchema, projectFileSchema } from './schema.js';
import { schemaProblems, sessionNameProblems } from './validate.js';
import { decodeYaml } from './yaml-decode.js';

/** Looked for in this order; [ts] `mutagen.yaml` is an extension (upstream reads only `mutagen.yml`). */
export const PROJECT_FILE_NAMES = ['mutagen.yml', 'mutagen.yaml'] as const;
export const GLOBAL_FILE_NAME = '.mutagen.yml';
const GLOBAL_DISPLAY_NAME = `~/${GLOBAL_FILE_NAME}`;
/** Configuration files are small; anything bigger is a mistake, not a project file. */
const MAX_FILE_SIZE = 4 * 1024 * 1024;

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Which project file a project command uses (cli spec §7.1): `explicit` (`-f`, resolved against
 * `cwd`), else `mutagen.yml`, else `mutagen.yaml` in `cwd` (both present: `mutagen.yml`, with a
 * warning). When none exists the default `mutagen.yml` path is returned all the same: the lock
 * file lives beside it, and `loadProject` reports the missing file. Synchronous; stats only.
 * Throws `MUTAGEN_INVALID_ARGUMENT` when `explicit` names a directory.
 */
export function findProjectFile(cwd: string, explicit?: string): { file: string; warnings: string[] } {
  if (explicit !== undefined && explicit !== '') {
    const file = path.resolve(cwd, explicit);
    if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory() === true) {
      throw new MutagenError('MUTAGEN_INVALID_ARGUMENT', `project file is a directory: ${file}`, {
        hint: `Pass the project file itself, e.g. -f ${path.join(explicit, PROJECT_FILE_NAMES[0])}.`,
      });
    }
    return { file, warnings: [] };
  }
  const [yml, yaml] = PROJECT_FILE_NAMES.map((name) => path.join(path.resolve(cwd), name)) as [string, string];
  const hasYml = isFile(yml);
  const hasYaml = isFile(yaml);
  if (hasYml && hasYaml) return { file: yml, warnings: [`both mutagen.yml and mutagen.yaml exist in ${path.dirname(yml)}; using mutagen.yml`] };
  return { file: hasYaml ? yaml : yml, warnings: [] };
}

/** The file's text, or `undefined` when it does not exist. Other read failures throw. */
function readConfigurationFile(file: string, display: string): string | undefined {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw new MutagenError('MUTAGEN_CONFIG', `unable to load configuration file: ${display}: ${(error as Error).message}`, { cause: error });
  }
  if (size > MAX_FILE_SIZE) {
    throw new MutagenError('MUTAGEN_CONFIG', `unable to load configuration file: ${display} is ${size} bytes (at most ${MAX_FILE_SIZE} expected)`);
  }
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new MutagenError('MUTAGEN_CONFIG', `unable to load configuration file: ${display}: ${(error as Error).message}`, { cause: error });
  }
}

function globalProblems(value: unknown): Problem[] {
  const parsed = globalFileSchema.safeParse(value);
  if (!parsed.success) return [];
  const defaults = parsed.data.sync?.defaults;
  const syntax = defaults?.ignore?.syntax ?? 'mutagen';
  const problems: Problem[] = [];
  for (const [index, pattern] of (defaults?.ignore?.paths ?? []).entries()) {
    const reason = validateIgnorePattern(syntax, pattern);
    if (reason === undefined) continue;
    problems.push({ path: ['sync', 'defaults', 'ignore', 'paths', index], position: { line: 1, col: 1 }, message: `invalid ignore pattern ${JSON.stringify(pattern)}: ${reason} (for ${syntax} ignore syntax)` });
  }
  return problems;
}

/** Loads `~/.mutagen.yml`; ConfigErrors carry every problem in it. */
function loadGlobal(home: string): { configuration: GlobalConfiguration; errors: ConfigError[] } {
  return loadDefaultsFile(path.join(home, GLOBAL_FILE_NAME), GLOBAL_DISPLAY_NAME, false);
}

/** Reads a file in the global configuration format; `required` makes a missing file an error. */
function loadDefaultsFile(file: string, display: string, required: boolean): { configuration: GlobalConfiguration; errors: ConfigError[] } {
  const source = readConfigurationFile(file, display);
  if (source === undefined) {
    if (!required) return { configuration: emptyGlobalConfiguration(), errors: [] };
    throw new MutagenError('MUTAGEN_NOT_FOUND', `unable to load configuration file (${display}): file does not exist`);
  }
    const decoded = decodeYaml(source, globalFileSchema);
  // [ts] An empty or comments-only global file means "no defaults" (upstream fails on it).
  const problems = [...decoded.problems];
  if (decoded.value !== undefined) problems.push(...schemaProblems(globalFileSchema, decoded.value, decoded.positions));
  if (problems.length === 0) {
    problems.push(...globalProblems(decoded.value).map((problem) => ({ ...problem, position: decoded.positions.value(problem.path) })));
  }
  const errors = problems.map((problem) => toConfigError(display, problem));
  const parsed = globalFileSchema.safeParse(decoded.value ?? {});
  if (errors.length > 0 || !parsed.success) return { configuration: emptyGlobalConfiguration(), errors };
  return {
    configuration: {
      sync: toSyncConfiguration(parsed.data.sync?.defaults ?? {}),
      forward: toForwardConfiguration(parsed.data.forward?.defaults ?? {}),
    },
    errors,
  };
}

/**
 * Reads the global configuration file `<home>/.mutagen.yml` (cli spec §5.4): strict, session
 * level only; missing, empty or comments-only = no defaults. Throws `ConfigErrors` when invalid.
 */
export function loadGlobalConfiguration(home: string): { sync: SyncConfiguration; forward: ForwardConfiguration } {
  const { configuration, errors } = loadGlobal(home);
  throwIfErrors(errors);
  return { sync: configuration.sync, forward: configuration.forward };
}

/**
 * Reads an extra defaults file given with `-c/--configuration-file` (same format and strictness
 * as the global file; a missing file is an error). Throws `ConfigErrors` when invalid.
 */
export function loadConfigurationFile(file: string): { sync: SyncConfiguration; forward: ForwardConfiguration } {
  const { configuration, errors } = loadDefaultsFile(path.resolve(file), file, true);
  throwIfErrors(errors);
  return { sync: configuration.sync, forward: configuration.forward };
}

export interface LoadProjectOptions {
  /** `$HOME` of the CLI: `~` in local URLs and the global file's folder. */
  readonly home: string;
  /** The CLI's environment: Docker variables captured into docker:// URLs. Never expanded in the file. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** false = `--no-global-configuration`. */
  readonly globalConfiguration: boolean;
  /** File name used in messages (default: the base name, as the CLI runs in the file's folder). */
  readonly displayName?: string;
}

/**
 * Loads, validates and normalises a project file (cli spec §7.2–7.4). Synchronous (small file,
 * read once). Every problem of the file — YAML syntax, duplicate keys, unknown keys, wrong
 * types, bad values, session names, URLs, ignore patterns — and of the global file is thrown
 * together as one `ConfigErrors` (`file:line:col: key.path: problem` each); a missing or
 * unreadable file throws `MutagenError` (`MUTAGEN_NOT_FOUND` / `MUTAGEN_CONFIG`).
 */
export function loadProject(file: string, options: LoadProjectOptions): DesiredProject {
  const absolute = path.resolve(file);
  const display = options.displayName ?? path.basename(absolute);
  const source = readConfigurationFile(absolute, display);
  if (source === undefined) {
    throw new MutagenError('MUTAGEN_NOT_FOUND', `unable to load configuration file: ${display} does not exist`, {
      hint: `Create ${display} in the project folder, or pass its path with -f/--project-file.`,
    });
  }
  const decoded = decodeYaml(source, projectFileSchema);
  const problems = [...decoded.problems];
  if (decoded.value === undefined) {
    if (problems.length === 0) {
      problems.push({ path: [], position: { line: 1, col: 1 }, message: 'the file is empty (expected a mapping with sync, forward, hooks or commands)' });
    }
    throw new ConfigErrors(problems.map((problem) => toConfigError(display, problem)));
  }
  problems.push(...schemaProblems(projectFileSchema, decoded.value, decoded.positions));
  problems.push(...sessionNameProblems(decoded.value, decoded.positions));
  const global = options.globalConfiguration ? loadGlobal(options.home) : { configuration: emptyGlobalConfiguration(), errors: [] };
  const directory = path.dirname(absolute);
  const context = { file: absolute, directory, home: options.home, env: options.env, global: global.configuration, positions: decoded.positions };
  const { project, problems: normalizeProblems } = normalizeProject(decoded.value, context);
  problems.push(...normalizeProblems);
  throwIfErrors([...problems.map((problem) => toConfigError(display, problem)), ...global.errors]);
  return project;
}
