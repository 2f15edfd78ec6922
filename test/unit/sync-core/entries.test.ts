import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import type { Entry } from '../../../src/model/entry.js';
import { applyChanges } from '../../../src/sync/core/apply.js';
import { encodeEntry } from '../../../src/sync/core/codec.js';
import { diff } from '../../../src/sync/core/diff.js';
import {
  collectProblems, countEntries, entriesEqual, entryAt, synchronizable, withoutContents,
} from '../../../src/sync/core/entries.js';
import {
  dirEntry as D, fileEntry, phantomEntry, problematicEntry, symlinkEntry, treeFromPaths, untrackedEntry,
} from '../../../src/sync/core/tree.js';
import { mutateTree, prng, randomTree } from './fixtures/random.js';

const F1 = fileEntry('F1');
const F2 = fileEntry('F2');
const U = untrackedEntry();

describe('entriesEqual (§1.3)', () => {
  it('nil handling', () => {
    expect(entriesEqual(undefined, undefined, true)).toBe(true);
    expect(entriesEqual(F1, undefined, false)).toBe(false);
    expect(entriesEqual(undefined, D(), false)).toBe(false);
  });

  it('compares kind, digest bytes, executability, target and problem', () => {
    expect(entriesEqual(fileEntry('F1'), fileEntry(new Uint8Array([0x46, 0x31])), true)).toBe(true);
    expect(entriesEqual(F1, F2, false)).toBe(false);
    expect(entriesEqual(F1, fileEntry('F1', true), false)).toBe(false);
    expect(entriesEqual(symlinkEntry('a'), symlinkEntry('a'), false)).toBe(true);
    expect(entriesEqual(symlinkEntry('a'), symlinkEntry('b'), false)).toBe(false);
    expect(entriesEqual(problematicEntry('x'), problematicEntry('y'), false)).toBe(false);
    expect(entriesEqual(U, untrackedEntry(), true)).toBe(true);
    expect(entriesEqual(D(), phantomEntry(), false)).toBe(false);
    expect(entriesEqual(D(), F1, false)).toBe(false);
  });

  it('shallow ignores contents, deep compares them', () => {
    const a = D({ x: F1 });
    const b = D({ x: F2 });
    expect(entriesEqual(a, b, false)).toBe(true);
    expect(entriesEqual(a, b, true)).toBe(false);
    expect(entriesEqual(a, D({ x: F1, y: F1 }), true)).toBe(false);
    expect(entriesEqual(D({ x: D({ y: F1 }) }), D({ x: D({ y: fileEntry('F1') }) }), true)).toBe(true);
  });
});

describe('derived operations (§1.4)', () => {
  const tree = D({
    f: F1,
    l: symlinkEntry('f'),
    u: U,
    p: problematicEntry('unable to open file'),
    d: D({ g: F2, q: problematicEntry('non-UTF-8 filename'), e: D() }),
    ph: phantomEntry({ h: F1 }),
  });

  it('countEntries counts synchronizable entries only', () => {
    expect(countEntries(undefined)).toBe(0);
    expect(countEntries(U)).toBe(0);
    expect(countEntries(F1)).toBe(1);
    expect(countEntries(tree)).toBe(6); // root, f, l, d, d/g, d/e
  });

  it('synchronizable strips unsynchronizable entries and shares untouched subtrees', () => {
    expect(synchronizable(U)).toBeUndefined();
    expect(synchronizable(phantomEntry({ a: F1 }))).toBeUndefined();
    expect(synchronizable(F1)).toBe(F1);
    const clean = D({ a: F1, b: D({ c: F2 }) });
    expect(synchronizable(clean)).toBe(clean);
    const stripped = synchronizable(tree);
    expect(stripped).toEqual(D({ f: F1, l: symlinkEntry('f'), d: D({ g: F2, e: D() }) }));
    expect(entryAt(stripped, 'd/e')).toBe(entryAt(tree, 'd/e'));
    expect(entryAt(tree, 'u')).toBe(U); // input untouched
  });

  it('collectProblems lists problematic entries depth-first with paths', () => {
    expect(collectProblems(tree)).toEqual([
      { path: 'd/q', error: 'non-UTF-8 filename' },
      { path: 'p', error: 'unable to open file' },
    ]);
    expect(collectProblems(problematicEntry('x'), 'sub')).toEqual([{ path: 'sub', error: 'x' }]);
    expect(collectProblems(undefined)).toEqual([]);
  });

  it('withoutContents gives slim directories and leaves other kinds alone', () => {
    expect(withoutContents(tree)).toEqual(D());
    expect(withoutContents(phantomEntry({ a: F1 }))).toEqual(phantomEntry());
    expect(withoutContents(F1)).toBe(F1);
    expect(entryAt(tree, 'f')).toBe(F1);
  });

  it('entryAt walks root-relative paths', () => {
    expect(entryAt(tree, '')).toBe(tree);
    expect(entryAt(tree, 'd/g')).toBe(F2);
    expect(entryAt(tree, 'd/missing')).toBeUndefined();
    expect(entryAt(tree, 'f/below-a-file')).toBeUndefined();
    expect(entryAt(undefined, 'x')).toBeUndefined();
  });

  it('treeFromPaths creates intermediate directories', () => {
    expect(treeFromPaths({ 'a/b/c': F1, 'a/d': D(), e: F2 })).toEqual(D({ a: D({ b: D({ c: F1 }), d: D() }), e: F2 }));
  });
});

