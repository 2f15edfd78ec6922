import { describe, it } from 'vitest';
import { expectAllVectorsPassed, runVectorHarness } from '../helpers/vectors.js';

describe('public reconciliation vectors through the CLI', () => {
  it('all pass end to end on local directories', async () => {
    expectAllVectorsPassed(await runVectorHarness());
  });
});
