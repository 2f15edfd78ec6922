/**
 * Docker (`.dockerignore`) ignore syntax (sync-semantics §3.4): Mutagen's cleaning in front of
 * moby's patternmatcher, matched against the whole root-relative path, with traversal
 * continuation into ignored directories when a negation could unignore something below.
 */
import { goCleanPath, goPathMatchSyntaxError, goTrimSpace } from './go-path.js';
import type { IgnoreResult, IgnoreStatus, PatternEvaluator } from './ignorer.js';
import { compileMobyPattern } from './moby-pattern.js';
import { ignoreResult } from './results.js';

/** One parsed Docker pattern. */
export interface DockerPattern {
  /** A `!` pattern: unignores what it matches. */
  readonly exclusion: boolean;
  /** The cleaned pattern without `!`, used for the continuation prefix test. */
  readonly cleaned: string;
  readonly matches: (path: string) => boolean;
}

/** `pattern` is undefined for a valid pattern that moby drops (it trims to nothing). */
export type DockerParse =
  | { readonly kind: 'valid'; readonly pattern: DockerPattern | undefined }
  | { readonly kind: 'invalid'; readonly reason: string };

/** Mutagen's validation and cleaning, then moby's own parsing of the result. */
export function parseDockerPattern(pattern: string): DockerParse {
  if (pattern.includes('\\')) return invalid('backslashes are not allowed in portable docker patterns');
  let body = goTrimSpace(pattern);
  if (body === '') return invalid(pattern === '' ? 'empty pattern' : 'whitespace-only pattern');
  const negated = body.startsWith('!');
  if (negated) {
    body = goTrimSpace(body.slice(1));
    if (body === '') return invalid('negated empty pattern');
  }
  body = goCleanPath(body);
  if (body === '/') return invalid('root pattern');
  if (body.length > 1 && body.startsWith('/')) body = body.slice(1);
  return parseMobyPattern(negated ? `!${body}` : body);
}

/** moby's `patternmatcher.New` for one pattern, plus the pre-compilation Mutagen insists on. */
function parseMobyPattern(input: string): DockerParse {
  let body = goTrimSpace(input);
  if (body === '') return { kind: 'valid', pattern: undefined };
  body = goCleanPath(body);
  const exclusion = body.startsWith('!');
  if (exclusion) {
    if (body.length === 1) return invalid('illegal exclusion pattern');
    body = body.slice(1);
  }
  const syntax = goPathMatchSyntaxError(body);
  if (syntax !== undefined) return invalid(`invalid glob: ${syntax}`);
  const compiled = compileMobyPattern(body);
  if (compiled.kind === 'invalid') return compiled;
  return { kind: 'valid', pattern: { exclusion, cleaned: body, matches: compiled.matches } };
}

function invalid(reason: string): DockerParse {
  return { kind: 'invalid', reason };
}

/**
 * moby's `MatchesForMutagen`: last match wins; a directory that is not explicitly unignored
 * continues traversal when some negation, as plain text plus `/`, starts with `path + "/"`.
 */
export function createDockerEvaluator(patterns: readonly DockerPattern[]): PatternEvaluator {
  const exclusions = patterns.filter((pattern) => pattern.exclusion);
  const exclusionPrefixes = exclusions.map((pattern) => `${pattern.cleaned}/`);
  return {
    hasNegations: exclusions.length > 0,
    evaluate(path: string, isDirectory: boolean): IgnoreResult {
      const status = dockerStatus(patterns, exclusions.length, path);
      if (!isDirectory || status === 'unignored' || exclusions.length === 0) return ignoreResult(status, false);
      const prefix = `${path}/`;
      return ignoreResult(status, exclusionPrefixes.some((candidate) => candidate.startsWith(prefix)));
    },
  };
}

function dockerStatus(patterns: readonly DockerPattern[], exclusionCount: number, path: string): IgnoreStatus {
  let status: IgnoreStatus = 'nominal';
  let exclusionsLeft = exclusionCount;
  for (const pattern of patterns) {
    if (status === 'ignored' && exclusionsLeft === 0) break;
    if (pattern.exclusion) {
      exclusionsLeft -= 1;
      if (status === 'unignored') continue;
    } else if (status === 'ignored') {
      continue;
    }
    if (pattern.matches(path)) status = pattern.exclusion ? 'unignored' : 'ignored';
  }
  return status;
}
