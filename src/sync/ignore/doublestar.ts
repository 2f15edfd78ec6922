/**
 * doublestar v4 glob semantics (what Mutagen's own ignore syntax uses) on top of picomatch.
 *
 * picomatch does the matching; this wrapper makes its input unambiguous so that doublestar's
 * rules hold: braces are expanded first (doublestar expands them textually, picomatch would not
 * expand `{a}` or `{}`), every literal character is escaped (so `(`, `|`, `!`, `@`, `+`, `"` stay
 * literal), a `**` that is not a whole path component becomes `*`, classes are re-emitted in a
 * canonical form (`[!x]` negates; a negated class also matches `/`, as in doublestar), and the
 * end-of-name rules of doublestar's `isZeroLengthPattern` are applied to trailing `/**`.
 *
 * Known differences, all outside realistic ignore patterns: characters outside the Basic
 * Multilingual Plane count as two characters for `?` and are dropped from classes; a brace
 * alternative that starts with `*` right after a `*` or a non-separator is read as its textual
 * expansion (doublestar restarts component tracking there); and where doublestar's single-point
 * star backtracking gives up early (this needs a negated class matching `/`, or a brace
 * alternative ending in `**\/`), we still match.
 * A differential fuzz against a port of doublestar's matcher found nothing else.
 */
import picomatch from 'picomatch/posix.js';

import { doublestarSyntaxError, expandDoublestarBraces, tokenizeDoublestar } from './doublestar-syntax.js';
import type { GlobToken, CodePointRange } from './doublestar-syntax.js';

/** Whole-string matcher for a root-relative path or a single path component. */
export type GlobMatcher = (name: string) => boolean;

export type GlobCompilation =
  | { readonly kind: 'valid'; readonly matches: GlobMatcher }
  | { readonly kind: 'invalid'; readonly reason: string };

/** Brace expansion is exponential in the number of groups; beyond this the pattern is refused. */
export const MAX_BRACE_EXPANSIONS = 1024;

const PICOMATCH_OPTIONS: picomatch.PicomatchOptions = {
  dot: true, // doublestar has no special dotfile rule
  nonegate: true, // a leading `!` was already consumed as negation by the ignore syntax
  noextglob: true,
  nobrace: true, // braces are expanded before picomatch sees the pattern
  literalBrackets: false, // `[abc]` is a class, never the literal text "[abc]"
  posix: false, // `[[:alpha:]]` is not special in doublestar
  fastpaths: false,
  flags: 's', // `**` must also cross newlines in file names
  debug: true, // throw instead of silently returning a never-matching regex
};

const SLASH: GlobToken = { kind: 'literal', char: '/' };
const STAR: GlobToken = { kind: 'star', pair: false };
const GLOBSTAR: GlobToken = { kind: 'globstar' };
const ANY: GlobToken = { kind: 'any' };

/** Validates and compiles a doublestar pattern; `matches` must cover the whole name. */
export function compileDoublestarGlob(pattern: string): GlobCompilation {
  const syntax = doublestarSyntaxError(pattern);
  if (syntax !== undefined) return { kind: 'invalid', reason: syntax };
  const expansions = expandDoublestarBraces(pattern, MAX_BRACE_EXPANSIONS);
  if (expansions === undefined) return { kind: 'invalid', reason: 'too many brace alternatives' };
  const literals = new Set<string>();
  const regexes: RegExp[] = [];
  for (const expansion of expansions) {
    for (const tokens of applyEndOfNameRules(tokenizeDoublestar(expansion))) {
      const literal = literalText(tokens);
      if (literal !== undefined) {
        literals.add(literal);
        continue;
      }
      const glob = emitGlob(tokens);
      if (glob === undefined) continue;
      try {
        regexes.push(picomatch.makeRe(glob, PICOMATCH_OPTIONS));
      } catch {
        return { kind: 'invalid', reason: 'unsupported glob' };
      }
    }
  }
  return { kind: 'valid', matches: buildMatcher(literals, regexes) };
}

function buildMatcher(literals: ReadonlySet<string>, regexes: readonly RegExp[]): GlobMatcher {
  if (regexes.length === 0) {
    if (literals.size === 1) {
      const [only] = literals;
      return (name) => name === only;
    }
    return (name) => literals.has(name);
  }
  const [first] = regexes;
  if (literals.size === 0 && regexes.length === 1 && first !== undefined) return (name) => first.test(name);
  return (name) => literals.has(name) || regexes.some((regex) => regex.test(name));
}

/**
 * doublestar ends a match when the name runs out and accepts only if the rest of the pattern is
 * exactly "", `*`, `**`, `/**`, `**\/` or `/**\/`. For `Q/**` that means: `Q/` followed by
 * anything, or the name consumed by `Q` itself with its last token eating at least one character
 * (`x*\/**` matches `xy` and `x/y` but not `x`; `a/**\/**` does not match `a`). A trailing slash
 * (names never end in one) is only satisfied through a final `/**\/` or `**\/`, which behave
 * like that second half alone.
 */
