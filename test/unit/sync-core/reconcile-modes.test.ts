import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../src/model/entry.js';
import { entryAt } from '../../../src/sync/core/entries.js';
import type { SyncMode } from '../../../src/sync/core/reconcile.js';
import { describeEntry, dirEntry, fileEntry, problematicEntry, untrackedEntry } from '../../../src/sync/core/tree.js';
import { cycle } from './fixtures/cycle.js';

/**
 * sync-semantics §4.8, one row per scenario at path `x` (the root also holds an unchanged `keep`
 * file). Each cell gives what `x` looks like on alpha and beta after the cycle's transitions, the
 * number of conflicts, and the new ancestor at `x`.
 */
const F1 = fileEntry('F1');
const F2 = fileEntry('F2');
const F4 = fileEntry('F4');
const fa = fileEntry('a');
const faPrime = fileEntry("a'");
const fb = fileEntry('b');
const U = untrackedEntry();
const ABS = problematicEntry('invalid symbolic link: target is absolute');
const D = dirEntry;

interface Cell {
  alpha: Entry | undefined;
  beta: Entry | undefined;
  ancestor: Entry | undefined;
  conflicts?: number;
  /** True when the cycle must not transition anything on either side. */
  quiet?: boolean;
}
type Row = [scenario: string, anc: Entry | undefined, alpha: Entry | undefined, beta: Entry | undefined, cells: Record<SyncMode, Cell>];

const both = (e: Entry | undefined, extra: Partial<Cell> = {}): Cell => ({ alpha: e, beta: e, ancestor: e, ...extra });
const all = (cell: Cell): Record<SyncMode, Cell> => ({
  'two-way-safe': cell, 'two-way-resolved': cell, 'one-way-safe': cell, 'one-way-replica': cell,
});
const conflict = (alpha: Entry | undefined, beta: Entry | undefined, ancestor: Entry | undefined): Cell => ({ alpha, beta, ancestor, conflicts: 1, quiet: true });

const rows: Row[] = [
  ['alpha created', undefined, F1, undefined, all(both(F1))],
  ['beta created', undefined, undefined, F1, {
    'two-way-safe': both(F1), 'two-way-resolved': both(F1),
    'one-way-safe': { alpha: undefined, beta: F1, ancestor: undefined, quiet: true },
    'one-way-replica': both(undefined),
  }],
  ['beta modified', F1, F1, F2, {
    'two-way-safe': both(F2), 'two-way-resolved': both(F2),
    'one-way-safe': conflict(F1, F2, F1), 'one-way-replica': both(F1),
  }],
  ['beta deleted', F1, F1, undefined, {
    'two-way-safe': both(undefined), 'two-way-resolved': both(undefined),
    'one-way-safe': both(F1), 'one-way-replica': both(F1),
  }],
  ['alpha modified', F1, F2, F1, all(both(F2))],
  ['alpha deleted', F1, undefined, F1, all(both(undefined))],
  ['both created', undefined, F1, F2, {
    'two-way-safe': conflict(F1, F2, undefined), 'two-way-resolved': both(F1),
    'one-way-safe': conflict(F1, F2, undefined), 'one-way-replica': both(F1),
  }],
  ['both modified', F1, F2, F4, {
    'two-way-safe': conflict(F2, F4, F1), 'two-way-resolved': both(F2),
    'one-way-safe': conflict(F2, F4, F1), 'one-way-replica': both(F2),
  }],
  ['alpha modified, beta deleted', F1, F2, undefined, all(both(F2))],
  ['alpha deleted, beta modified', F1, undefined, F2, {
    'two-way-safe': both(F2), 'two-way-resolved': both(F2),
    'one-way-safe': { alpha: undefined, beta: F2, ancestor: undefined, quiet: true },
    'one-way-replica': both(undefined),
  }],
  ['both created same', undefined, F1, F1, all(both(F1, { quiet: true }))],
  ['alpha deleted dir, beta modified inside', D({ a: fa, b: fb }), undefined, D({ a: faPrime, b: fb }), {
    'two-way-safe': both(D({ a: faPrime, b: fb })), 'two-way-resolved': both(D({ a: faPrime, b: fb })),
    'one-way-safe': conflict(undefined, D({ a: faPrime, b: fb }), D({ a: fa, b: fb })), 'one-way-replica': both(undefined),
  }],
  ['alpha deleted all, beta deleted part', D({ a: fa, b: fb }), undefined, D({ b: fb }), all(both(undefined))],
  ['alpha deleted part, beta deleted all', D({ a: fa, b: fb }), D({ b: fb }), undefined, {
    'two-way-safe': both(undefined), 'two-way-resolved': both(undefined),
    'one-way-safe': both(D({ b: fb })), 'one-way-replica': both(D({ b: fb })),
  }],
  ['alpha deleted dir, beta holds ignored inside', D({ f: F1 }), undefined, D({ f: F1, u: U }),
    all(conflict(undefined, D({ f: F1, u: U }), D({ f: F1 })))],
  ['beta replaced file with ignored directory', F1, F1, U, {
    'two-way-safe': { alpha: undefined, beta: U, ancestor: undefined }, 'two-way-resolved': { alpha: undefined, beta: U, ancestor: undefined },
    'one-way-safe': conflict(F1, U, F1), 'one-way-replica': conflict(F1, U, F1),
  }],
  ['beta created directory holding only ignored content', undefined, undefined, D({ u: U }), {
    'two-way-safe': { alpha: D(), beta: D({ u: U }), ancestor: D() }, 'two-way-resolved': { alpha: D(), beta: D({ u: U }), ancestor: D() },
    'one-way-safe': { alpha: undefined, beta: D({ u: U }), ancestor: undefined, quiet: true },
    'one-way-replica': conflict(undefined, D({ u: U }), undefined),
  }],
  ['alpha created directory holding an absolute symlink', undefined, D({ abs: ABS }), undefined,
    all({ alpha: D({ abs: ABS }), beta: D(), ancestor: D() })],
];

