import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../src/model/entry.js';
import { nextAncestor } from '../../../src/sync/core/ancestor.js';
import { applyChanges } from '../../../src/sync/core/apply.js';
import { collectProblems } from '../../../src/sync/core/entries.js';
import { QuietSubtrees, reconcile, type SyncMode } from '../../../src/sync/core/reconcile.js';
import { mutateTree, prng, randomTree } from './fixtures/random.js';

const MODES: SyncMode[] = ['two-way-safe', 'two-way-resolved', 'one-way-safe', 'one-way-replica'];

/**
 * The memos let a controller skip subtrees that are the same objects as in an earlier quiet
 * cycle. Over many cycles of random edits on shared (copy-on-write) trees, results with the
 * memos must be exactly the results without them.
 */
describe('QuietSubtrees and problem-free memo', () => {
  it.each(MODES)('%s: memoised reconcile equals plain reconcile over 40 cycles of random edits', (mode) => {
    for (let seed = 1; seed <= 15; seed++) {
      const random = prng(seed);
      const quiet = new QuietSubtrees();
      const clean = new WeakSet<Entry>();
      let alpha: Entry | undefined = randomTree(random, 3, true);
      let beta: Entry | undefined = alpha;
      let ancestor: Entry | undefined;
      for (let round = 0; round < 40; round++) {
        if (random() < 0.5) alpha = mutateTree(random, alpha, 3, true);
        if (random() < 0.3) beta = mutateTree(random, beta, 3, true);
        const plain = reconcile(ancestor, alpha, beta, mode);
        const memoised = reconcile(ancestor, alpha, beta, mode, quiet);
        expect(memoised).toEqual(plain);
        expect(collectProblems(alpha, '', clean)).toEqual(collectProblems(alpha));
        const next = nextAncestor(ancestor, plain.ancestorChanges, [
          { changes: plain.alphaChanges, results: plain.alphaChanges.map((c) => c.new) },
          { changes: plain.betaChanges, results: plain.betaChanges.map((c) => c.new) },
        ]);
        alpha = applyChanges(alpha, plain.alphaChanges);
        beta = applyChanges(beta, plain.betaChanges);
        ancestor = next.ancestor;
      }
    }
  });
});
