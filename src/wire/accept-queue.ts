import { cancelledError } from '../base/abort.js';

interface Waiter<T> {
  readonly resolve: (item: T) => void;
  readonly reject: (error: Error) => void;
}

/** Items handed to waiting take() calls in order, or queued (the producer bounds the queue). */
export class AcceptQueue<T> {
  private readonly items: T[] = [];
  private readonly waiters = new Set<Waiter<T>>();
  private failure: Error | undefined;

  push(item: T): void {
    const first = this.waiters.values().next();
    if (first.done === true) {
      this.items.push(item);
      return;
    }
    this.waiters.delete(first.value);
    first.value.resolve(item);
  }

  /** Drops a queued item that is no longer wanted. */
  remove(item: T): void {
    const index = this.items.indexOf(item);
    if (index >= 0) this.items.splice(index, 1);
  }

  /** The next item; rejects with the failure once failed, or MUTAGEN_CANCELLED when `signal` aborts. */
  take(signal: AbortSignal): Promise<T> {
    const [first] = this.items;
    if (first !== undefined) {
      this.items.shift();
      return Promise.resolve(first);
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (signal.aborted) return Promise.reject(cancelledError());
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(waiter);
        reject(cancelledError());
      };
      const waiter: Waiter<T> = {
        resolve: (item) => { signal.removeEventListener('abort', onAbort); resolve(item); },
        reject: (error) => { signal.removeEventListener('abort', onAbort); reject(error); },
      };
      this.waiters.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Rejects every waiter and future take() with `error`; queued items are dropped. */
  fail(error: Error): void {
    this.failure = error;
    this.items.length = 0;
    for (const waiter of this.waiters) waiter.reject(error);
    this.waiters.clear();
  }
}
