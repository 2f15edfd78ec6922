import { afterEach, describe, expect, it } from 'vitest';
import { collectGarbage, HeapGovernor } from '../../../src/base/heap.js';

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

describe('HeapGovernor', () => {
  const governors: HeapGovernor[] = [];
  afterEach(() => {
    for (const governor of governors.splice(0)) governor.close();
  });

  function governed(headroomBytes: number): { governor: HeapGovernor; heap: { used: number }; collections: number[] } {
    const heap = { used: 10 };
    const collections: number[] = [];
    const governor = new HeapGovernor({
      intervalMs: 60_000,
      headroomBytes,
      usedBytes: () => heap.used,
      collect: () => {
        collections.push(heap.used);
        heap.used = Math.floor(heap.used / 4);
      },
    });
    governors.push(governor);
    return { governor, heap, collections };
  }

  it('collects once the heap holds the headroom on top of what was live after the last collection', () => {
    const { governor, heap, collections } = governed(40);
    heap.used = 50;
    expect(governor.check()).toBe(false);
    heap.used = 51;
    expect(governor.check()).toBe(true);
    expect(collections).toEqual([51]);
    // 12 live after it: the next collection comes at more than 12 + 40.
    heap.used = 52;
    expect(governor.check()).toBe(false);
    heap.used = 53;
    expect(governor.check()).toBe(true);
    expect(collections).toEqual([51, 53]);
  });

  it('takes a collection V8 made on its own as the new reference', () => {
    const { governor, heap, collections } = governed(40);
    heap.used = 45;
    governor.check();
    heap.used = 5; // V8 collected
    governor.check();
    heap.used = 46;
    expect(governor.check()).toBe(true);
    expect(collections).toEqual([46]);
  });

  it('tolerates as much garbage as is live once that is more than the headroom', () => {
    const { governor, heap, collections } = governed(40);
    heap.used = 400;
    expect(governor.check()).toBe(true); // 100 live after it
    heap.used = 200;
    expect(governor.check()).toBe(false);
    heap.used = 201;
    expect(governor.check()).toBe(true);
    expect(collections).toEqual([400, 201]);
  });
});
