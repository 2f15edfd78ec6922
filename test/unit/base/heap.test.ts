import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../../src/base/heap.js';

describe('collectGarbage', () => {
  it('frees what nothing references any more, at once', () => {
    collectGarbage();
    const baseline = process.memoryUsage().heapUsed;
    let garbage: { readonly index: number; readonly text: string }[] | undefined = [];
    for (let index = 0; index < 500_000; index++) garbage.push({ index, text: `entry ${index}` });
    const filled = process.memoryUsage().heapUsed;
    expect(filled - baseline).toBeGreaterThan(20 * 1024 * 1024);
    garbage = undefined;
    collectGarbage();
    expect(garbage).toBeUndefined();
    expect(process.memoryUsage().heapUsed - baseline).toBeLessThan((filled - baseline) / 4);
  });
});
