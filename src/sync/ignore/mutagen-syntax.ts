/**
 * Mutagen's own ignore syntax (sync-semantics §3.2): gitignore-like patterns over doublestar
 * globs. Pure and synchronous; compiled once per ignorer.
 */
import { compileDoublestarGlob } from './doublestar.js';
import type { GlobMatcher } from './doublestar.js';
import { goCleanPath } from './go-path.js';
import type { IgnoreResult, PatternEvaluator } from './ignorer.js';
import { IGNORED, NOMINAL, UNIGNORED } from './results.js';

/** One parsed Mutagen pattern. */
export interface MutagenPattern {
  readonly negated: boolean;
  readonly directoryOnly: boolean;
  /** Not anchored and without `/`: also matched against the last path component. */
  readonly matchBasename: boolean;
  readonly matches: GlobMatcher;
}

export type MutagenParse =
  | { readonly kind: 'valid'; readonly pattern: MutagenPattern }
  | { readonly kind: 'invalid'; readonly reason: string };

/** Go's `path.Clean`, keeping one trailing slash (`a//` → `a/`, `//` stays `//`). */
export function cleanPreservingTrailingSlash(path: string): string {
  const trailing = path.length > 1 && path.endsWith('/');
  const cleaned = goCleanPath(path);
  return trailing ? `${cleaned}/` : cleaned;
}

/** Validates and parses one pattern (§3.2 steps 1–7). */
export function parseMutagenPattern(pattern: string): MutagenParse {
  if (pattern === '') return { kind: 'invalid', reason: 'empty pattern' };
  const negated = pattern.startsWith('!');
  let body = negated ? pattern.slice(1) : pattern;
  if (body === '') return { kind: 'invalid', reason: 'negated empty pattern' };
  body = cleanPreservingTrailingSlash(body);
  if (body === '/') return { kind: 'invalid', reason: 'root pattern' };
  if (body === '//') return { kind: 'invalid', reason: 'root directory pattern' };
  const anchored = body.startsWith('/');
  if (anchored) body = body.slice(1);
  const directoryOnly = body.endsWith('/');
  if (directoryOnly) body = body.slice(0, -1);
  const compiled = compileDoublestarGlob(body);
  if (compiled.kind === 'invalid') return { kind: 'invalid', reason: `invalid glob: ${compiled.reason}` };
  return {
    kind: 'valid',
    pattern: { negated, directoryOnly, matchBasename: !anchored && !body.includes('/'), matches: compiled.matches },
  };
}

function patternMatches(pattern: MutagenPattern, path: string, baseName: string | undefined, isDirectory: boolean): boolean {
  if (pattern.directoryOnly && !isDirectory) return false;
  if (pattern.matches(path)) return true;
  return pattern.matchBasename && baseName !== undefined && pattern.matches(baseName);
}

/**
 * Last match wins; `continueTraversal` is always false. Patterns that cannot change the outcome
 * are skipped (an ignored path stays ignored once no negation is left).
 */
export function createMutagenEvaluator(patterns: readonly MutagenPattern[]): PatternEvaluator {
  const negations = patterns.filter((pattern) => pattern.negated).length;
  return {
    hasNegations: negations > 0,
    evaluate(path: string, isDirectory: boolean): IgnoreResult {
      let result = NOMINAL;
      let negationsLeft = negations;
      const slash = path.lastIndexOf('/');
      const baseName = slash >= 0 ? path.slice(slash + 1) : undefined; // undefined: the path is its own basename
      for (const pattern of patterns) {
        if (result === IGNORED && negationsLeft === 0) break;
        if (pattern.negated) {
          negationsLeft -= 1;
          if (result === UNIGNORED) continue;
        } else if (result === IGNORED) {
          continue;
        }
        if (patternMatches(pattern, path, baseName, isDirectory)) result = pattern.negated ? UNIGNORED : IGNORED;
      }
      return result;
    },
  };
}
