import { setTimeout as sleepTimer } from 'node:timers/promises';
import { MutagenError } from './errors.js';

/** Sleeps for `ms`, rejecting with an AbortError when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return sleepTimer(ms, undefined, signal === undefined ? {} : { signal });
}

export function cancelledError(): MutagenError {
  return new MutagenError('MUTAGEN_CANCELLED', 'operation cancelled');
}

/**
 * A signal that aborts when any of the inputs does. AbortSignal.any arrived in Node 20.3; the
 * agent also runs on Node 18, so older runtimes get a listener-based equivalent.
 */
export function anySignal(signals: readonly (AbortSignal | undefined)[]): AbortSignal {
  const inputs = signals.filter((s): s is AbortSignal => s !== undefined);
  if (typeof AbortSignal.any === 'function') return AbortSignal.any(inputs);
  const controller = new AbortController();
  const already = inputs.find((s) => s.aborted);
  if (already !== undefined) {
    controller.abort(already.reason);
    return controller.signal;
  }
  const listeners = inputs.map((input) => {
    const listener = (): void => {
      for (const [other, l] of listeners) other.removeEventListener('abort', l);
      controller.abort(input.reason);
    };
    input.addEventListener('abort', listener, { once: true });
    return [input, listener] as const;
  });
  return controller.signal;
}

/** Resolves when `signal` aborts (never rejects). */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Races `promise` against `signal`; on abort rejects with the signal's reason. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e instanceof Error ? e : new Error(String(e))); },
    );
  });
}
