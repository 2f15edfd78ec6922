import { describe, expect, it } from 'vitest';

import { createIgnorer, validateIgnorePattern } from '../../../src/sync/ignore/ignorer.js';
import type { IgnoreStatus } from '../../../src/sync/ignore/ignorer.js';
import { cleanPreservingTrailingSlash } from '../../../src/sync/ignore/mutagen-syntax.js';

/** Pattern lists of sync-semantics §3.3. */
const LISTS = {
  A: ['something', 'otherthing', '!something', 'somedir/', 'ignored', '!ignored/subpath', '!ignored/subpath2/content'],
  B: ['*.py[cod]', '*.dir[cod]/'],
  C: ['/abspath', '/absdir/', '/name', '!*/**/name'],
  D: ['some/*', 'some/**/*', '!some/other'],
  E: ['!something', 'otherthing', 'something'],
  F: ['some*', '!someone'],
} as const;

type Row = readonly [number, readonly string[], string, boolean, IgnoreStatus];

/** Every row of the §3.3 table: [#, patterns, path, isDirectory, status]. */
const TABLE: readonly Row[] = [
  [1, LISTS.A, 'something', false, 'unignored'],
  [2, LISTS.A, 'something', true, 'unignored'],
  [3, LISTS.A, 'subpath/something', false, 'unignored'],
  [4, LISTS.A, 'otherthing', false, 'ignored'],
  [5, LISTS.A, 'otherthing', true, 'ignored'],
  [6, LISTS.A, 'subpath/otherthing', true, 'ignored'],
  [7, LISTS.A, 'random', false, 'nominal'],
  [8, LISTS.A, 'subpath/random', true, 'nominal'],
  [9, LISTS.A, 'somedir', false, 'nominal'],
  [10, LISTS.A, 'somedir', true, 'ignored'],
  [11, LISTS.A, 'subpath/somedir', false, 'nominal'],
  [12, LISTS.A, 'subpath/somedir', true, 'ignored'],
  [13, LISTS.A, 'ignored', false, 'ignored'],
  [14, LISTS.A, 'ignored', true, 'ignored'],
  [15, LISTS.A, 'ignored/subpath2', true, 'nominal'],
  [16, LISTS.B, 'run.py', false, 'nominal'],
  [17, LISTS.B, 'run.pyc', false, 'ignored'],
  [18, LISTS.B, 'run.pyc', true, 'ignored'],
  [19, LISTS.B, 'subpath/run.pyd', false, 'ignored'],
  [20, LISTS.B, 'run.dir', true, 'nominal'],
  [21, LISTS.B, 'run.dirc', false, 'nominal'],
  [22, LISTS.B, 'run.dirc', true, 'ignored'],
  [23, LISTS.B, 'subpath/run.dird', true, 'ignored'],
  [24, LISTS.C, 'abspath', false, 'ignored'],
  [25, LISTS.C, 'subpath/abspath', false, 'nominal'],
  [26, LISTS.C, 'absdir', false, 'nominal'],
  [27, LISTS.C, 'absdir', true, 'ignored'],
  [28, LISTS.C, 'subpath/absdir', true, 'nominal'],
  [29, LISTS.C, 'name', false, 'ignored'],
  [30, LISTS.C, 'subpath/name', false, 'unignored'],
  [31, LISTS.D, 'some', false, 'nominal'],
  [32, LISTS.D, 'some/path', false, 'ignored'],
  [33, LISTS.D, 'some/other', false, 'unignored'],
  [34, LISTS.D, 'some/other/path', false, 'ignored'],
  [35, LISTS.D, 'subdir/some/other/path', false, 'nominal'],
  [36, LISTS.E, 'something', false, 'ignored'],
  [37, LISTS.E, 'something/other', false, 'nominal'],
  [38, LISTS.E, 'otherthing', false, 'ignored'],
  [39, LISTS.F, 'som', false, 'nominal'],
  [40, LISTS.F, 'some', false, 'ignored'],
  [41, LISTS.F, 'something', false, 'ignored'],
  [42, LISTS.F, 'someone', false, 'unignored'],
  [43, LISTS.F, 'some/path', false, 'nominal'],
  [44, LISTS.A, '', false, 'nominal'],
  [44, LISTS.A, '', true, 'nominal'],
  [45, ['node_modules'], 'a/b/node_modules', true, 'ignored'],
  [46, ['docs/*.md'], 'x/docs/a.md', false, 'nominal'],
  [47, ['**/cache'], 'cache', true, 'ignored'],
  [48, ['a/**'], 'a', true, 'ignored'],
];

function evaluate(patterns: readonly string[], path: string, isDirectory: boolean) {
  return createIgnorer({ syntax: 'mutagen', patterns, vcs: false }).evaluate(path, isDirectory);
}

describe('mutagen syntax: §3.3 behaviour table', () => {
  it.each(TABLE)('row %i: %j, %j (dir %s) is %s', (_row, patterns, path, isDirectory, status) => {
    expect(evaluate(patterns, path, isDirectory)).toEqual({ status, continueTraversal: false });
  });

  it('covers all 48 numbered rows', () => {
    expect(new Set(TABLE.map(([row]) => row)).size).toBe(48);
  });

  it.each([
    ['something', true],
    ['random', true],
    ['ignored', true],
    ['some/other', false],
  ] as const)('never continues traversal (%s)', (path, isDirectory) => {
    for (const patterns of Object.values(LISTS)) {
      expect(evaluate(patterns, path, isDirectory).continueTraversal).toBe(false);
    }
  });
});

