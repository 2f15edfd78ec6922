/**
 * One `.dockerignore` pattern as moby's patternmatcher (vendored by Mutagen) compiles it.
 *
 * Why a small translator instead of picomatch: moby's semantics are defined by its own
 * translation to a Go regular expression, and several of them contradict every glob library:
 * `**` anywhere (not only as a path component) becomes `(.*\/)?`, a pattern ending in `**` is a
 * plain prefix test (`foo/**` does not match `foo`, `foo**` matches `foo/bar`), a leading `**`
 * turns the rest into a suffix test, `[!x]` is not a negation, and `[`/`]` are copied into the
 * regex verbatim. Reproducing that with a glob library would mean fighting it at every step, so
 * we translate exactly as moby does (`Pattern.compile`) and let the JavaScript regex engine,
 * which agrees with Go's on this subset, do the matching. Differences: JavaScript's `.` also
 * stops at `\r`, U+2028 and U+2029 (Go's only at `\n`), `?` and classes see characters outside
 * the Basic Multilingual Plane as two characters, and POSIX classes like `[[:alpha:]]` are not
 * recognised. Backslashes never reach this file (Mutagen rejects them for portability).
 */

/** Regex metacharacters that moby escapes (`shouldEscape`); `[`, `]` and `^` pass through. */
const MOBY_ESCAPED = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

export type MobyCompilation =
  | { readonly kind: 'valid'; readonly matches: (path: string) => boolean }
  | { readonly kind: 'invalid'; readonly reason: string };

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

/**
 * Port of moby's `Pattern.compile` + `Pattern.match` for `/` separators. `cleaned` is the pattern
 * after `filepath.Clean` and without its `!`.
 */
export function compileMobyPattern(cleaned: string): MobyCompilation {
  const chars = Array.from(cleaned);
  let source = '^';
  let type: MatchType = 'exact';
  let index = chars[0] === '\uFEFF' ? 1 : 0; // Go's text/scanner skips a leading byte order mark
  for (let step = 0; index < chars.length; step += 1) {
    const char = chars[index] ?? '';
    index += 1;
    if (char === '*' && chars[index] === '*') {
      index += 1;
      if (chars[index] === '/') index += 1; // `**/` is treated as `**`
      if (index >= chars.length) {
        if (type === 'exact') type = 'prefix';
        else {
          source += '.*';
          type = 'regexp';
        }
      } else {
        source += '(.*/)?';
        type = 'regexp';
      }
      if (step === 0) type = 'suffix';
    } else if (char === '*') {
      source += '[^/]*';
      type = 'regexp';
    } else if (char === '?') {
      source += '[^/]';
      type = 'regexp';
    } else if (MOBY_ESCAPED.has(char)) {
      source += `\\${char}`;
    } else if (char === '[' || char === ']') {
      source += char;
      type = 'regexp';
    } else {
      source += char;
    }
  }
  return finishMobyPattern(cleaned, type, `${source}$`);
}

function finishMobyPattern(cleaned: string, type: MatchType, source: string): MobyCompilation {
  switch (type) {
    case 'exact':
      return { kind: 'valid', matches: (path) => path === cleaned };
    case 'prefix': {
      const prefix = cleaned.slice(0, -2);
      return { kind: 'valid', matches: (path) => path.startsWith(prefix) };
    }
    case 'suffix': {
      const suffix = cleaned.slice(2);
      const rootName = suffix.startsWith('/') ? suffix.slice(1) : undefined;
      return { kind: 'valid', matches: (path) => path.endsWith(suffix) || path === rootName };
    }
    case 'regexp': {
      let regex: RegExp;
      try {
        regex = new RegExp(source);
      } catch {
        return { kind: 'invalid', reason: 'invalid glob: unable to compile pattern' };
      }
      return { kind: 'valid', matches: (path) => regex.test(path) };
    }
  }
}
