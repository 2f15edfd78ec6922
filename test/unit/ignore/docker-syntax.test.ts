import { describe, expect, it } from 'vitest';

import { createIgnorer, isIgnoredForScan, validateIgnorePattern } from '../../../src/sync/ignore/ignorer.js';
import type { IgnoreStatus } from '../../../src/sync/ignore/ignorer.js';

const LISTS = {
  none: [],
  A: ['something', 'otherthing', '!something', 'somedir/', 'ignored', '!ignored/subpath', '!ignored/subpath2/content'],
  B: ['*.py[cod]', '*.dir[cod]/'],
  C: ['/abspath', '/absdir/', '/name', '!*/**/name'],
  D: ['some/*', 'some/**/*', '!some/other'],
  E: ['!something', 'otherthing', 'something'],
  F: ['some*', '!someone'],
} as const;

type Row = readonly [keyof typeof LISTS, string, boolean, IgnoreStatus, boolean];

/** §3.4 rows (marked) plus the rest of Mutagen's docker ignore tests: [list, path, dir, status, continue]. */
const ROWS: readonly Row[] = [
  ['none', 'something', false, 'nominal', false],
  ['none', 'something', true, 'nominal', false],
  ['none', 'some/path', true, 'nominal', false],
  ['A', 'something', false, 'unignored', false],
  ['A', 'something', true, 'unignored', false],
  ['A', 'subpath/something', false, 'nominal', false], // §3.4
  ['A', 'subpath/something', true, 'nominal', false],
  ['A', 'otherthing', false, 'ignored', false],
  ['A', 'otherthing', true, 'ignored', false],
  ['A', 'subpath/otherthing', false, 'nominal', false],
  ['A', 'subpath/otherthing', true, 'nominal', false], // §3.4
  ['A', 'random', true, 'nominal', false],
  ['A', 'subpath/random', true, 'nominal', false],
  ['A', 'somedir', false, 'ignored', false], // §3.4: the trailing slash is cleaned away
  ['A', 'somedir', true, 'ignored', false],
  ['A', 'subpath/somedir', true, 'nominal', false],
  ['A', 'ignored', false, 'ignored', false],
  ['A', 'ignored', true, 'ignored', true], // §3.4
  ['A', 'ignored/subpath2', false, 'nominal', false],
  ['A', 'ignored/subpath2', true, 'nominal', true], // §3.4
  ['B', 'run.py', false, 'nominal', false],
  ['B', 'run.pyc', false, 'ignored', false],
  ['B', 'run.pyc', true, 'ignored', false],
  ['B', 'subpath/run.pyd', false, 'nominal', false], // §3.4
  ['B', 'subpath/run.pyd', true, 'nominal', false],
  ['B', 'run.dir', true, 'nominal', false],
  ['B', 'run.dirc', false, 'ignored', false], // §3.4
  ['B', 'run.dirc', true, 'ignored', false],
  ['B', 'subpath/run.dird', true, 'nominal', false],
  ['C', 'abspath', false, 'ignored', false],
  ['C', 'subpath/abspath', true, 'nominal', false],
  ['C', 'absdir', false, 'ignored', false], // §3.4
  ['C', 'absdir', true, 'ignored', false],
  ['C', 'subpath/absdir', true, 'nominal', false],
  ['C', 'name', true, 'ignored', false],
  ['C', 'subpath/name', false, 'unignored', false], // §3.4
  ['C', 'subpath/name', true, 'unignored', false],
  ['D', 'some', false, 'nominal', false],
  ['D', 'some', true, 'nominal', true],
  ['D', 'some/path', false, 'ignored', false],
  ['D', 'some/other', false, 'unignored', false],
  ['D', 'some/other/path', false, 'ignored', false],
  ['D', 'subdir/some/other/path', false, 'nominal', false],
  ['E', 'something', false, 'ignored', false],
  ['E', 'something/other', false, 'nominal', false],
  ['E', 'otherthing', false, 'ignored', false],
  ['E', 'some/path', false, 'nominal', false],
  ['F', 'som', false, 'nominal', false],
  ['F', 'some', false, 'ignored', false],
  ['F', 'something', false, 'ignored', false],
  ['F', 'someone', false, 'unignored', false],
  ['F', 'some/path', false, 'nominal', false],
];

function docker(patterns: readonly string[]) {
  return createIgnorer({ syntax: 'docker', patterns, vcs: false });
}

describe('docker syntax: Mutagen rows', () => {
  it.each(ROWS)('list %s: %j (dir %s) is %s, continue %s', (list, path, isDirectory, status, continueTraversal) => {
    expect(docker(LISTS[list]).evaluate(path, isDirectory)).toEqual({ status, continueTraversal });
  });

  it('reports the root as nominal', () => {
    expect(docker(LISTS.A).evaluate('', true)).toEqual({ status: 'nominal', continueTraversal: false });
  });

  it('may continue traversal only when a negation exists', () => {
    expect(docker(LISTS.A).mayContinueTraversal).toBe(true);
    expect(docker(LISTS.B).mayContinueTraversal).toBe(false);
    expect(docker([]).mayContinueTraversal).toBe(false);
  });

  it('excludes from scanning only ignored paths without continuation', () => {
    const ignorer = docker(LISTS.A);
    expect(isIgnoredForScan(ignorer, 'ignored', true)).toBe(false);
    expect(isIgnoredForScan(ignorer, 'otherthing', true)).toBe(true);
    expect(isIgnoredForScan(ignorer, 'ignored', false)).toBe(true);
    expect(isIgnoredForScan(ignorer, 'random', true)).toBe(false);
  });
});

