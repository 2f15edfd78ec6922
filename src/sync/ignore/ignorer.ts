/**
 * Ignore evaluation (sync-semantics §3): one `Ignorer` per session configuration, shared by the
 * scanner and the watcher so both prune the same paths. Evaluation is synchronous and pure (no
 * I/O, so no AbortSignal); results are memoised per (path, isDirectory) for the ignorer's
 * lifetime, so keep one ignorer across scans and build a new one when the configuration changes.
 * Not safe to share across worker threads (each thread builds its own).
 */
import { assertNever, MutagenError } from '../../base/errors.js';
import type { IgnoreSyntax } from '../../model/configuration.js';
import { createDockerEvaluator, parseDockerPattern } from './docker-syntax.js';
import type { DockerPattern } from './docker-syntax.js';
import { createMutagenEvaluator, parseMutagenPattern } from './mutagen-syntax.js';
import type { MutagenPattern } from './mutagen-syntax.js';
import { IGNORED, NOMINAL } from './results.js';

export type IgnoreStatus = 'nominal' | 'ignored' | 'unignored';

export interface IgnoreResult {
  readonly status: IgnoreStatus;
  /** Docker syntax only: scan below this directory even though it is ignored or ignore-masked. */
  readonly continueTraversal: boolean;
}

export interface Ignorer {
  /** path: root-relative, '/'-separated, never '' (the root is never evaluated). Memoised per (path,isDirectory). */
  evaluate(path: string, isDirectory: boolean): IgnoreResult;
  /** true when the syntax may continue traversal into ignored dirs (docker with at least one negation). */
  readonly mayContinueTraversal: boolean;
}

export interface IgnorerOptions {
  readonly syntax: IgnoreSyntax;
  readonly patterns: readonly string[];
  /** §3.6 VCS mode `ignore`: `.git`, `.svn`, `.hg`, `.bzr` and `_darcs` directories are ignored. */
  readonly vcs: boolean;
}

/** A compiled pattern list of one syntax, without VCS handling or memo (internal to this folder). */
export interface PatternEvaluator {
  readonly hasNegations: boolean;
  evaluate(path: string, isDirectory: boolean): IgnoreResult;
}

/** Directory names ignored in VCS ignore mode, before any user pattern is consulted. */
export const VCS_DIRECTORY_NAMES: ReadonlySet<string> = new Set(['.git', '.svn', '.hg', '.bzr', '_darcs']);

/** The memo is dropped and rebuilt once it holds this many (path, isDirectory) results. */
export const IGNORE_MEMO_LIMIT = 1 << 20;

/** Throws MutagenError('MUTAGEN_INVALID_IGNORE', 'invalid ignore pattern "<p>": <reason>') for the first invalid pattern. */
export function createIgnorer(options: IgnorerOptions): Ignorer {
  const evaluator = compilePatterns(options.syntax, options.patterns);
  // Nothing can match: skip the memo (a scan of a large tree would fill it for nothing).
  if (options.patterns.length === 0 && !options.vcs) return { evaluate: () => NOMINAL, mayContinueTraversal: false };
  return memoize(evaluator, options.syntax === 'docker' && evaluator.hasNegations, options.vcs);
}

/** undefined when valid, else the reason fragment (e.g. 'empty pattern', 'negated empty pattern', 'root pattern', 'invalid glob'). */
export function validateIgnorePattern(syntax: IgnoreSyntax, pattern: string): string | undefined {
  const parsed = syntax === 'docker' ? parseDockerPattern(pattern) : parseMutagenPattern(pattern);
  return parsed.kind === 'invalid' ? parsed.reason : undefined;
}

/** Convenience: is this (path, isDirectory) excluded from scanning (ignored and no continuation)? */
export function isIgnoredForScan(ignorer: Ignorer, path: string, isDirectory: boolean): boolean {
  const result = ignorer.evaluate(path, isDirectory);
  return result.status === 'ignored' && !result.continueTraversal;
}

function compilePatterns(syntax: IgnoreSyntax, patterns: readonly string[]): PatternEvaluator {
  switch (syntax) {
    case 'mutagen': {
      const parsed: MutagenPattern[] = [];
      for (const pattern of patterns) {
        const result = parseMutagenPattern(pattern);
        if (result.kind === 'invalid') throw invalidPattern(pattern, result.reason);
        parsed.push(result.pattern);
      }
      return createMutagenEvaluator(parsed);
    }
    case 'docker': {
      const parsed: DockerPattern[] = [];
      for (const pattern of patterns) {
        const result = parseDockerPattern(pattern);
        if (result.kind === 'invalid') throw invalidPattern(pattern, result.reason);
        if (result.pattern !== undefined) parsed.push(result.pattern);
      }
      return createDockerEvaluator(parsed);
    }
    default:
      return assertNever(syntax, 'ignore syntax');
  }
}

function invalidPattern(pattern: string, reason: string): MutagenError {
  return new MutagenError('MUTAGEN_INVALID_IGNORE', `invalid ignore pattern "${pattern}": ${reason}`, {
    hint: 'Fix or remove this pattern in the ignore list.',
  });
}

function memoize(evaluator: PatternEvaluator, mayContinueTraversal: boolean, vcs: boolean): Ignorer {
  const files = new Map<string, IgnoreResult>();
  const directories = new Map<string, IgnoreResult>();
  return {
    mayContinueTraversal,
    evaluate(path: string, isDirectory: boolean): IgnoreResult {
      if (path === '') return NOMINAL;
      const memo = isDirectory ? directories : files;
      const known = memo.get(path);
      if (known !== undefined) return known;
      const result = vcs && isDirectory && VCS_DIRECTORY_NAMES.has(baseName(path)) ? IGNORED : evaluator.evaluate(path, isDirectory);
      if (files.size + directories.size >= IGNORE_MEMO_LIMIT) {
        files.clear();
        directories.clear();
      }
      memo.set(path, result);
      return result;
    },
  };
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
