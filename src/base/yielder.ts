import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Lets long runs of synchronous work (sync file-system calls, hashing) give the event loop a
 * turn every `sliceMs`, so RPC requests and watcher events stay responsive. Awaiting a resolved
 * promise does not yield to I/O callbacks; this does, but only when the slice is used up.
 */
export function createYielder(sliceMs = 8): () => Promise<void> {
  let last = performance.now();
  return async () => {
    const now = performance.now();
    if (now - last < sliceMs) return;
    await nextTurn();
    last = performance.now();
  };
}

/**
 * Returns after the event loop polled for I/O twice more: watch events the kernel queued before
 * the caller's request are then recorded, even if the request came in the same turn.
 */
export async function readQueuedEvents(signal: AbortSignal): Promise<void> {
  await nextTurn(undefined, { signal });
  await nextTurn(undefined, { signal });
}
