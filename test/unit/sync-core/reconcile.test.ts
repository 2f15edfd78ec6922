import { describe, expect, it } from 'vitest';
import type { Change, Entry } from '../../../src/model/entry.js';
import { validateAncestor } from '../../../src/sync/core/ancestor.js';
import { entriesEqual, entryAt, synchronizable } from '../../../src/sync/core/entries.js';
import type { SyncMode } from '../../../src/sync/core/reconcile.js';
import { reconcile } from '../../../src/sync/core/reconcile.js';
import { dirEntry as D, fileEntry, problematicEntry, untrackedEntry } from '../../../src/sync/core/tree.js';
import { cycle } from './fixtures/cycle.js';
import { mutateTree, prng, randomTree } from './fixtures/random.js';

const F1 = fileEntry('F1');
const F2 = fileEntry('F2');
const U = untrackedEntry();
const MODES: SyncMode[] = ['two-way-safe', 'two-way-resolved', 'one-way-safe', 'one-way-replica'];

describe('conflict records (§4.6)', () => {
  it('both created different files: the creations on each side', () => {
    const { conflicts } = reconcile(undefined, F1, F2, 'two-way-safe');
    expect(conflicts).toEqual([{ root: '', alphaChanges: [{ path: '', old: undefined, new: F1 }], betaChanges: [{ path: '', old: undefined, new: F2 }] }]);
  });

  it('one-way-safe beta modified: alpha side is the synthetic ancestor → alpha change', () => {
    const { conflicts, betaChanges } = reconcile(F1, F1, F2, 'one-way-safe');
    expect(betaChanges).toEqual([]);
    expect(conflicts).toEqual([{ root: '', alphaChanges: [{ path: '', old: F1, new: F1 }], betaChanges: [{ path: '', old: F1, new: F2 }] }]);
  });

  it('alpha deleted dir, beta deleted dir/file and added ignored dir/u: U(beta) blocks', () => {
    const anc = D({ dir: D({ file: F1 }) });
    const alpha = D({});
    const beta = D({ dir: D({ u: U }) });
    const result = reconcile(anc, alpha, beta, 'two-way-safe');
    expect(result.alphaChanges).toEqual([]);
    expect(result.betaChanges).toEqual([]);
    expect(result.conflicts).toEqual([{
      root: 'dir',
      alphaChanges: [{ path: 'dir', old: D({ file: F1 }), new: undefined }],
      betaChanges: [{ path: 'dir/u', old: undefined, new: U }],
    }]);
  });

  it('both created dir with different dir/file: root is dir/file and dir enters the ancestor', () => {
    const result = reconcile(D({}), D({ dir: D({ file: F1 }) }), D({ dir: D({ file: F2 }) }), 'two-way-safe');
    expect(result.conflicts.map((c) => c.root)).toEqual(['dir/file']);
    expect(result.ancestorChanges).toEqual([{ path: 'dir', old: undefined, new: D({}) }]);
  });

  it('conflicts carry full (not slimmed) changes', () => {
    const alphaDir = D({ x: D({ y: F1 }) });
    const result = reconcile(undefined, D({ n: alphaDir }), D({ n: F2 }), 'two-way-safe');
    expect(result.conflicts[0]?.alphaChanges[0]?.new).toBe(alphaDir);
  });
});

