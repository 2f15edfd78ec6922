import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import SSHConfig, { glob, LineType, type Section } from 'ssh-config';
import { errnoCode, MutagenError } from '../../../base/errors.js';

/** OpenSSH's READCONF_MAX_DEPTH: deeper Include nesting is an error (it catches loops). */
const MAX_INCLUDE_DEPTH = 16;

export interface ConfigFileOptions {
  /** The host being resolved: `Include` inside a non-matching `Host` block is not read. */
  readonly host: string;
  /** Relative `Include` paths are taken relative to this folder (~/.ssh or /etc/ssh). */
  readonly includeBase: string;
  /** For `~` in `Include` paths. */
  readonly home: string;
}

/**
 * Reads an ssh_config file with its `Include`s spliced in, as one flat SSHConfig that the
 * package's compute() can evaluate (it knows nothing of Include). A missing file is empty.
 *
 * Include semantics: at top level the included lines replace the directive. Inside a `Host`
 * block the file is read only if the block matches `host` (OpenSSH's conditional include); its
 * leading directives join the block and its own Host/Match blocks follow as top-level blocks,
 * then the rest of the outer block continues under the outer condition. Inside a `Match` block
 * (not evaluated here) the included Host/Match blocks are not additionally conditioned on it.
 */
export async function readConfigFile(file: string, options: ConfigFileOptions): Promise<SSHConfig> {
  const out = new SSHConfig();
  await spliceFile(file, options, 0, out);
  return out;
}

async function spliceFile(file: string, options: ConfigFileOptions, depth: number, out: SSHConfig): Promise<void> {
  if (depth > MAX_INCLUDE_DEPTH) {
    throw new MutagenError('MUTAGEN_TRANSPORT', `ssh config include nested too deep at ${file}`, {
      hint: 'Check the Include directives of your ssh config for a loop.',
    });
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return;
    throw new MutagenError('MUTAGEN_TRANSPORT', `unable to read ssh config ${file}: ${code ?? String(error)}`, { cause: error });
  }
  let parsed: SSHConfig;
  try {
    parsed = SSHConfig.parse(text);
  } catch (error) {
    throw new MutagenError('MUTAGEN_TRANSPORT', `unable to parse ssh config ${file}`, { cause: error });
  }
  for (const line of parsed) {
    if (line.type !== LineType.DIRECTIVE) continue;
    if (isInclude(line.param)) {
      await spliceIncludes(values(line.value), options, depth, out);
    } else if ('config' in line) {
      await spliceSection(line, options, depth, out);
    } else {
      out.push(line);
    }
  }
}

async function spliceSection(section: Section, options: ConfigFileOptions, depth: number, out: SSHConfig): Promise<void> {
  let current = cloneSection(section);
  out.push(current);
  const conditionHolds = !/^host$/i.test(section.param) || glob(values(section.value), options.host);
  for (const line of section.config) {
    if (line.type !== LineType.DIRECTIVE) continue;
    if (!isInclude(line.param)) {
      current.config.push(line);
      continue;
    }
    if (!conditionHolds) continue;
    const included = new SSHConfig();
    await spliceIncludes(values(line.value), options, depth, included);
    for (const inner of included) {
      if (inner.type === LineType.DIRECTIVE && 'config' in inner) {
        out.push(inner);
        continue;
      }
      if (out.at(-1) !== current) {
        current = cloneSection(section);
        out.push(current);
      }
      current.config.push(inner);
    }
    if (out.at(-1) !== current) {
      current = cloneSection(section);
      out.push(current);
    }
  }
}

function cloneSection(section: Section): Section {
  return { ...section, config: new SSHConfig() };
}

async function spliceIncludes(patterns: readonly string[], options: ConfigFileOptions, depth: number, out: SSHConfig): Promise<void> {
  for (const pattern of patterns) {
    const absolute = includePath(pattern, options);
    for (const file of await expandGlob(absolute)) await spliceFile(file, options, depth + 1, out);
  }
}

function includePath(pattern: string, options: ConfigFileOptions): string {
  if (pattern === '~' || pattern.startsWith('~/')) return path.join(options.home, pattern.slice(1));
  return path.isAbsolute(pattern) ? pattern : path.join(options.includeBase, pattern);
}

/** glob(3) over an absolute path: wildcard segments match directory entries (no dot files). */
async function expandGlob(absolute: string): Promise<string[]> {
  const segments = absolute.split('/').filter((segment) => segment !== '');
  let paths = ['/'];
  for (const segment of segments) {
    if (!picomatch.scan(segment).isGlob) {
      paths = paths.map((prefix) => path.join(prefix, segment));
      continue;
    }
    const matcher = picomatch(segment, { dot: false });
    const next: string[] = [];
    for (const prefix of paths) {
      let names: string[];
      try {
        names = await readdir(prefix);
      } catch {
        continue;
      }
      for (const name of names.sort()) if (matcher(name)) next.push(path.join(prefix, name));
    }
    paths = next;
  }
  return paths;
}

function isInclude(param: string): boolean {
  return /^include$/i.test(param);
}

/** A directive's value as a list of words. */
export function values(value: string | readonly { readonly val: string }[]): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  return value.map((item) => item.val);
}