describe('mutagen syntax: validity', () => {
  it.each([
    ['', 'empty pattern'],
    ['!', 'negated empty pattern'],
    ['/', 'root pattern'],
    ['!/', 'root pattern'],
    ['//', 'root directory pattern'],
    ['!//', 'root directory pattern'],
    ['///', 'root directory pattern'],
    ['!///', 'root directory pattern'],
    ['\\', 'invalid glob: trailing backslash'],
  ])('rejects %j (%s)', (pattern, reason) => {
    expect(validateIgnorePattern('mutagen', pattern)).toBe(reason);
  });

  it.each(['some pattern', 'some/pattern', '/some/pattern', '/some/pattern/', '\t \n'])('accepts %j', (pattern) => {
    expect(validateIgnorePattern('mutagen', pattern)).toBeUndefined();
  });

  it.each([
    ['a[', 'invalid glob: unterminated character class'],
    ['[]a]', 'invalid glob: empty character class'],
    ['[!]', 'invalid glob: empty character class'],
    ['a{b', 'invalid glob: unterminated brace'],
    ['a}b', 'invalid glob: unmatched closing brace'],
    ['a\\', 'invalid glob: trailing backslash'],
    ['{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}{o,p}{q,r}{s,t}{u,v}', 'invalid glob: too many brace alternatives'],
  ])('rejects the malformed glob %j', (pattern, reason) => {
    expect(validateIgnorePattern('mutagen', pattern)).toBe(reason);
  });
});

describe('mutagen syntax: cleaning keeps one trailing slash', () => {
  it.each([
    ['', '.'],
    ['/', '/'],
    ['//', '//'],
    ['///', '//'],
    ['/a', '/a'],
    [' /a', ' /a'],
    [' /a/', ' /a/'],
    ['a/', 'a/'],
    ['a//', 'a/'],
    ['a', 'a'],
    [' ', ' '],
    [' //', ' /'],
    ['./a/../b//', 'b/'],
    ['/../a', '/a'],
  ])('%j -> %j', (input, expected) => {
    expect(cleanPreservingTrailingSlash(input)).toBe(expected);
  });

  it('cleans patterns before matching', () => {
    expect(evaluate(['./build//'], 'build', true).status).toBe('ignored');
    expect(evaluate(['a/../tmp'], 'x/tmp', false).status).toBe('ignored');
    expect(evaluate(['/x/./y'], 'x/y', false).status).toBe('ignored');
  });
});

describe('mutagen syntax: glob features', () => {
  it.each([
    // alternatives
    [['*.{js,ts}'], 'src/a.ts', false, 'ignored'],
    [['*.{js,ts}'], 'src/a.md', false, 'nominal'],
    [['{build,dist}/'], 'pkg/dist', true, 'ignored'],
    [['{build,dist}/'], 'pkg/dist', false, 'nominal'],
    [['/{a/b,c}'], 'a/b', false, 'ignored'],
    // escapes
    [['\\*.txt'], '*.txt', false, 'ignored'],
    [['\\*.txt'], 'a.txt', false, 'nominal'],
    [['\\!important'], '!important', false, 'ignored'],
    [['x\\[1\\]'], 'x[1]', false, 'ignored'],
    // classes
    [['file[!0-9]'], 'filex', false, 'ignored'],
    [['file[!0-9]'], 'file7', false, 'nominal'],
    [['file[^0-9]'], 'filex', false, 'ignored'],
    [['[a-c]*'], 'bob', false, 'ignored'],
    [['[a-c]*'], 'dave', false, 'nominal'],
    // dotfiles are matched by wildcards
    [['*'], '.env', false, 'ignored'],
    [['.*'], '.git', true, 'ignored'],
    [['/**/*.log'], '.cache/.hidden/x.log', false, 'ignored'],
    [['?git'], '.git', true, 'ignored'],
    // `**` inside a component acts like `*`
    [['/a**b'], 'aXXb', false, 'ignored'],
    [['/a**b'], 'a/b', false, 'nominal'],
    [['/**.txt'], 'sub/x.txt', false, 'nominal'],
    [['/x/**.txt'], 'x/y.txt', false, 'ignored'],
    // `*` and `?` do not cross `/`
    [['/a*'], 'a/b', false, 'nominal'],
    [['/a?b'], 'a/b', false, 'nominal'],
    // `**` as a component
    [['a/**/b'], 'a/b', false, 'ignored'],
    [['a/**/b'], 'a/x/y/b', false, 'ignored'],
    [['a/**'], 'a/x/y', false, 'ignored'],
    [['**'], 'anything/at/all', false, 'ignored'],
    // regex and extglob characters are literal
    [['a+(b)'], 'a+(b)', false, 'ignored'],
    [['a+(b)'], 'ab', false, 'nominal'],
    [['(x|y)'], 'x', false, 'nominal'],
    [['(x|y)'], '(x|y)', false, 'ignored'],
    [['$HOME'], '$HOME', false, 'ignored'],
    // matching is case-sensitive
    [['*.JPG'], 'photo.jpg', false, 'nominal'],
  ] as const)('%j matches %j (dir %s): %s', (patterns, path, isDirectory, status) => {
    expect(evaluate(patterns, path, isDirectory).status).toBe(status);
  });

  it('an ignored directory is reported even if a later negation names its child', () => {
    const ignorer = createIgnorer({ syntax: 'mutagen', patterns: ['cache', '!cache/keep'], vcs: false });
    expect(ignorer.evaluate('cache', true)).toEqual({ status: 'ignored', continueTraversal: false });
    expect(ignorer.evaluate('cache/keep', false).status).toBe('unignored');
    expect(ignorer.mayContinueTraversal).toBe(false);
  });
});
