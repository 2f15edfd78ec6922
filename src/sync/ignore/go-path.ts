/**
 * Small ports of Go standard-library string helpers whose exact behaviour the ignore syntaxes
 * depend on (Mutagen cleans and trims patterns with them before matching). Pure and synchronous.
 */
import { posix } from 'node:path';

/**
 * Go's `path.Clean`: collapse `//`, drop `.` elements, resolve `..` against a preceding
 * element, never keep a trailing slash, and return `.` for an empty result. Node's POSIX
 * normalize does the same except that it keeps a trailing slash, which we strip.
 */
export function goCleanPath(path: string): string {
  const normalized = posix.normalize(path);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

/**
 * Go's `unicode.IsSpace` set (Latin-1 spaces including U+0085, plus the Unicode White_Space
 * characters). It differs from JavaScript's `trim()`, which also strips U+FEFF but not U+0085.
 */
const GO_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const GO_TRIM = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, 'g');

/** Go's `strings.TrimSpace`. */
export function goTrimSpace(text: string): string {
  return text.replace(GO_TRIM, '');
}

/**
 * The syntax check that Go's `path.Match` (on a POSIX system) performs: character classes must
 * be closed and non-empty, a class item may not start with `-` or `]`, a range needs an upper
 * bound, and a backslash needs a following character. Returns a reason, or undefined when valid.
 */
export function goPathMatchSyntaxError(pattern: string): string | undefined {
  let index = 0;
  while (index < pattern.length) {
    const char = pattern[index];
    if (char === '\\') {
      if (index + 1 >= pattern.length) return 'trailing backslash';
      index += 2;
    } else if (char === '[') {
      const end = scanGoClass(pattern, index + 1);
      if (typeof end === 'string') return end;
      index = end;
    } else {
      index += 1;
    }
  }
  return undefined;
}

/** Parses a Go `path.Match` class body starting after `[`; returns the index after `]` or a reason. */
function scanGoClass(pattern: string, start: number): number | string {
  let index = pattern[start] === '^' ? start + 1 : start;
  let ranges = 0;
  for (;;) {
    if (pattern[index] === ']' && ranges > 0) return index + 1;
    const low = scanGoClassChar(pattern, index);
    if (typeof low === 'string') return low;
    index = low;
    if (pattern[index] === '-') {
      const high = scanGoClassChar(pattern, index + 1);
      if (typeof high === 'string') return high;
      index = high;
    }
    ranges += 1;
  }
}

/** Go's `getEsc`: one (possibly escaped) class character that must be followed by more text. */
function scanGoClassChar(pattern: string, start: number): number | string {
  let index = start;
  const char = pattern[index];
  if (char === undefined) return 'unterminated character class';
  if (char === '-' || char === ']') return 'malformed character class';
  if (char === '\\') {
    index += 1;
    if (index >= pattern.length) return 'malformed character class';
  }
  const codePoint = pattern.codePointAt(index) ?? 0;
  index += codePoint > 0xffff ? 2 : 1;
  if (index >= pattern.length) return 'unterminated character class';
  return index;
}
