/**
 * Calls `each` for every item, at most `limit` calls at a time, in order of start. Every call
 * that started has settled when this returns; the first failure (if any) is then rethrown, and
 * a failed call does not stop the others.
 */
export async function forEachConcurrently<T>(items: readonly T[], limit: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await each(items[next++] as T);
  };
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, lane));
  const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/**
 * Counts operations under way that are not promises (callbacks), so that a producer can wait
 * for them: below(n) resolves once at most `n` remain. One waiter at a time.
 */
export class InFlight {
  private count = 0;
  private waiter: { readonly low: number; readonly resolve: () => void } | undefined;

  get size(): number {
    return this.count;
  }

  start(): void {
    this.count += 1;
  }

  end(): void {
    this.count -= 1;
    const waiter = this.waiter;
    if (waiter === undefined || this.count > waiter.low) return;
    this.waiter = undefined;
    waiter.resolve();
  }

  async below(low: number): Promise<void> {
    if (this.count <= low) return;
    if (this.waiter !== undefined) throw new Error('InFlight.below() already has a waiter');
    await new Promise<void>((resolve) => { this.waiter = { low, resolve }; });
  }
}
