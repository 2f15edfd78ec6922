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
