import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collector: (() => void) | null | undefined;

/**
 * Runs a full garbage collection now (a few tens of ms). For the daemon after it dropped a
 * session: V8 collects the old generation only once it has grown well past the live set, so the
 * next session's allocations would otherwise pile onto the last one's garbage (three 20k-file
 * sessions one after the other: peak RSS 223–285 MiB instead of ~190). Limiting heap growth
 * globally (--heap-growing-percent) does the same but costs seconds of GC during transfers.
 * `gc` is reached the documented way for a running process: --expose-gc set at run time makes
 * new contexts see it.
 */
export function collectGarbage(): void {
  if (collector === undefined) {
    setFlagsFromString('--expose-gc');
    const found: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
    collector = typeof found === 'function' ? (found as () => void) : null;
  }
  collector?.();
}