describe('recursive step (§4.2)', () => {
  it('problematic on either side: no change, no conflict, no ancestor update', () => {
    for (const mode of MODES) {
      expect(reconcile(F1, problematicEntry('p'), F2, mode)).toEqual({ ancestorChanges: [], alphaChanges: [], betaChanges: [], conflicts: [] });
      expect(reconcile(F1, F2, problematicEntry('p'), mode)).toEqual({ ancestorChanges: [], alphaChanges: [], betaChanges: [], conflicts: [] });
    }
  });

  it('an unreadable directory is neither deleted nor overwritten, its siblings sync', () => {
    const anc = D({ dir: D({ f: F1 }), s: F1 });
    const result = reconcile(anc, D({ s: F2 }), D({ dir: problematicEntry('unable to open directory'), s: F1 }), 'two-way-safe');
    expect(result.betaChanges).toEqual([{ path: 's', old: F1, new: F2 }]);
    expect(result.alphaChanges).toEqual([]);
    expect(result.conflicts).toEqual([]);
    expect(result.ancestorChanges).toEqual([]);
  });

  it('both absent or untracked: the ancestor forgets the path', () => {
    for (const mode of MODES) {
      expect(reconcile(F1, U, U, mode).ancestorChanges).toEqual([{ path: '', old: undefined, new: undefined }]);
      expect(reconcile(F1, undefined, U, mode).ancestorChanges).toHaveLength(1);
      expect(reconcile(undefined, U, undefined, mode)).toEqual({ ancestorChanges: [], alphaChanges: [], betaChanges: [], conflicts: [] });
    }
  });

  it('agreement: identical deletions only update the ancestor', () => {
    const result = reconcile(D({ a: F1, b: F2 }), D({ b: F2 }), D({ b: F2 }), 'two-way-safe');
    expect(result).toEqual({ ancestorChanges: [{ path: 'a', old: undefined, new: undefined }], alphaChanges: [], betaChanges: [], conflicts: [] });
  });

  it('agreement over a changed kind: the ancestor gets a slim directory and its old children are forgotten', () => {
    const result = reconcile(F1, D({ x: F1, y: D({ z: F2 }) }), D({ x: F1, y: D({ z: F2 }) }), 'two-way-resolved');
    expect(result.ancestorChanges).toEqual([
      { path: '', old: undefined, new: D({}) },
      { path: 'x', old: undefined, new: F1 },
      { path: 'y', old: undefined, new: D({}) },
      { path: 'y/z', old: undefined, new: F2 },
    ]);
    expect(cycle(F1, D({ x: F1, y: D({ z: F2 }) }), D({ x: F1, y: D({ z: F2 }) }), 'two-way-safe').ancestor)
      .toEqual(D({ x: F1, y: D({ z: F2 }) }));
  });

  it('changes are depth-first in sorted name order', () => {
    const anc = D({});
    const alpha = D({ c: F1, a: F1, b: D({ z: F1, y: F2 }) });
    const result = reconcile(anc, alpha, D({ b: D({}) }), 'two-way-safe');
    expect(result.betaChanges.map((c) => c.path)).toEqual(['a', 'b/y', 'b/z', 'c']);
  });
});

