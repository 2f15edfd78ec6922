import {
  chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync, appendFileSync,
} from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FilesystemBehavior } from '../../../src/sync/local/probe.js';
import type { ScanOutput } from '../../../src/sync/local/scanner.js';
import { digestAt, entryAt, makeTempDir, removeTempDir, scanTree, sha1, shape } from './scan-helpers.js';
import { prng as random } from '../../helpers/random.js';


function initialTree(root: string): void {
  for (let d = 0; d < 4; d++) {
    for (let s = 0; s < 3; s++) {
      const dir = path.join(root, `d${d}`, `s${s}`);
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 4; f++) writeFileSync(path.join(dir, `f${f}.txt`), `content ${d}/${s}/${f}`);
    }
    writeFileSync(path.join(root, `d${d}`, 'top.txt'), `top ${d}`);
  }
  mkdirSync(path.join(root, 'empty'));
}

/** All paths below root (relative), split by kind, from the disk itself. */
function inventory(root: string): { files: string[]; directories: string[] } {
  const files: string[] = [];
  const directories: string[] = [];
  const walk = (relative: string): void => {
    for (const name of readdirSync(path.join(root, relative))) {
      const child = relative === '' ? name : `${relative}/${name}`;
      const stat = lstatSync(path.join(root, child));
      if (stat.isDirectory()) {
        directories.push(child);
        walk(child);
      } else if (stat.isFile()) files.push(child);
    }
  };
  walk('');
  return { files, directories };
}

/** Applies `count` random edits and returns the paths a recursive watcher would report. */
function randomEdits(root: string, next: () => number, count: number): Set<string> {
  const recheck = new Set<string>();
  const pick = <T>(items: T[]): T | undefined => items[Math.floor(next() * items.length)];
  for (let i = 0; i < count; i++) {
    const { files, directories } = inventory(root);
    const file = pick(files);
    const directory = pick(directories) ?? '';
    const fresh = `${directory === '' ? '' : `${directory}/`}new-${i}-${Math.floor(next() * 1e6)}`;
    const operation = Math.floor(next() * 9);
    let touched: string | undefined;
    if (operation === 0 && file !== undefined) { appendFileSync(path.join(root, file), ` edit ${i}`); touched = file; }
    if (operation === 1) { writeFileSync(path.join(root, fresh), `fresh ${i}`); touched = fresh; }
    if (operation === 2 && file !== undefined) { rmSync(path.join(root, file)); touched = file; }
    if (operation === 3) { mkdirSync(path.join(root, fresh)); writeFileSync(path.join(root, fresh, 'inner'), `inner ${i}`); touched = fresh; }
    if (operation === 4 && directory !== '') { rmSync(path.join(root, directory), { recursive: true }); touched = directory; }
    if (operation === 5 && file !== undefined) { chmodSync(path.join(root, file), 0o755); touched = file; }
    if (operation === 6 && file !== undefined) { rmSync(path.join(root, file)); mkdirSync(path.join(root, file)); touched = file; }
    if (operation === 7) { symlinkSync('new-target', path.join(root, fresh)); touched = fresh; }
    if (operation === 8 && file !== undefined) { utimesSync(path.join(root, file), 1_500_000_000 + i, 1_500_000_000 + i); touched = file; }
    if (touched !== undefined) recheck.add(touched);
  }
  return recheck;
}

function expectSameScan(accelerated: ScanOutput, full: ScanOutput): void {
  expect(accelerated.snapshot).toEqual(full.snapshot);
  expect(new Map(accelerated.cache)).toEqual(new Map(full.cache));
}