describe('diff', () => {
  it('emits one change at the highest differing path and never nests', () => {
    const base = D({ a: F1, d: D({ x: F1, y: F1 }), s: D({ k: F1 }) });
    const target = D({ a: F2, d: F1, s: D({ k: F1, n: D({ m: F1 }) }) });
    expect(diff('', base, target)).toEqual([
      { path: 'a', old: F1, new: F2 },
      { path: 'd', old: D({ x: F1, y: F1 }), new: F1 },
      { path: 's/n', old: undefined, new: D({ m: F1 }) },
    ]);
  });

  it('prefixes paths and handles absence', () => {
    expect(diff('sub', undefined, F1)).toEqual([{ path: 'sub', old: undefined, new: F1 }]);
    expect(diff('sub', D({ a: F1 }), D())).toEqual([{ path: 'sub/a', old: F1, new: undefined }]);
    expect(diff('', undefined, undefined)).toEqual([]);
    expect(diff('', F1, fileEntry('F1'))).toEqual([]);
  });
});

describe('applyChanges', () => {
  it('round-trips: apply(base, diff(base, target)) deep-equals target', () => {
    const random = prng(42);
    for (let i = 0; i < 500; i++) {
      const base = random() < 0.1 ? undefined : randomTree(random, 4, true);
      const target = mutateTree(random, base, 4, true);
      const before = JSON.stringify(encodeEntry(base));
      const result = applyChanges(base, diff('', base, target));
      expect(entriesEqual(result, target, true)).toBe(true);
      expect(JSON.stringify(encodeEntry(base))).toBe(before); // base not modified
    }
  });

  it('applies in order, copies on write and shares untouched subtrees', () => {
    const shared = D({ deep: F1 });
    const base = D({ keep: shared, d: D({ a: F1 }) });
    const result = applyChanges(base, [
      { path: 'd/b', old: undefined, new: D() },
      { path: 'd/b/c', old: undefined, new: F2 },
      { path: 'd/a', old: F1, new: undefined },
    ]);
    expect(result).toEqual(D({ keep: shared, d: D({ b: D({ c: F2 }) }) }));
    expect(entryAt(result, 'keep')).toBe(shared);
    expect(base).toEqual(D({ keep: shared, d: D({ a: F1 }) }));
  });

  it('a change at the root replaces the whole tree', () => {
    expect(applyChanges(D({ a: F1 }), [{ path: '', old: undefined, new: F2 }])).toBe(F2);
    expect(applyChanges(F1, [{ path: '', old: F1, new: undefined }])).toBeUndefined();
    expect(applyChanges(undefined, [{ path: '', old: undefined, new: D() }, { path: 'x', old: undefined, new: F1 }]))
      .toEqual(D({ x: F1 }));
  });

  it('does not modify an inserted entry when a later change edits below it', () => {
    const inserted: Entry = D({ a: F1 });
    const result = applyChanges(D(), [
      { path: 'n', old: undefined, new: inserted },
      { path: 'n/b', old: undefined, new: F2 },
    ]);
    expect(result).toEqual(D({ n: D({ a: F1, b: F2 }) }));
    expect(inserted).toEqual(D({ a: F1 }));
  });

  it('throws MUTAGEN_INTERNAL when a parent is missing or not a directory', () => {
    const attempt = (base: Entry | undefined, path: string): unknown => {
      try {
        applyChanges(base, [{ path, old: undefined, new: F1 }]);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    for (const [base, path] of [[undefined, 'x'], [D(), 'a/b'], [D({ f: F1 }), 'f/g']] as const) {
      const error = attempt(base, path);
      expect(error).toBeInstanceOf(MutagenError);
      expect((error as MutagenError).code).toBe('MUTAGEN_INTERNAL');
    }
  });
});
