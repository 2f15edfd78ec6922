import { describe, expect, it } from 'vitest';

import { compileDoublestarGlob } from '../../../src/sync/ignore/doublestar.js';
import type { GlobMatcher } from '../../../src/sync/ignore/doublestar.js';

function matcher(pattern: string): GlobMatcher {
  const compiled = compileDoublestarGlob(pattern);
  if (compiled.kind === 'invalid') throw new Error(`unexpectedly invalid: ${pattern}: ${compiled.reason}`);
  return compiled.matches;
}

/**
 * doublestar v4's own match table (doublestar_test.go, rows with a non-empty name and no trailing
 * slash in the name): [pattern, name, matches].
 */
const DOUBLESTAR_V4: readonly (readonly [string, string, boolean])[] = [
  ['abc', 'abc', true],
  ['*', 'abc', true],
  ['*c', 'abc', true],
  ['a*', 'a', true],
  ['a*', 'abc', true],
  ['a*', 'ab/c', false],
  ['a*/b', 'abc/b', true],
  ['a*/b', 'a/c/b', false],
  ['a*b*c*d*e*', 'axbxcxdxe', true],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true],
  ['a*b?c*x', 'abxbbxdbxebxczzy', false],
  ['ab[c]', 'abc', true],
  ['ab[b-d]', 'abc', true],
  ['ab[e-g]', 'abc', false],
  ['ab[^c]', 'abc', false],
  ['ab[^b-d]', 'abc', false],
  ['ab[^e-g]', 'abc', true],
  ['a\\*b', 'ab', false],
  ['a?b', 'a☺b', true],
  ['a[^a]b', 'a☺b', true],
  ['a[!a]b', 'a☺b', true],
  ['a???b', 'a☺b', false],
  ['a[^a][^a][^a]b', 'a☺b', false],
  ['[a-ζ]*', 'α', true],
  ['*[a-ζ]', 'A', false],
  ['a?b', 'a/b', false],
  ['a*b', 'a/b', false],
  ['[\\]a]', ']', true],
  ['[\\-]', '-', true],
  ['[x\\-]', 'x', true],
  ['[x\\-]', '-', true],
  ['[x\\-]', 'z', false],
  ['[\\-x]', 'x', true],
  ['[\\-x]', '-', true],
  ['[\\-x]', 'a', false],
  ['[-]', '-', true],
  ['[x-]', 'x', true],
  ['[x-]', '-', true],
  ['[x-]', 'z', false],
  ['[-x]', 'x', true],
  ['[-x]', '-', true],
  ['[-x]', 'a', false],
  ['[a-b-d]', 'a', true],
  ['[a-b-d]', 'b', true],
  ['[a-b-d]', '-', true],
  ['[a-b-d]', 'c', false],
  ['[a-b-x]', 'x', true],
  ['*x', 'xxx', true],
  ['[abc]', 'b', true],
  ['a/**', 'a', true],
  ['a/**', 'a/b', true],
  ['a/**', 'a/b/c', true],
  ['**/c', 'c', true],
  ['**/c', 'b/c', true],
  ['**/c', 'a/b/c', true],
  ['**/c', 'a/b', false],
  ['**/c', 'abcd', false],
  ['**/c', 'a/abc', false],
  ['a/**/b', 'a/b', true],
  ['a/**/c', 'a/b/c', true],
  ['a/**/d', 'a/b/c/d', true],
  ['a/\\**', 'a/b/c', false],
  ['a/\\[*\\]', 'a/bc', false],
  ['a//b/c', 'a/b/c', false],
  ['a/b/c', 'a/b//c', false],
  ['ab{c,d}', 'abc', true],
  ['ab{c,d,*}', 'abcde', true],
  ['a{,bc}', 'a', true],
  ['a{,bc}', 'abc', true],
  ['a/{b/c,c/b}', 'a/b/c', true],
  ['a/{b/c,c/b}', 'a/c/b', true],
  ['{a/{b,c},abc}', 'a/b', true],
  ['{a/{b,c},abc}', 'a/c', true],
  ['{a/{b,c},abc}', 'abc', true],
  ['{a/{b,c},abc}', 'a/b/c', false],
  ['{a/ab*}', 'a/abc', true],
  ['{a/*}', 'a/b', true],
  ['{a/abc}', 'a/abc', true],
  ['{a/b,a/c}', 'a/c', true],
  ['abc/**', 'abc/b', true],
  ['**/abc', 'abc', true],
  ['abc**', 'abc/b', false],
  ['**/*.txt', 'abc/【test】.txt', true],
  ['**/【*', 'abc/【test】.txt', true],
  ['abc**', 'abc', true],
  ['**abc', 'abc', true],
];

