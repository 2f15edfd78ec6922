import { describe, expect, it } from 'vitest';
import { forEachConcurrently, InFlight } from '../../../src/base/concurrency.js';

const tick = async (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('forEachConcurrently', () => {
  it('calls every item, never more than the limit at once', async () => {
    let active = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachConcurrently(Array.from({ length: 20 }, (_, i) => i), 3, async (item) => {
      active += 1;
      most = Math.max(most, active);
      await tick();
      seen.push(item);
      active -= 1;
    });
    expect(most).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('lets every started call settle, then rethrows the first failure', async () => {
    const finished: number[] = [];
    const run = forEachConcurrently([0, 1, 2, 3], 2, async (item) => {
      await tick();
      if (item === 0) throw new Error('item 0 failed');
      await tick();
      finished.push(item);
    });
    await expect(run).rejects.toThrow('item 0 failed');
    expect(finished.sort()).toEqual([1, 2, 3]);
  });

  it('does nothing for no items', async () => {
    await expect(forEachConcurrently([], 4, async () => Promise.reject(new Error('never')))).resolves.toBeUndefined();
  });
});

describe('InFlight', () => {
  it('lets a producer wait until at most n operations remain', async () => {
    const inFlight = new InFlight();
    await inFlight.below(0); // nothing under way: at once
    for (let i = 0; i < 4; i++) inFlight.start();
    let resumed = false;
    const waiting = inFlight.below(1).then(() => { resumed = true; });
    inFlight.end();
    inFlight.end();
    await Promise.resolve();
    expect(resumed).toBe(false);
    expect(inFlight.size).toBe(2);
    await expect(inFlight.below(0)).rejects.toThrow('already has a waiter');
    inFlight.end();
    await waiting;
    expect(resumed).toBe(true);
    inFlight.end();
    await inFlight.below(0);
    expect(inFlight.size).toBe(0);
  });
});
