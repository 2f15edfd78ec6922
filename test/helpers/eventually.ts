import { setTimeout as delay } from 'node:timers/promises';

export interface EventuallyOptions {
  /** Give up after this long (a generous ceiling, not a performance check). */
  readonly timeoutMs?: number;
  /** Pause between attempts. */
  readonly intervalMs?: number;
}

/**
 * Retries `probe` until it returns without throwing, then returns its value; after the timeout
 * rethrows the last failure. For state that has no change notification (files on disk).
 */
export async function eventually<T>(probe: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  const interval = options.intervalMs ?? 20;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
    }
    await delay(interval);
  }
}