describe('doublestar v4 conformance', () => {
  it.each(DOUBLESTAR_V4)('%j against %j is %s', (pattern, name, expected) => {
    expect(matcher(pattern)(name)).toBe(expected);
  });

  it.each(['[]a]', '\\', '[', '[^', '[^bc', 'a[', 'ad[', 'ab{c,d}['])('%j is a bad pattern', (pattern) => {
    expect(compileDoublestarGlob(pattern).kind).toBe('invalid');
  });
});

describe('doublestar end-of-name and edge rules', () => {
  it.each([
    // a trailing `/**` also matches the directory itself, but only when the prefix consumed it
    ['x*/**', 'x', false],
    ['x*/**', 'xy', true],
    ['x*/**', 'x/y', true],
    ['*/**', 'a', true],
    ['a/**/**', 'a', false],
    ['a/**/**', 'a/b', true],
    ['**/**', 'a', true],
    ['**/**', 'a/b/c', true],
    ['**', '.a/.b', true],
    // trailing slashes can only come from braces
    ['{a,b}/**/', 'b', true],
    ['a/**/', 'a/b', false],
    ['{a/,b}', 'a', false],
    ['{[!a]**/,x}', 'c', true],
    ['{a/*/,x}', 'a/b', false],
    // negated classes match `/`, positive classes only when they contain it
    ['a[^x]b', 'a/b', true],
    ['a[!/]b', 'a/b', false],
    ['a[/]b', 'a/b', true],
    ['[!a]?', 'ab', false],
    ['[!a]?', 'ba', true],
    ['[!a]*', 'a', false],
    ['[!a]*', '/x', true],
    ['[^.-0]', '/', false],
    // `**` inside a component is `*`
    ['**.txt', 'a/x.txt', false],
    ['**.txt', 'x.txt', true],
    ['x/***', 'x/y/z', false],
    // braces: single alternatives, empty groups and ranges are plain text expansion
    ['{}a', 'a', true],
    ['a{b}c', 'abc', true],
    ['{1..3}', '1..3', true],
    ['{1..3}', '2', false],
    ['{a\\,b,c}', 'a,b', true],
    ['[{,]x', ',x', true],
    // inverted ranges keep their first character
    ['[z-a]', 'z', true],
    ['[z-a]', 'm', false],
    ['[!z-a]', 'm', true],
    // backslashes, quotes, extglob and POSIX-class lookalikes are literal
    ['a\\\\b', 'a\\b', true],
    ['a\\\\\\\\b', 'a\\\\b', true],
    ['[\\\\]', '\\', true],
    ['[!\\\\]', '\\', false],
    ['*(a)', 'x(a)', true],
    ['*(a)', 'a', false],
    ['@(a|b)', '@(a|b)', true],
    ['"q"', '"q"', true],
    ['[[:alpha:]]', 'a]', true],
    ['[[:alpha:]]', 'a', false],
    // wildcards cross newlines in names
    ['*', 'a\nb', true],
    ['a/**', 'a/x\ny', true],
  ] as const)('%j against %j is %s', (pattern, name, expected) => {
    expect(matcher(pattern)(name)).toBe(expected);
  });
});