const MODES: SyncMode[] = ['two-way-safe', 'two-way-resolved', 'one-way-safe', 'one-way-replica'];
const KEEP = fileEntry('keep');

function root(x: Entry | undefined): Entry {
  return x === undefined ? D({ keep: KEEP }) : D({ keep: KEEP, x });
}

const cases = rows.flatMap(([scenario, anc, alpha, beta, cells]) =>
  MODES.map((mode) => [`${scenario} [${mode}]`, mode, anc, alpha, beta, cells[mode]] as const));

describe('mode summary table (§4.8)', () => {
  it.each(cases)('%s', (_name, mode, anc, alpha, beta, cell) => {
    const out = cycle(root(anc), root(alpha), root(beta), mode);
    const show = (e: Entry | undefined): string => describeEntry(e);
    expect(show(entryAt(out.alpha, 'x'))).toBe(show(cell.alpha));
    expect(show(entryAt(out.beta, 'x'))).toBe(show(cell.beta));
    expect(show(entryAt(out.ancestor, 'x'))).toBe(show(cell.ancestor));
    expect(out.result.conflicts).toHaveLength(cell.conflicts ?? 0);
    for (const c of out.result.conflicts) expect(c.root).toBe('x');
    if (cell.quiet === true) expect([...out.result.alphaChanges, ...out.result.betaChanges]).toEqual([]);
    if (mode.startsWith('one-way')) expect(out.result.alphaChanges).toEqual([]);
    // The `keep` anchor is never touched.
    expect(entryAt(out.alpha, 'keep')).toBe(KEEP);
    expect(entryAt(out.beta, 'keep')).toBe(KEEP);
    // A second cycle from the outcome transitions nothing: the result is stable.
    const again = cycle(out.ancestor, out.alpha, out.beta, mode);
    expect([...again.result.alphaChanges, ...again.result.betaChanges]).toEqual([]);
    expect(again.result.conflicts).toHaveLength(cell.conflicts ?? 0);
  });
});
