import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Vector } from './fixtures/simulate.js';
import { canonicalTree, runVector, supportedPattern } from './fixtures/simulate.js';

const file = fileURLToPath(new URL('../../../../shared/acceptance/public-vectors.json', import.meta.url));
const corpus = JSON.parse(readFileSync(file, 'utf8')) as { count: number; vectors: Vector[] };

/** The simulated scanner only understands literal names with `*`/`?` wildcards. */
const simulatable = corpus.vectors.filter((v) => (v.config?.ignores ?? []).every(supportedPattern));

describe('public acceptance vectors at the reconcile level', () => {
  it('covers the whole corpus', () => {
    expect(corpus.vectors).toHaveLength(corpus.count);
    expect(simulatable).toHaveLength(corpus.vectors.length);
  });

  it.each(simulatable.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const outcome = runVector(vector);
    expect(outcome.status).toBe(vector.expect.status);
    expect(outcome.conflicts).toBe(vector.expect.conflicts);
    if (vector.expect.conflictRoots !== undefined) expect([...outcome.conflictRoots].sort()).toEqual([...vector.expect.conflictRoots].sort());
    expect(canonicalTree(outcome.alpha)).toEqual(canonicalTree(vector.expect.alpha));
    expect(canonicalTree(outcome.beta)).toEqual(canonicalTree(vector.expect.beta));
    if (vector.expect.scanProblems !== undefined) {
      expect(outcome.scanProblems.alpha).toEqual([...vector.expect.scanProblems.alpha].sort());
      expect(outcome.scanProblems.beta).toEqual([...vector.expect.scanProblems.beta].sort());
    }
  });
});
