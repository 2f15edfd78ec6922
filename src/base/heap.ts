import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Disposable } from './disposable.js';

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

export interface HeapGovernorOptions {
  /** How often the heap is looked at; default 250 ms. */
  readonly intervalMs?: number;
  /**
   * Garbage tolerated on top of what was live after the last full collection: this much, or as
   * much as was live if that is more (a large live heap costs more per collection); default 40 MiB.
   */
  readonly headroomBytes?: number;
  /** Heap size in use, for tests; default v8.getHeapStatistics().used_heap_size. */
  readonly usedBytes?: () => number;
  /** Full collection, for tests; default collectGarbage(). */
  readonly collect?: () => void;
}

/**
 * Keeps the heap near what is live. V8 collects the old generation only once it has grown to a
 * multiple of its size after the last full collection, and a daemon placing tens of thousands of
 * files promotes a lot of short-lived objects (each file's promises and paths outlive a young
 * collection while its I/O is pending): a 20k-file initial sync on a disk grew the heap from ~35
 * MiB live to 110 MiB of mostly garbage, daemon peak RSS 226-262 MiB over the bench's three
 * sessions (187-214 MiB with this governor). This collects once the heap holds
 * `headroomBytes` more than after the last full collection (V8's own ones included), or twice
 * as much once that is more: one full collection (tens of ms at this live size) every few seconds
 * of such a transfer, none when idle.
 * The timer is unref'd; close() stops it.
 */
export class HeapGovernor implements Disposable {
  private readonly timer: NodeJS.Timeout;
  private baseline: number;
  private readonly headroom: number;
  private readonly used: () => number;
  private readonly collect: () => void;

  constructor(options: HeapGovernorOptions = {}) {
    this.headroom = options.headroomBytes ?? 40 * 1024 * 1024;
    this.used = options.usedBytes ?? (() => getHeapStatistics().used_heap_size);
    this.collect = options.collect ?? collectGarbage;
    this.baseline = this.used();
    this.timer = setInterval(() => this.check(), options.intervalMs ?? 250);
    this.timer.unref();
  }

  /** One look at the heap (what the timer does); true when it collected. */
  check(): boolean {
    const used = this.used();
    // Below the baseline: V8 collected on its own; what is live now is the new reference.
    if (used < this.baseline) this.baseline = used;
    if (used - this.baseline <= Math.max(this.headroom, this.baseline)) return false;
    this.collect();
    this.baseline = this.used();
    return true;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
