import { afterEach } from 'vitest';
import { TreeWatcher, type WatchOptions } from '../../../src/watch/watcher.js';

/** A started watcher plus everything it reported, accumulated across drains. */
export interface WatchHarness {
  readonly watcher: TreeWatcher;
  /** Every path drained so far. */
  readonly seen: Set<string>;
  /** Signals delivered so far. */
  signals(): number;
  /** True once any drain reported overflow. */
  overflowed(): boolean;
  /** Drains the watcher into `seen`; returns `seen`. */
  collect(): Set<string>;
  /** State and error, for assertion messages. */
  status(): string;
}

/** Starts watchers that are closed after each test. */
export function useWatchers(): (root: string, options?: Omit<WatchOptions, 'onSignal'>) => Promise<WatchHarness> {
  const started: TreeWatcher[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((watcher) => watcher.close()));
  });
  return async (root, options = {}) => {
    let signals = 0;
    let overflowed = false;
    const seen = new Set<string>();
    const watcher = new TreeWatcher(root, { ...options, onSignal: () => { signals++; } });
    started.push(watcher);
    await watcher.ready;
    return {
      watcher,
      seen,
      signals: () => signals,
      overflowed: () => overflowed,
      collect: () => {
        const batch = watcher.drain();
        overflowed ||= batch.overflow;
        for (const p of batch.paths) seen.add(p);
        return seen;
      },
      status: () => `watcher ${watcher.state}${watcher.error === undefined ? '' : `: ${watcher.error.message}`}`,
    };
  };
}