function applyEndOfNameRules(tokens: readonly GlobToken[]): GlobToken[][] {
  const count = tokens.length;
  const last = tokens[count - 1];
  if (last === undefined) return [[...tokens]];
  if (isSlash(last)) {
    const before = tokens[count - 2];
    if (before?.kind === 'globstar' && isSlash(tokens[count - 3])) return consumedByPrefix(tokens.slice(0, count - 3));
    if (before?.kind === 'star' && before.pair) return consumedByPrefix(tokens.slice(0, count - 2));
    return [];
  }
  if (last.kind === 'globstar' && count >= 2) {
    const prefix = tokens.slice(0, count - 2);
    return [[...prefix, SLASH, GLOBSTAR, SLASH, STAR], ...consumedByPrefix(prefix)];
  }
  return [[...tokens]];
}

/** Names that `prefix` consumes completely with its final token matching at least one character. */
function consumedByPrefix(prefix: readonly GlobToken[]): GlobToken[][] {
  const last = prefix[prefix.length - 1];
  if (last === undefined || last.kind === 'globstar' || isSlash(last)) return [];
  if (last.kind === 'star') return [[...prefix.slice(0, -1), ANY, STAR]];
  return [[...prefix]];
}

function isSlash(token: GlobToken | undefined): boolean {
  return token?.kind === 'literal' && token.char === '/';
}

function literalText(tokens: readonly GlobToken[]): string | undefined {
  let text = '';
  for (const token of tokens) {
    if (token.kind !== 'literal') return undefined;
    text += token.char;
  }
  return text;
}

/** picomatch glob for brace-free tokens, or undefined when the tokens can never match. */
function emitGlob(tokens: readonly GlobToken[]): string | undefined {
  let glob = '';
  for (const token of tokens) {
    switch (token.kind) {
      case 'literal':
        glob += emitLiteral(token.char);
        break;
      case 'star':
        glob += '*';
        break;
      case 'globstar':
        glob += '**';
        break;
      case 'any':
        glob += '?';
        break;
      case 'class': {
        const emitted = emitClass(token.negated, token.ranges);
        if (emitted === undefined) return undefined;
        glob += emitted;
        break;
      }
    }
  }
  return glob;
}

const PLAIN = /^[A-Za-z0-9]$/;

/**
 * Letters, digits and non-ASCII stay raw (escaping them would turn `d` into the regex `\d`);
 * other ASCII is escaped. A backslash becomes a one-character class because picomatch collapses
 * runs of backslashes.
 */
function emitLiteral(char: string): string {
  if (char === '/') return '/';
  if (char === '\\') return '[\\\\]';
  return PLAIN.test(char) || (char.codePointAt(0) ?? 0) > 0x7f ? char : `\\${char}`;
}

function emitClassChar(codePoint: number): string {
  const char = String.fromCharCode(codePoint);
  return PLAIN.test(char) || codePoint > 0x7f || codePoint < 0x20 ? char : `\\${char}`;
}

/**
 * A class in a form picomatch passes through unchanged. picomatch makes `[^x]` exclude `/`, but
 * doublestar's negated classes match `/`; unless `/` is excluded anyway, such a class is emitted
 * as the equivalent positive class of the complement (NUL, which picomatch drops and no file name
 * holds, is left out).
 */
function emitClass(negated: boolean, ranges: readonly CodePointRange[]): string | undefined {
  const members = ranges.filter((range) => range.hi <= 0xffff);
  if (!negated) return members.length === 0 ? undefined : `[${emitRanges(members)}]`;
  if (members.some(({ lo, hi }) => lo <= 0x2f && hi >= 0x2f)) return `[^${emitRanges(members)}]`;
  const complement = complementRanges(members, 0x01, 0xffff);
  return complement.length === 0 ? undefined : `[${emitRanges(complement)}]`;
}

/** Class body; a backslash goes last so that no run of three backslashes can form. */
function emitRanges(ranges: readonly CodePointRange[]): string {
  let body = '';
  let backslash = false;
  for (const { lo, hi } of ranges) {
    if (lo <= 0x5c && hi >= 0x5c) backslash = true;
    for (const part of splitAroundBackslash(lo, hi)) {
      body += part.lo === part.hi ? emitClassChar(part.lo) : `${emitClassChar(part.lo)}-${emitClassChar(part.hi)}`;
    }
  }
  return backslash ? `${body}\\\\` : body;
}

function complementRanges(ranges: readonly CodePointRange[], min: number, max: number): CodePointRange[] {
  const sorted = [...ranges].sort((left, right) => left.lo - right.lo);
  const gaps: CodePointRange[] = [];
  let next = min;
  for (const { lo, hi } of sorted) {
    if (lo > next) gaps.push({ lo: next, hi: Math.min(lo - 1, max) });
    next = Math.max(next, hi + 1);
  }
  if (next <= max) gaps.push({ lo: next, hi: max });
  return gaps;
}

function splitAroundBackslash(lo: number, hi: number): CodePointRange[] {
  if (lo > 0x5c || hi < 0x5c) return [{ lo, hi }];
  const parts: CodePointRange[] = [];
  if (lo <= 0x5b) parts.push({ lo, hi: 0x5b });
  if (hi >= 0x5d) parts.push({ lo: 0x5d, hi });
  return parts;
}
