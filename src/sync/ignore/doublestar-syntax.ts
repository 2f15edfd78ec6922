/**
 * Parsing side of our doublestar v4 compatibility layer (bmatcuk/doublestar, which Mutagen uses
 * for its own ignore syntax): validation, brace expansion and tokenisation. The tokens are turned
 * into picomatch globs by `doublestar.ts`; nothing here matches paths.
 *
 * Indices are UTF-16 code units. Every delimiter is ASCII, so scanning by code unit finds the
 * same delimiters as Go's byte-wise scanning; escaped characters are decoded as code points.
 */

/** One element of a brace-free doublestar pattern. */
export type GlobToken =
  | { readonly kind: 'literal'; readonly char: string }
  /** `pair`: written as exactly `**` (matters for doublestar's end-of-name rules). */
  | { readonly kind: 'star'; readonly pair: boolean }
  | { readonly kind: 'globstar' }
  | { readonly kind: 'any' }
  | { readonly kind: 'class'; readonly negated: boolean; readonly ranges: readonly CodePointRange[] };

/** An inclusive code point range inside a character class (a single character has lo === hi). */
export interface CodePointRange {
  readonly lo: number;
  readonly hi: number;
}

/**
 * doublestar's `ValidatePattern`: escapes need a following character, classes must be closed and
 * non-empty (`[]`, `[!]` are errors), braces must balance. Returns a reason or undefined.
 */
export function doublestarSyntaxError(pattern: string): string | undefined {
  let depth = 0;
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index];
    if (char === '\\') {
      index += 1;
      if (index >= pattern.length) return 'trailing backslash';
    } else if (char === '[') {
      const end = classEnd(pattern, index);
      if (typeof end === 'string') return end;
      index = end;
    } else if (char === '{') {
      depth += 1;
    } else if (char === '}') {
      if (depth === 0) return 'unmatched closing brace';
      depth -= 1;
    }
  }
  return depth === 0 ? undefined : 'unterminated brace';
}

/** Index of the `]` closing the class opened at `open`, or a reason when malformed. */
function classEnd(pattern: string, open: number): number | string {
  let index = open + 1;
  if (pattern[index] === '!' || pattern[index] === '^') index += 1;
  if (index >= pattern.length) return 'unterminated character class';
  if (pattern[index] === ']') return 'empty character class';
  for (; index < pattern.length; index += 1) {
    if (pattern[index] === '\\') index += 1;
    else if (pattern[index] === ']') return index;
  }
  return 'unterminated character class';
}

/**
 * Expands `{a,b}` alternatives the way doublestar does while matching: the first brace outside
 * escapes and classes is replaced textually by each alternative (nested braces and escaped commas
 * respected), recursively. Assumes a valid pattern. Returns undefined past `limit` expansions.
 */
export function expandDoublestarBraces(pattern: string, limit: number): string[] | undefined {
  const out = new Set<string>();
  return expandInto(pattern, out, limit) ? [...out] : undefined;
}

function expandInto(pattern: string, out: Set<string>, limit: number): boolean {
  const open = firstBrace(pattern);
  if (open < 0) {
    out.add(pattern);
    return out.size <= limit;
  }
  const close = matchingCloseBrace(pattern, open + 1);
  if (close < 0) return false;
  const prefix = pattern.slice(0, open);
  const suffix = pattern.slice(close + 1);
  let start = open + 1;
  for (;;) {
    const comma = nextAlternative(pattern, start, close);
    if (comma < 0) break;
    if (!expandInto(prefix + pattern.slice(start, comma) + suffix, out, limit)) return false;
    start = comma + 1;
  }
  return expandInto(prefix + pattern.slice(start, close) + suffix, out, limit);
}

/** First `{` that the matcher would reach: escapes and class bodies are skipped. */
function firstBrace(pattern: string): number {
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index];
    if (char === '\\') index += 1;
    else if (char === '{') return index;
    else if (char === '[') {
      const end = classEnd(pattern, index);
      if (typeof end === 'string') return -1;
      index = end;
    }
  }
  return -1;
}

