import { describe, expect, it } from 'vitest';

import { MutagenError } from '../../../src/base/errors.js';
import { createIgnorer, IGNORE_MEMO_LIMIT, isIgnoredForScan, VCS_DIRECTORY_NAMES } from '../../../src/sync/ignore/ignorer.js';
import type { IgnorerOptions } from '../../../src/sync/ignore/ignorer.js';

describe('VCS ignore mode (§3.6)', () => {
  const syntaxes = ['mutagen', 'docker'] as const;

  it.each(syntaxes.flatMap((syntax) => [...VCS_DIRECTORY_NAMES].map((name) => [syntax, name] as const)))(
    '%s: a %s directory is ignored without continuation, at any depth',
    (syntax, name) => {
      const ignorer = createIgnorer({ syntax, patterns: [], vcs: true });
      expect(ignorer.evaluate(name, true)).toEqual({ status: 'ignored', continueTraversal: false });
      expect(ignorer.evaluate(`a/b/${name}`, true)).toEqual({ status: 'ignored', continueTraversal: false });
      expect(isIgnoredForScan(ignorer, name, true)).toBe(true);
    },
  );

  it.each(syntaxes)('%s: files with VCS names are unaffected', (syntax) => {
    const ignorer = createIgnorer({ syntax, patterns: [], vcs: true });
    expect(ignorer.evaluate('.git', false).status).toBe('nominal');
    expect(ignorer.evaluate('sub/.gitignore', false).status).toBe('nominal');
    expect(ignorer.evaluate('.github', true).status).toBe('nominal');
  });

  it('user negations cannot undo it', () => {
    const mutagen = createIgnorer({ syntax: 'mutagen', patterns: ['!.git', '!.git/'], vcs: true });
    expect(mutagen.evaluate('.git', true).status).toBe('ignored');
    const docker = createIgnorer({ syntax: 'docker', patterns: ['!.git', '!.git/config'], vcs: true });
    expect(docker.evaluate('.git', true)).toEqual({ status: 'ignored', continueTraversal: false });
  });

  it('propagate mode leaves VCS directories to the user patterns', () => {
    const ignorer = createIgnorer({ syntax: 'mutagen', patterns: ['.hg/'], vcs: false });
    expect(ignorer.evaluate('.git', true).status).toBe('nominal');
    expect(ignorer.evaluate('.hg', true).status).toBe('ignored');
  });
});

describe('createIgnorer', () => {
  it.each([
    [{ syntax: 'mutagen', patterns: ['ok', '!', 'also-bad/['], vcs: false }, 'invalid ignore pattern "!": negated empty pattern'],
    [{ syntax: 'mutagen', patterns: ['a['], vcs: false }, 'invalid ignore pattern "a[": invalid glob: unterminated character class'],
    [{ syntax: 'docker', patterns: ['ok', '  '], vcs: true }, 'invalid ignore pattern "  ": whitespace-only pattern'],
    [{ syntax: 'docker', patterns: ['/'], vcs: false }, 'invalid ignore pattern "/": root pattern'],
  ] satisfies [IgnorerOptions, string][])('rejects the first invalid pattern (%j)', (options, message) => {
    let caught: unknown;
    try {
      createIgnorer(options);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MutagenError);
    expect(caught).toMatchObject({ code: 'MUTAGEN_INVALID_IGNORE', message });
  });

  it('returns the same result object for a repeated (path, isDirectory)', () => {
    const ignorer = createIgnorer({ syntax: 'mutagen', patterns: ['*.o', 'build/'], vcs: false });
    const first = ignorer.evaluate('src/a.o', false);
    expect(ignorer.evaluate('src/a.o', false)).toBe(first);
    expect(first.status).toBe('ignored');
    expect(ignorer.evaluate('build', false).status).toBe('nominal');
    expect(ignorer.evaluate('build', true).status).toBe('ignored');
    expect(ignorer.evaluate('build', false).status).toBe('nominal');
  });

  it('keeps answering correctly after the memo limit is passed', () => {
    const ignorer = createIgnorer({ syntax: 'mutagen', patterns: ['*.tmp'], vcs: false });
    let ignored = 0;
    for (let index = 0; index <= IGNORE_MEMO_LIMIT; index += 1) {
      if (ignorer.evaluate(`f${index}${index % 2 === 0 ? '.tmp' : ''}`, false).status === 'ignored') ignored += 1;
    }
    expect(ignored).toBe(IGNORE_MEMO_LIMIT / 2 + 1);
    expect(ignorer.evaluate('f0.tmp', false).status).toBe('ignored');
    expect(ignorer.evaluate('f1', false).status).toBe('nominal');
  });

  it('an empty pattern list ignores nothing', () => {
    for (const syntax of ['mutagen', 'docker'] as const) {
      const ignorer = createIgnorer({ syntax, patterns: [], vcs: false });
      expect(ignorer.evaluate('some/path', true)).toEqual({ status: 'nominal', continueTraversal: false });
      expect(ignorer.mayContinueTraversal).toBe(false);
    }
  });
});
