import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../src/model/entry.js';
import { entryAt } from '../../../src/sync/core/entries.js';
import { propagateExecutability } from '../../../src/sync/core/executability.js';
import { reifyPhantoms } from '../../../src/sync/core/phantom.js';
import {
  dirEntry as D, fileEntry, phantomEntry as P, problematicEntry, symlinkEntry, untrackedEntry,
} from '../../../src/sync/core/tree.js';

const F1 = fileEntry('F1');
const U = untrackedEntry();

describe('reifyPhantoms (§3.5)', () => {
  /** Each case: ancestor, alpha, beta at `p`, and the expected alpha and beta at `p`. */
  const cases: [string, Entry | undefined, Entry | undefined, Entry | undefined, Entry | undefined, Entry | undefined][] = [
    ['anc nil, empty phantom on both → both Untracked', undefined, P(), P(), U, U],
    ['anc Directory, empty phantom on both → both Directory', D(), P(), P(), D(), D()],
    ['anc nil, empty phantom vs phantom holding a tracked file → both Directory', undefined, P(), P({ f: F1 }), D(), D({ f: F1 })],
    ['anc nil, Directory{file} vs empty phantom → both Directory', undefined, D({ f: F1 }), P(), D({ f: F1 }), D()],
    ['a real empty directory on the other side does not keep a phantom', undefined, D(), P(), D(), U],
    ['only untracked content below → Untracked', undefined, P({ u: U }), undefined, U, undefined],
    ['problematic content counts as tracked', undefined, P({ bad: problematicEntry('p') }), undefined, D({ bad: problematicEntry('p') }), undefined],
    ['nested phantoms reify when something deep is tracked', undefined, P({ n: P({ m: P({ f: F1 }) }), e: P() }), undefined,
      D({ n: D({ m: D({ f: F1 }) }), e: U }), undefined],
    ['phantom opposite a file: the file side is untouched', undefined, P(), F1, U, F1],
  ];

  it.each(cases)('%s', (_name, anc, alpha, beta, expectedAlpha, expectedBeta) => {
    const wrap = (e: Entry | undefined): Entry => (e === undefined ? D() : D({ p: e }));
    const result = reifyPhantoms(wrap(anc), wrap(alpha), wrap(beta));
    expect(entryAt(result.alpha, 'p')).toEqual(expectedAlpha);
    expect(entryAt(result.beta, 'p')).toEqual(expectedBeta);
  });

  it('returns inputs unchanged (same objects) when there are no phantoms, and never mutates', () => {
    const alpha = D({ a: D({ f: F1 }) });
    const beta = D({ b: U });
    expect(reifyPhantoms(undefined, alpha, beta)).toEqual({ alpha, beta });
    expect(reifyPhantoms(undefined, alpha, beta).alpha).toBe(alpha);
    const phantom = D({ p: P() });
    reifyPhantoms(undefined, phantom, undefined);
    expect(entryAt(phantom, 'p')).toEqual(P());
  });

  it('handles absent roots and a phantom root', () => {
    expect(reifyPhantoms(undefined, undefined, undefined)).toEqual({ alpha: undefined, beta: undefined });
    expect(reifyPhantoms(undefined, P(), undefined)).toEqual({ alpha: U, beta: undefined });
  });
});

describe('propagateExecutability (§2.4)', () => {
  const x = (label: string): Entry => fileEntry(label, true);
  const n = (label: string): Entry => fileEntry(label, false);
  const rules: [string, Entry | undefined, Entry | undefined, Entry, boolean][] = [
    ['1: preserving side has the same digest → its bit', undefined, x('F1'), n('F1'), true],
    ['1: preserving side wins over the ancestor', x('F1'), n('F1'), n('F1'), false],
    ['2: else the ancestor has the same digest → its bit', x('F1'), x('F2'), n('F1'), true],
    ['3: else preserving and ancestor share a digest (edited here) → preserving bit', x('F1'), x('F1'), n('F2'), true],
    ['4: otherwise left as scanned', x('F1'), x('F3'), n('F2'), false],
    ['4: nothing to learn from', undefined, undefined, n('F2'), false],
  ];

  it.each(rules)('rule %s', (_name, anc, preserving, target, executable) => {
    const result = propagateExecutability(anc, preserving, target);
    expect(result).toEqual(fileEntry(target.kind === 'file' ? target.digest : '', executable));
  });

  it('applies file by file through directories, sharing unchanged subtrees', () => {
    const target = D({ run: n('S1'), data: n('D1'), sub: D({ tool: n('T2') }), other: D({ k: n('K') }) });
    const preserving = D({ run: x('S1'), data: n('D1'), sub: D({ tool: x('T1') }) });
    const ancestor = D({ sub: D({ tool: x('T1') }) });
    const result = propagateExecutability(ancestor, preserving, target);
    expect(result).toEqual(D({ run: x('S1'), data: n('D1'), sub: D({ tool: x('T2') }), other: D({ k: n('K') }) }));
    expect(entryAt(result, 'other')).toBe(entryAt(target, 'other'));
    expect(entryAt(target, 'run')).toEqual(n('S1')); // input untouched
  });

  it('leaves non-file kinds and absent trees alone', () => {
    const link = symlinkEntry('t');
    expect(propagateExecutability(x('F1'), x('F1'), link)).toBe(link);
    expect(propagateExecutability(x('F1'), x('F1'), undefined)).toBeUndefined();
    const unchanged = D({ a: n('F1') });
    expect(propagateExecutability(undefined, undefined, unchanged)).toBe(unchanged);
    expect(propagateExecutability(D(), D(), unchanged)).toBe(unchanged);
  });
});