describe('docker syntax: validity', () => {
  it.each([
    ['', 'empty pattern'],
    ['!', 'negated empty pattern'],
    ['/', 'root pattern'],
    ['!/', 'root pattern'],
    ['//', 'root pattern'],
    ['!//', 'root pattern'],
    ['///', 'root pattern'],
    ['!///', 'root pattern'],
    ['\\', 'backslashes are not allowed in portable docker patterns'],
    ['\t \n', 'whitespace-only pattern'],
    ['! \t', 'negated empty pattern'],
    ['a\\*', 'backslashes are not allowed in portable docker patterns'],
    ['a[', 'invalid glob: unterminated character class'],
    ['[]a]', 'invalid glob: malformed character class'],
    ['[a-]', 'invalid glob: malformed character class'],
    ['[-a]', 'invalid glob: malformed character class'],
    ['[z-a]', 'invalid glob: unable to compile pattern'],
    ['a/../!', 'illegal exclusion pattern'],
  ])('rejects %j (%s)', (pattern, reason) => {
    expect(validateIgnorePattern('docker', pattern)).toBe(reason);
  });

  it.each(['some pattern', 'some/pattern', '/some/pattern', '/some/pattern/', '[!x]', '{a,b}', '**', 'a/../ /b/..'])(
    'accepts %j',
    (pattern) => {
      expect(validateIgnorePattern('docker', pattern)).toBeUndefined();
    },
  );
});

describe('docker syntax: moby matching', () => {
  it.each([
    // whole-path matching only: no basename matching, no directory-only patterns
    [['node_modules'], 'a/node_modules', true, 'nominal'],
    [['build/'], 'build', false, 'ignored'],
    // surrounding whitespace, a leading slash and `./` are cleaned away
    [['  /logs/./app.log  '], 'logs/app.log', false, 'ignored'],
    [['! keep'], 'keep', false, 'unignored'],
    // `**` forms
    [['**/name'], 'name', false, 'ignored'],
    [['**/name'], 'a/b/name', false, 'ignored'],
    [['**/name'], 'a/bname', false, 'nominal'],
    [['foo/**'], 'foo', true, 'nominal'],
    [['foo/**'], 'foo/x/y', false, 'ignored'],
    [['foo**'], 'foo', false, 'ignored'],
    [['foo**'], 'foo/bar', false, 'ignored'],
    [['**'], 'x/y', false, 'ignored'],
    [['**.log'], 'deep/dir/x.log', false, 'ignored'],
    [['a/**/b'], 'a/b', false, 'ignored'],
    [['a/**/b'], 'a/x/y/b', false, 'ignored'],
    [['a**b'], 'a/x/b', false, 'ignored'],
    [['*/**/x'], 'a/x', false, 'ignored'],
    [['*/**/x'], 'x', false, 'nominal'],
    // wildcards
    [['*.txt'], 'a.txt', false, 'ignored'],
    [['*.txt'], 'dir/a.txt', false, 'nominal'],
    [['*'], '.env', false, 'ignored'],
    [['?.md'], 'a.md', false, 'ignored'],
    [['?.md'], 'ab.md', false, 'nominal'],
    // classes are regex classes: `!` is literal, `^` negates
    [['[!x]'], 'y', false, 'nominal'],
    [['[!x]'], '!', false, 'ignored'],
    [['[^x]'], 'y', false, 'ignored'],
    // regex metacharacters are literal
    [['{a,b}'], 'a', false, 'nominal'],
    [['{a,b}'], '{a,b}', false, 'ignored'],
    [['a+b.(c)|$'], 'a+b.(c)|$', false, 'ignored'],
    [['a.*'], 'abc', false, 'nominal'],
    [['a.*'], 'a.c', false, 'ignored'],
  ] as const)('%j matches %j (dir %s): %s', (patterns, path, isDirectory, status) => {
    expect(docker(patterns).evaluate(path, isDirectory).status).toBe(status);
  });

  it('continues only on a plain prefix of a negation (wildcards do not count)', () => {
    const ignorer = docker(['*', '!src/keep', '!*/other']);
    expect(ignorer.evaluate('src', true)).toEqual({ status: 'ignored', continueTraversal: true });
    expect(ignorer.evaluate('lib', true)).toEqual({ status: 'ignored', continueTraversal: false });
    expect(ignorer.evaluate('sr', true)).toEqual({ status: 'ignored', continueTraversal: false });
    expect(ignorer.evaluate('src/keep', true)).toEqual({ status: 'unignored', continueTraversal: false });
    expect(ignorer.evaluate('src', false)).toEqual({ status: 'ignored', continueTraversal: false });
  });

  it('drops a pattern that cleans to whitespace, as moby does', () => {
    expect(docker(['a/../ /b/..']).evaluate(' ', false).status).toBe('nominal');
  });
});
