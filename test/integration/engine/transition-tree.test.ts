import { lstat, mkdir, readdir, readFile, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dirEntry, fileEntry, symlinkEntry } from '../../../src/sync/core/tree.js';
import type { CacheEntry } from '../../../src/sync/local/scan-cache.js';
import { applyTransitions } from '../../../src/sync/local/transition.js';
import { createWorkspace, modeOf, scanTree, stage as stageBuffer, transitionOptions, type Workspace } from './transition-fixtures.js';

let ws: Workspace | undefined;

async function workspace(): Promise<Workspace> {
  ws = await createWorkspace();
  await mkdir(ws.root);
  return ws;
}

afterEach(async () => {
  await ws?.dispose();
  ws = undefined;
});

/** Stages `content` for `relative`; its digest as a plain Uint8Array (what scanTree() yields). */
async function stage(...args: Parameters<typeof stageBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await stageBuffer(...args));
}

/** Inode of the staged copy of `relative` in the mirror tree (it exists once a file below it is staged). */
async function stagedDirectoryInode(w: Workspace, relative: string): Promise<bigint> {
  return (await stat(w.staging.treePath(relative) ?? '', { bigint: true })).ino;
}

describe('whole-directory creation from the staging mirror tree (transition-tree.ts)', () => {
  it('moves the checked staged copy of a new directory into place with one rename', async () => {
    const w = await workspace();
    const scanned = await scanTree(w.root);
    const a = await stage(w.staging, 'd/a', 'alpha');
    const exec = await stage(w.staging, 'd/sub/run', '#!/bin/sh\n');
    // larger than the writer thread takes: staged under a flat name, gathered into the tree
    const bigContent = Buffer.alloc(300 * 1024, 5);
    const big = await stage(w.staging, 'd/sub/big', bigContent);
    expect(path.dirname(w.staging.lookup('d/sub/big', big)?.file ?? '')).toBe(w.staging.root);
    const inode = await stagedDirectoryInode(w, 'd');
    const tree = dirEntry({
      a: fileEntry(a),
      sub: dirEntry({ run: fileEntry(exec, true), big: fileEntry(big), link: symlinkEntry('../a') }),
      empty: dirEntry(),
    });
    const placed = new Map<string, CacheEntry>();
    const result = await applyTransitions([{ path: 'd', old: undefined, new: tree }], transitionOptions(w, scanned, { placed, defaultDirectoryMode: 0o750 }));
    expect(result).toEqual({ results: [tree], problems: [], missingStagedFiles: false });
    // the directory in place is the staged one itself
    expect((await stat(path.join(w.root, 'd'), { bigint: true })).ino).toBe(inode);
    expect(await readFile(path.join(w.root, 'd', 'a'), 'utf8')).toBe('alpha');
    expect(Buffer.compare(await readFile(path.join(w.root, 'd', 'sub', 'big')), bigContent)).toBe(0);
    expect(await readlink(path.join(w.root, 'd', 'sub', 'link'))).toBe('../a');
    expect(await modeOf(path.join(w.root, 'd', 'a'))).toBe(0o600);
    expect(await modeOf(path.join(w.root, 'd', 'sub', 'run'))).toBe(0o700);
    for (const directory of ['d', 'd/sub', 'd/empty']) expect(await modeOf(path.join(w.root, directory))).toBe(0o750);
    expect((await scanTree(path.join(w.root, 'd'))).entry).toEqual(tree);
    // every file is remembered with the stat it has in place, and released from staging
    expect([...placed.keys()].sort()).toEqual(['d/a', 'd/sub/big', 'd/sub/run']);
    for (const [relative, entry] of placed) {
      const onDisk = await lstat(path.join(w.root, relative), { bigint: true });
      expect([entry.ino, entry.size, entry.mtimeNs, entry.mode]).toEqual([Number(onDisk.ino), Number(onDisk.size), onDisk.mtimeNs, Number(onDisk.mode)]);
    }
    expect([await w.staging.contains('d/a', a), await w.staging.contains('d/sub/big', big)]).toEqual([false, false]);
  });

  it('creates entry by entry instead when the staged copy holds a name the entry lacks', async () => {
    const w = await workspace();
    const scanned = await scanTree(w.root);
    const a = await stage(w.staging, 'd/a', 'alpha');
    await stage(w.staging, 'd/stale', 'from an earlier plan');
    const inode = await stagedDirectoryInode(w, 'd');
    const tree = dirEntry({ a: fileEntry(a) });
    const result = await applyTransitions([{ path: 'd', old: undefined, new: tree }], transitionOptions(w, scanned));
    expect(result).toEqual({ results: [tree], problems: [], missingStagedFiles: false });
    expect(await readdir(path.join(w.root, 'd'))).toEqual(['a']);
    expect((await stat(path.join(w.root, 'd'), { bigint: true })).ino).not.toBe(inode);
    expect(await readFile(path.join(w.root, 'd', 'a'), 'utf8')).toBe('alpha');
  });

  it('creates entry by entry instead when a staged file has other content than the entry says', async () => {
    const w = await workspace();
    const scanned = await scanTree(w.root);
    const a = await stage(w.staging, 'd/a', 'alpha');
    const expected = await stage(w.staging, 'd/b', 'expected');
    // what is at the mirror path of d/b now is another version: the expected one is elsewhere
    const other = await stage(w.staging, 'd/c', 'c');
    const tree = dirEntry({ a: fileEntry(a), b: fileEntry(expected), c: fileEntry(other) });
    const wrong = dirEntry({ a: fileEntry(a), b: fileEntry(other), c: fileEntry(other) });
    let result = await applyTransitions([{ path: 'd', old: undefined, new: wrong }], transitionOptions(w, scanned));
    expect(result.missingStagedFiles).toBe(true);
    expect(result.problems.map((problem) => problem.path)).toEqual(['d/b']);
    expect((await readdir(path.join(w.root, 'd'))).sort()).toEqual(['a', 'c']);
    // nothing of the failed attempt leaks into a later, correct creation
    await stage(w.staging, 'e/a', 'alpha');
    await stage(w.staging, 'e/b', 'expected');
    await stage(w.staging, 'e/c', 'c');
    result = await applyTransitions([{ path: 'e', old: undefined, new: tree }], transitionOptions(w, scanned));
    expect(result).toEqual({ results: [tree], problems: [], missingStagedFiles: false });
    expect((await scanTree(path.join(w.root, 'e'))).entry).toEqual(tree);
  });

  it('never moves a staged copy over a directory that is there already', async () => {
    const w = await workspace();
    const scanned = await scanTree(w.root);
    const a = await stage(w.staging, 'd/a', 'alpha');
    await mkdir(path.join(w.root, 'd'));
    const result = await applyTransitions([{ path: 'd', old: undefined, new: dirEntry({ a: fileEntry(a) }) }], transitionOptions(w, scanned));
    expect(result.results).toEqual([undefined]);
    expect(result.problems.map((problem) => problem.path)).toEqual(['d']);
    expect(await readdir(path.join(w.root, 'd'))).toEqual([]);
    expect(await w.staging.contains('d/a', a)).toBe(true);
  });
});
