import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Stats } from 'node:fs';
import { MutagenError } from '../base/errors.js';

const TEMPORARY_PREFIX = '.mutagen-temporary-';
/** More pending paths than this collapse into "rescan everything" (no unbounded sets). */
export const MAX_PENDING_PATHS = 10_000;

export interface WatchOptions {
  /** Root-relative path test: true prunes that directory from watching (ignored, not traversed). */
  readonly pruneDirectory?: (relativePath: string) => boolean;
  /** Trailing-edge debounce window for signals (sync-semantics §7.4: 20 ms). */
  readonly debounceMs?: number;
  /** Called (debounced) whenever something may have changed, or the watcher failed. */
  readonly onSignal: () => void;
}

/** What changed since the last drain: root-relative paths, or overflow = rescan everything. */
export interface WatchBatch {
  readonly paths: ReadonlySet<string>;
  readonly overflow: boolean;
}

/**
 * Native recursive watching of one synchronization root (chokidar: inotify per directory on
 * Linux). Events are hints: the scanner re-checks the reported paths against the cache.
 * Owns its chokidar instance; close() is idempotent.
 */
export class TreeWatcher {
  private readonly watcher: FSWatcher;
  private pending = new Set<string>();
  private overflow = false;
  private failure: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  readonly ready: Promise<void>;

  constructor(private readonly root: string, private readonly options: WatchOptions) {
    this.watcher = watch(root, {
      ignoreInitial: true,
      followSymlinks: false,
      persistent: true,
      atomic: false,
      ignorePermissionErrors: true,
      ignored: (candidate: string, stats?: Stats) => this.ignored(candidate, stats),
    });
    this.ready = new Promise((resolve) => this.watcher.once('ready', () => resolve()));
    this.watcher.on('all', (_event, changed) => this.record(changed));
    this.watcher.on('error', (error: unknown) => {
      this.failure = new MutagenError('MUTAGEN_ENDPOINT', `watch error: ${error instanceof Error ? error.message : String(error)}`);
      this.overflow = true;
      this.schedule();
    });
  }

  /** The watch error, if watching failed (the caller falls back to full scans). */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Takes everything recorded so far. */
  drain(): WatchBatch {
    const batch = { paths: this.pending, overflow: this.overflow };
    this.pending = new Set();
    this.overflow = false;
    return batch;
  }

  /** Marks paths dirty without an event (e.g. after our own transitions). */
  markDirty(paths: Iterable<string>): void {
    for (const p of paths) this.add(p);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer !== undefined) clearTimeout(this.timer);
      await this.watcher.close();
    })();
    return this.closing;
  }

  private relative(candidate: string): string | undefined {
    const relative = path.relative(this.root, candidate);
    if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
    return relative.split(path.sep).join('/');
  }

  private ignored(candidate: string, stats: Stats | undefined): boolean {
    const relative = this.relative(candidate);
    if (relative === undefined || relative === '') return false;
    for (const component of relative.split('/')) {
      if (component.startsWith(TEMPORARY_PREFIX)) return true;
    }
    if (stats?.isDirectory() === true && this.options.pruneDirectory !== undefined) {
      return this.options.pruneDirectory(relative);
    }
    return false;
  }

  private record(changed: string): void {
    const relative = this.relative(changed);
    if (relative === undefined) return;
    if (relative.split('/').some((c) => c.startsWith(TEMPORARY_PREFIX))) return;
    this.add(relative);
    this.schedule();
  }

  private add(relative: string): void {
    if (this.overflow) return;
    if (this.pending.size >= MAX_PENDING_PATHS) {
      this.pending.clear();
      this.overflow = true;
      return;
    }
    this.pending.add(relative);
  }

  private schedule(): void {
    if (this.closing !== undefined) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.options.onSignal();
    }, this.options.debounceMs ?? 20);
  }
}
