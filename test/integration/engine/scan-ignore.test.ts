import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIgnorer } from '../../../src/sync/ignore/ignorer.js';
import { makeTempDir, removeTempDir, scanTree, shape, writeTree } from './scan-helpers.js';

describe('scan with ignores (sync-semantics §3, §3.5 scan side)', () => {
  let dir = '';
  beforeEach(() => {
    dir = makeTempDir('scan-ignore-');
  });
  afterEach(() => {
    removeTempDir(dir);
  });

  it('mutagen syntax: ignored paths are single untracked entries and are never entered', async () => {
    writeTree(dir, {
      'app.log': 'noise',
      'keep.log': 'wanted',
      build: { 'out.bin': 'artifact', nested: { deep: 'x' } },
      src: { 'main.ts': 'code', build: 'a file named build is not a directory' },
      node_modules: { pkg: { 'index.js': 'x' } },
    });
    const ignorer = createIgnorer({ syntax: 'mutagen', patterns: ['*.log', '!keep.log', 'build/', 'node_modules'], vcs: false });
    const output = await scanTree(dir, { ignorer });
    expect(shape(output.snapshot.content)).toEqual({
      'app.log': 'untracked',
      'keep.log': 'file',
      build: 'untracked',
      node_modules: 'untracked',
      src: { 'main.ts': 'file', build: 'file' },
    });
    // Nothing below an ignored directory was read.
    expect(output.hashedFiles).toBe(3);
    expect([...output.cache.keys()].sort()).toEqual(['keep.log', 'src/build', 'src/main.ts']);
    expect(output.snapshot).toMatchObject({ directories: 2, files: 3 });
  });

  it('mutagen syntax: a negation below an ignored directory cannot bring its content back', async () => {
    writeTree(dir, { ignored: { subpath: { content: 'x' } }, other: 'y' });
    const ignorer = createIgnorer({ syntax: 'mutagen', patterns: ['ignored', '!ignored/subpath'], vcs: false });
    const output = await scanTree(dir, { ignorer });
    expect(shape(output.snapshot.content)).toEqual({ ignored: 'untracked', other: 'file' });
  });

  it('docker syntax: ignored directories that a negation may reach become phantom directories', async () => {
    writeTree(dir, {
      ignored: { subpath: { content: 'wanted', other: 'not wanted' }, 'other.txt': 'no', elsewhere: { f: 'no' } },
      plain: 'tracked',
    });
    mkdirSync(path.join(dir, 'ignored', 'subpath', 'emptydir'));
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/ignored/bad`), Buffer.from([0xff])]), 'x');
    const ignorer = createIgnorer({ syntax: 'docker', patterns: ['ignored', '!ignored/subpath/content'], vcs: false });
    const output = await scanTree(dir, { ignorer });
    expect(shape(output.snapshot.content)).toEqual({
      ignored: ['phantom', {
        'bad\uFFFD (non-UTF-8)': 'untracked',
        elsewhere: 'untracked',
        'other.txt': 'untracked',
        subpath: ['phantom', { content: 'file', emptydir: 'untracked', other: 'untracked' }],
      }],
      plain: 'file',
    });
    // Content under a phantom is not counted until reification decides.
    expect(output.snapshot).toMatchObject({ directories: 1, files: 1 });
    expect([...output.cache.keys()].sort()).toEqual(['ignored/subpath/content', 'plain']);
  });

  it('docker syntax: an unignored directory inside a phantom is a real directory', async () => {
    writeTree(dir, { vendor: { keep: { a: 'x', b: { c: 'y' } }, drop: { d: 'z' } } });
    const ignorer = createIgnorer({ syntax: 'docker', patterns: ['vendor', '!vendor/keep'], vcs: false });
    const output = await scanTree(dir, { ignorer });
    expect(shape(output.snapshot.content)).toEqual({
      vendor: ['phantom', { keep: { a: 'file', b: { c: 'file' } }, drop: 'untracked' }],
    });
  });

  it('docker syntax without negations behaves like plain ignores', async () => {
    writeTree(dir, { dist: { f: 'x' }, somedir: 'a file matched by a directory-looking pattern', src: { f: 'y' } });
    const ignorer = createIgnorer({ syntax: 'docker', patterns: ['dist', 'somedir/'], vcs: false });
    const output = await scanTree(dir, { ignorer });
    expect(shape(output.snapshot.content)).toEqual({ dist: 'untracked', somedir: 'untracked', src: { f: 'file' } });
  });

  it('VCS ignore mode skips VCS directories but not files with those names', async () => {
    writeTree(dir, {
      '.git': { HEAD: 'ref', objects: { aa: 'blob' } },
      sub: { '.git': 'gitdir: ../.git/worktrees/sub', '.hg': { store: 'x' }, code: 'y' },
      '.svn': {}, '.bzr': {}, _darcs: {},
    });
    const withVcs = await scanTree(dir, { ignorer: createIgnorer({ syntax: 'mutagen', patterns: ['!.git'], vcs: true }) });
    expect(shape(withVcs.snapshot.content)).toEqual({
      '.git': 'untracked', '.svn': 'untracked', '.bzr': 'untracked', _darcs: 'untracked',
      sub: { '.git': 'file', '.hg': 'untracked', code: 'file' },
    });
    const propagate = await scanTree(dir, { ignorer: createIgnorer({ syntax: 'mutagen', patterns: [], vcs: false }) });
    expect(shape(propagate.snapshot.content)).toMatchObject({ '.git': { HEAD: 'file', objects: { aa: 'file' } } });
  });
});
