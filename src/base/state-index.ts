/**
 * A monotonically increasing state index with long-poll waiting (what `list` with `sinceIndex`
 * uses): `bump()` on every visible change wakes everyone waiting in `waitForChange()`.
 */
export class StateIndex {
  private index = 1;
  private waiters = new Set<() => void>();

  get current(): number {
    return this.index;
  }

  bump(): void {
    this.index += 1;
    this.wakeAll();
  }

  /** Wakes every waiter without changing the index (shutdown). */
  wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  /** Resolves on the next bump (or wakeAll); rejects with the signal's reason on abort. */
  waitForChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const wake = (): void => { signal.removeEventListener('abort', onAbort); resolve(); };
      const onAbort = (): void => { this.waiters.delete(wake); reject(signal.reason as Error); };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(wake);
    });
  }
}
