import { cancelledError } from '../../base/abort.js';

/**
 * A counting semaphore for carried connections: acquire() waits while `limit` are held. Keeps
 * the agent from opening more streams than the daemon's multiplexer accepts (4096 at once).
 */
export class ConnectionSlots {
  private held = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  get inUse(): number {
    return this.held;
  }

  /** Resolves once a slot is held; rejects with MUTAGEN_CANCELLED when `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(cancelledError());
    if (this.held < this.limit) {
      this.held++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        this.held++;
        resolve();
      };
      const onAbort = (): void => {
        const index = this.waiters.indexOf(grant);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(cancelledError());
      };
      this.waiters.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    this.held--;
    const next = this.waiters.shift();
    next?.();
  }
}