describe('behaviours most likely to be got wrong (§9)', () => {
  it('1: deletion never beats modification in either two-way mode', () => {
    for (const mode of ['two-way-safe', 'two-way-resolved'] as const) {
      expect(reconcile(F1, undefined, F2, mode).alphaChanges).toEqual([{ path: '', old: undefined, new: F2 }]);
      expect(reconcile(F1, F2, undefined, mode).betaChanges).toEqual([{ path: '', old: undefined, new: F2 }]);
    }
  });

  it('1: a deleted directory comes back whole, including files the deleting side removed', () => {
    const anc = D({ d: D({ a: F1, b: F1 }) });
    const out = cycle(anc, D({}), D({ d: D({ a: F2, b: F1 }) }), 'two-way-resolved');
    expect(entryAt(out.alpha, 'd')).toEqual(D({ a: F2, b: F1 }));
  });

  it('2: ignored content blocks a directory deletion; tracked content turning untracked reads as a deletion', () => {
    const blocked = reconcile(D({ d: D({ f: F1 }) }), D({}), D({ d: D({ f: F1, i: U }) }), 'two-way-safe');
    expect(blocked.betaChanges).toEqual([]);
    expect(blocked.conflicts).toHaveLength(1);
    const untracked = reconcile(D({ f: F1 }), D({ f: F1 }), D({ f: U }), 'two-way-safe');
    expect(untracked.alphaChanges).toEqual([{ path: 'f', old: F1, new: undefined }]);
  });

  it('2: problematic content below a path blocks overwriting it (conflict, not deletion)', () => {
    const result = reconcile(D({ d: D({ f: F1 }) }), D({ d: F2 }), D({ d: D({ f: F1, bad: problematicEntry('p') }) }), 'two-way-safe');
    expect(result.conflicts).toEqual([{
      root: 'd',
      alphaChanges: [{ path: 'd', old: D({ f: F1 }), new: F2 }],
      betaChanges: [{ path: 'd/bad', old: undefined, new: problematicEntry('p') }],
    }]);
  });

  it('4: one-way-safe treats a beta chmod as a conflict and keeps beta-only files', () => {
    const exec = fileEntry('F1', true);
    expect(reconcile(F1, F1, exec, 'one-way-safe').conflicts).toHaveLength(1);
    const keep = reconcile(D({}), D({}), D({ mine: F2 }), 'one-way-safe');
    expect(keep).toEqual({ ancestorChanges: [], alphaChanges: [], betaChanges: [], conflicts: [] });
  });

  it('4: one-way-replica overwrites beta-only and beta-modified content', () => {
    const result = reconcile(D({ f: F1 }), D({ f: F1 }), D({ f: F2, mine: F2 }), 'one-way-replica');
    expect(result.betaChanges).toEqual([{ path: 'f', old: F2, new: F1 }, { path: 'mine', old: F2, new: undefined }]);
  });

  it('one-way-replica: the beta change strips alpha-side unsynchronizable content', () => {
    const result = reconcile(undefined, D({ a: F1, u: U, p: problematicEntry('p') }), undefined, 'one-way-replica');
    expect(result.betaChanges).toEqual([{ path: '', old: undefined, new: D({ a: F1 }) }]);
  });

  it('5: executability is part of agreement (both set +x → ancestor only)', () => {
    const exec = fileEntry('F1', true);
    const result = reconcile(F1, exec, exec, 'two-way-safe');
    expect(result).toEqual({ ancestorChanges: [{ path: '', old: undefined, new: exec }], alphaChanges: [], betaChanges: [], conflicts: [] });
  });
});

describe('reconcile invariants on random trees', () => {
  const nested = (a: string, b: string): boolean => a === b || a === '' || b === '' || b.startsWith(`${a}/`) || a.startsWith(`${b}/`);

  it.each(MODES)('%s: disjoint changes, old = what the side holds, stable second cycle', (mode) => {
    const random = prng(mode.length * 7919);
    const seen = { transitions: 0, conflicts: 0, ancestorChanges: 0 };
    for (let i = 0; i < 400; i++) {
      const anc = random() < 0.1 ? undefined : synchronizable(randomTree(random, 3));
      const alpha = mutateTree(random, anc, 3, true);
      const beta = mutateTree(random, anc, 3, true);
      const result = reconcile(anc, alpha, beta, mode);
      seen.transitions += result.alphaChanges.length + result.betaChanges.length;
      seen.conflicts += result.conflicts.length;
      seen.ancestorChanges += result.ancestorChanges.length;
      const paths = [...result.alphaChanges, ...result.betaChanges].map((c) => c.path).concat(result.conflicts.map((c) => c.root));
      paths.forEach((p, j) => paths.slice(j + 1).forEach((q) => expect(nested(p, q), `${p} vs ${q}`).toBe(false)));
      if (mode.startsWith('one-way')) expect(result.alphaChanges).toEqual([]);
      const sideHolds = (side: Entry | undefined, change: Change): boolean => entriesEqual(entryAt(side, change.path), change.old, true);
      for (const change of result.alphaChanges) expect(sideHolds(alpha, change)).toBe(true);
      for (const change of result.betaChanges) expect(sideHolds(beta, change)).toBe(true);
      for (const change of [...result.alphaChanges, ...result.betaChanges]) validateAncestor(change.new);
      const out = cycle(anc, alpha, beta, mode);
      const again = reconcile(out.ancestor, out.alpha, out.beta, mode);
      expect([...again.alphaChanges, ...again.betaChanges]).toEqual([]);
      expect(again.conflicts.length).toBe(result.conflicts.length);
    }
    // The generator exercises every outcome, not just agreement.
    expect(seen.transitions).toBeGreaterThan(100);
    expect(seen.conflicts).toBeGreaterThan(5);
    expect(seen.ancestorChanges).toBeGreaterThan(10);
  });
});