/** doublestar's `indexMatchedClosingAlt` (escapes skipped, nesting counted, classes not skipped). */
function matchingCloseBrace(pattern: string, start: number): number {
  let depth = 1;
  for (let index = start; index < pattern.length; index += 1) {
    const char = pattern[index];
    if (char === '\\') index += 1;
    else if (char === '{') depth += 1;
    else if (char === '}' && --depth === 0) return index;
  }
  return -1;
}

/** doublestar's `indexNextAlt` over `pattern[start, end)`: a top-level comma outside classes. */
function nextAlternative(pattern: string, start: number, end: number): number {
  let depth = 1;
  for (let index = start; index < end; index += 1) {
    const char = pattern[index];
    if (char === '\\') {
      index += 1;
    } else if (char === '[') {
      for (index += 1; index < end; index += 1) {
        if (pattern[index] === '\\') index += 1;
        else if (pattern[index] === ']') break;
      }
    } else if (char === '{') {
      depth += 1;
    } else if (char === '}') {
      depth -= 1;
    } else if (char === ',' && depth === 1) {
      return index;
    }
  }
  return -1;
}

/**
 * Tokenises a valid, brace-free pattern. `**` is a globstar only as a whole path component
 * (at the start or after `/`, and followed by `/` or the end); any other run of stars is `*`.
 */
export function tokenizeDoublestar(pattern: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  let segmentStart = true;
  let index = 0;
  while (index < pattern.length) {
    const char = pattern[index];
    if (char === '*') {
      let end = index;
      while (pattern[end] === '*') end += 1;
      const pair = end - index === 2;
      const whole = pair && segmentStart && (end === pattern.length || pattern[end] === '/');
      tokens.push(whole ? { kind: 'globstar' } : { kind: 'star', pair });
      segmentStart = false;
      index = end;
    } else if (char === '?') {
      tokens.push({ kind: 'any' });
      segmentStart = false;
      index += 1;
    } else if (char === '[') {
      index = readClass(pattern, index + 1, tokens);
      segmentStart = false;
    } else {
      const at = char === '\\' ? index + 1 : index;
      const literal = String.fromCodePoint(pattern.codePointAt(at) ?? 0);
      tokens.push({ kind: 'literal', char: literal });
      segmentStart = literal === '/';
      index = at + literal.length;
    }
  }
  return tokens;
}

/**
 * Reads a class body (after `[`) with doublestar's rules: `!`/`^` negate; `\x` is literal; `a-z`
 * is a range only after a plain member and before something other than `]`, so `[-a]`, `[a-]`
 * and the second `-` of `[a-b-c]` are literal. An inverted range still matches its first member.
 */
function readClass(pattern: string, start: number, tokens: GlobToken[]): number {
  let index = start;
  const negated = pattern[index] === '!' || pattern[index] === '^';
  if (negated) index += 1;
  const ranges: CodePointRange[] = [];
  let last: number | undefined;
  while (index < pattern.length && pattern[index] !== ']') {
    let codePoint = pattern.codePointAt(index) ?? 0;
    index += codePoint > 0xffff ? 2 : 1;
    if (last !== undefined && codePoint === 0x2d && index < pattern.length && pattern[index] !== ']') {
      if (pattern[index] === '\\') index += 1;
      const hi = pattern.codePointAt(index) ?? 0;
      index += hi > 0xffff ? 2 : 1;
      if (last <= hi) ranges.push({ lo: last, hi });
      last = undefined;
      continue;
    }
    if (codePoint === 0x5c) {
      codePoint = pattern.codePointAt(index) ?? 0;
      index += codePoint > 0xffff ? 2 : 1;
    }
    ranges.push({ lo: codePoint, hi: codePoint });
    last = codePoint;
  }
  tokens.push({ kind: 'class', negated, ranges });
  return index + 1;
}
