import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import type { Entry } from '../../../src/model/entry.js';
import { nextAncestor, validateAncestor } from '../../../src/sync/core/ancestor.js';
import { reconcile } from '../../../src/sync/core/reconcile.js';
import { checkRootEmptied, checkRootTransitions } from '../../../src/sync/core/safety.js';
import { filesToStage } from '../../../src/sync/core/stage.js';
import {
  dirEntry as D, fileEntry, phantomEntry, problematicEntry, symlinkEntry, untrackedEntry,
} from '../../../src/sync/core/tree.js';

const F1 = fileEntry('F1');
const F2 = fileEntry('F2');

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof MutagenError ? error.code : 'not a MutagenError';
  }
  return undefined;
}

describe('root safety checks (§5.9)', () => {
  const two = D({ a: F1, b: F2 });

  it('ancestor {a, b}, alpha emptied → halted-on-root-emptied (every mode: checked before reconcile)', () => {
    expect(checkRootEmptied(two, D(), two)).toBe('halted-on-root-emptied');
    expect(checkRootEmptied(two, two, D())).toBe('halted-on-root-emptied');
  });

  it('ancestor {a}, alpha emptied → no halt and beta\'s a is deleted', () => {
    const one = D({ a: F1 });
    expect(checkRootEmptied(one, D(), one)).toBeUndefined();
    expect(reconcile(one, D(), one, 'two-way-safe').betaChanges).toEqual([{ path: 'a', old: F1, new: undefined }]);
  });

  it('does not fire when both emptied, when untracked children remain, or on non-directory roots', () => {
    expect(checkRootEmptied(two, D(), D())).toBeUndefined();
    expect(checkRootEmptied(two, D({ ignored: untrackedEntry() }), two)).toBeUndefined();
    expect(checkRootEmptied(two, undefined, two)).toBeUndefined();
    expect(checkRootEmptied(two, F1, two)).toBeUndefined();
    expect(checkRootEmptied(undefined, D(), two)).toBeUndefined(); // after reset
    expect(checkRootEmptied(F1, D(), two)).toBeUndefined();
  });

  it('alpha root removed entirely in a two-way mode → halted-on-root-deletion', () => {
    const result = reconcile(two, undefined, two, 'two-way-safe');
    expect(checkRootTransitions(result.alphaChanges, result.betaChanges)).toBe('halted-on-root-deletion');
  });

  it('beta root removed in one-way-safe is a re-creation, not a deletion', () => {
    const result = reconcile(two, two, undefined, 'one-way-safe');
    expect(result.betaChanges).toEqual([{ path: '', old: undefined, new: two }]);
    expect(checkRootTransitions(result.alphaChanges, result.betaChanges)).toBeUndefined();
  });

  it('root type change halts; changes below the root never do', () => {
    const result = reconcile(F1, D({ a: F1 }), F1, 'two-way-safe');
    expect(checkRootTransitions(result.alphaChanges, result.betaChanges)).toBe('halted-on-root-type-change');
    expect(checkRootTransitions([{ path: '', old: F1, new: F2 }], [])).toBeUndefined();
    expect(checkRootTransitions([], [{ path: 'a', old: D(), new: undefined }])).toBeUndefined();
    expect(checkRootTransitions([], [{ path: 'a', old: D(), new: F1 }])).toBeUndefined();
  });
});

describe('filesToStage (§6.1)', () => {
  it('lists every file inside every new tree, depth-first, sorted', () => {
    const changes = [
      { path: 'd', old: undefined, new: D({ z: F2, a: D({ y: F1 }), l: symlinkEntry('z') }) },
      { path: 'f', old: F1, new: F2 },
      { path: 'gone', old: F1, new: undefined },
      { path: 'tree', old: F1, new: D() },
    ];
    expect(filesToStage(changes)).toEqual([
      { path: 'd/a/y', digest: F1.kind === 'file' ? F1.digest : new Uint8Array() },
      { path: 'd/z', digest: F2.kind === 'file' ? F2.digest : new Uint8Array() },
      { path: 'f', digest: F2.kind === 'file' ? F2.digest : new Uint8Array() },
    ]);
  });

  it('skips executability-only file changes', () => {
    expect(filesToStage([{ path: 'x', old: F1, new: fileEntry('F1', true) }])).toEqual([]);
    expect(filesToStage([])).toEqual([]);
  });
});

describe('nextAncestor (§4.7)', () => {
  it('folds ancestor changes and actual transition results, in order', () => {
    const old = D({ a: F1, b: F1, c: F1 });
    const { ancestor, changed } = nextAncestor(old, [{ path: 'a', old: undefined, new: undefined }], [
      { changes: [{ path: 'b', old: F1, new: F2 }], results: [F1] }, // failed: old stays
      { changes: [{ path: 'n', old: undefined, new: D({ x: F1, y: F2 }) }], results: [D({ x: F1 })] }, // partial
    ]);
    expect(ancestor).toEqual(D({ b: F1, c: F1, n: D({ x: F1 }) }));
    expect(changed).toBe(true);
  });

  it('reports unchanged when nothing (effectively) changed', () => {
    const old = D({ a: F1 });
    expect(nextAncestor(old, [], [])).toEqual({ ancestor: old, changed: false });
    const failed = nextAncestor(old, [], [{ changes: [{ path: 'a', old: F1, new: F2 }], results: [F1] }]);
    expect(failed.changed).toBe(false);
    expect(failed.ancestor).toEqual(old);
  });

  it('rejects unsynchronizable results and mismatched result lists', () => {
    expect(codeOf(() => nextAncestor(D(), [], [{ changes: [{ path: 'u', old: undefined, new: F1 }], results: [untrackedEntry()] }])))
      .toBe('MUTAGEN_ARCHIVE');
    expect(codeOf(() => nextAncestor(D(), [], [{ changes: [{ path: 'u', old: undefined, new: F1 }], results: [] }])))
      .toBe('MUTAGEN_INTERNAL');
  });

  it('validateAncestor accepts synchronizable trees only', () => {
    expect(codeOf(() => validateAncestor(D({ a: D({ f: F1, l: symlinkEntry('f') }) })))).toBeUndefined();
    expect(codeOf(() => validateAncestor(undefined))).toBeUndefined();
    const bad: Entry[] = [
      untrackedEntry(), problematicEntry('p'), phantomEntry(), D({ a: D({ u: untrackedEntry() }) }),
      fileEntry(new Uint8Array()), symlinkEntry(''), { kind: 'directory', contents: new Map([['a/b', F1]]) },
      { kind: 'directory', contents: new Map([['..', F1]]) },
    ];
    for (const e of bad) expect(codeOf(() => validateAncestor(e))).toBe('MUTAGEN_ARCHIVE');
  });
});