describe('accelerated scans (sync-semantics §2.9)', () => {
  let dir = '';
  beforeEach(() => {
    dir = makeTempDir('scan-accel-');
    initialTree(dir);
  });
  afterEach(() => {
    removeTempDir(dir);
  });

  it.each([1, 2, 3, 4, 5])('equals a full scan after random edits with correct re-check paths (seed %i)', async (seed) => {
    const next = random(seed);
    let previous = await scanTree(dir);
    let changedRounds = 0;
    for (let round = 0; round < 4; round++) {
      const recheckPaths = randomEdits(dir, next, 6);
      expect(recheckPaths.size).toBeGreaterThan(0);
      // The full scan first: the accelerated one updates the previous cache in place.
      const full = await scanTree(dir, { cache: previous.cache });
      const accelerated = await scanTree(dir, { cache: previous.cache, baseline: { snapshot: previous.snapshot, cache: previous.cache, recheckPaths } });
      expectSameScan(accelerated, full);
      // Acceleration did less work than the full scan would do from scratch.
      expect(accelerated.hashedFiles).toBeLessThanOrEqual(full.hashedFiles);
      if (!isDeepStrictEqual(accelerated.snapshot.content, previous.snapshot.content)) changedRounds++;
      previous = accelerated;
    }
    expect(changedRounds).toBeGreaterThan(0);
  });

  it.each([6, 7])('a full scan against a baseline equals a plain full scan and shares unchanged subtrees (seed %i)', async (seed) => {
    const next = random(seed);
    let previous = await scanTree(dir);
    for (let round = 0; round < 3; round++) {
      randomEdits(dir, next, 4);
      const plain = await scanTree(dir, { cache: previous.cache });
      const before = previous.snapshot.content;
      const full = await scanTree(dir, { cache: previous.cache, baseline: { snapshot: previous.snapshot, cache: previous.cache, recheckPaths: 'all' } });
      expectSameScan(full, plain);
      expect(full.cache).toBe(previous.cache);
      // Every directory equal to its baseline is the baseline's object.
      const content = full.snapshot.content;
      if (content?.kind === 'directory' && before?.kind === 'directory') {
        for (const [name, entry] of content.contents) {
          const old = before.contents.get(name);
          if (old !== undefined && isDeepStrictEqual(entry, old)) expect(entry).toBe(old);
        }
      }
      previous = full;
    }
    const again = await scanTree(dir, { cache: previous.cache, baseline: { snapshot: previous.snapshot, cache: previous.cache, recheckPaths: 'all' } });
    expect(again.snapshot.content).toBe(previous.snapshot.content);
    expect(again.cacheChanged).toBe(false);
  });

  it('returns the baseline itself when nothing needs re-checking', async () => {
    const first = await scanTree(dir);
    const again = await scanTree(dir, { cache: first.cache, baseline: { snapshot: first.snapshot, cache: first.cache, recheckPaths: new Set() } });
    expect(again.snapshot).toBe(first.snapshot);
    expect(again.cache).toBe(first.cache);
    expect(again.hashedFiles).toBe(0);
  });

  it('trusts the re-check paths: an unreported change in a clean directory is not seen', async () => {
    const first = await scanTree(dir);
    appendFileSync(path.join(dir, 'd1/s1/f1.txt'), ' unreported');
    appendFileSync(path.join(dir, 'd2/s2/f2.txt'), ' reported');
    const baseline = { snapshot: first.snapshot, cache: first.cache, recheckPaths: new Set(['d2/s2/f2.txt']) };
    const accelerated = await scanTree(dir, { cache: first.cache, baseline });
    expect(accelerated.hashedFiles).toBe(1);
    expect(digestAt(accelerated.snapshot.content, 'd2/s2/f2.txt')).toBe(sha1('content 2/2/2 reported'));
    expect(digestAt(accelerated.snapshot.content, 'd1/s1/f1.txt')).toBe(sha1('content 1/1/1'));
    // Subtrees outside the dirty set are the baseline's own objects.
    const content = accelerated.snapshot.content;
    const old = first.snapshot.content;
    if (content?.kind !== 'directory' || old?.kind !== 'directory') throw new Error('expected directories');
    expect(content.contents.get('d1')).toBe(old.contents.get('d1'));
    expect(content.contents.get('d2')).not.toBe(old.contents.get('d2'));
  });

  it('re-lists an empty baseline directory inside a dirty parent (Linux rule)', async () => {
    const first = await scanTree(dir);
    writeFileSync(path.join(dir, 'empty', 'arrived'), 'renamed in');
    const baseline = { snapshot: first.snapshot, cache: first.cache, recheckPaths: new Set(['d0/top.txt']) };
    const accelerated = await scanTree(dir, { cache: first.cache, baseline });
    const expected = process.platform === 'linux' ? { arrived: 'file' } : {};
    expect(shape(entryAt(accelerated.snapshot.content, 'empty'))).toEqual(expected);
  });

  it('discards a baseline made with different filesystem behaviour or another root kind', async () => {
    const first = await scanTree(dir);
    appendFileSync(path.join(dir, 'd3/s0/f0.txt'), ' unreported');
    const stale = { ...first.snapshot, preservesExecutability: false };
    const accelerated = await scanTree(dir, { cache: first.cache, baseline: { snapshot: stale, cache: first.cache, recheckPaths: new Set(['d0']) } });
    expect(digestAt(accelerated.snapshot.content, 'd3/s0/f0.txt')).toBe(sha1('content 3/0/0 unreported'));
    expect(accelerated.snapshot.preservesExecutability).toBe(true);

    const device = lstatSync(dir, { bigint: true }).dev;
    const behaviorCache = new Map<bigint, FilesystemBehavior>([[device, { preservesExecutability: true, decomposesUnicode: true }]]);
    const recomposing = await scanTree(dir, { cache: first.cache, behaviorCache, baseline: { snapshot: first.snapshot, cache: first.cache, recheckPaths: new Set() } });
    expect(recomposing.snapshot).not.toBe(first.snapshot);
    expect(recomposing.snapshot.decomposesUnicode).toBe(true);

    const fileRoot = path.join(dir, 'd0', 'top.txt');
    const asFile = await scanTree(fileRoot, { baseline: { snapshot: first.snapshot, cache: first.cache, recheckPaths: new Set() } });
    expect(shape(asFile.snapshot.content)).toBe('file');
    expect(existsSync(fileRoot)).toBe(true);
  });
});
