import path from 'node:path';
import { errnoCode, errorMessage, MutagenError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { isTemporaryPath } from './paths.js';
import { NATIVE_RECURSIVE_WATCH, watchTreeRecursively } from './recursive-watch.js';
import { RestartBudget, type RestartBudgetLimits } from './restart-budget.js';
import { inspectRoot, sameRoot, watchRootName, type RootKind, type RootSentinel } from './root-sentinel.js';
import { watchTree, type TreeWatch } from './tree-watch.js';

/** More pending paths than this collapse into "rescan everything" (no unbounded sets). */
export const MAX_PENDING_PATHS = 10_000;
/** Trailing-edge debounce window for signals (sync-semantics §7.4). */
export const DEFAULT_DEBOUNCE_MS = 20;
/** Retry/restart delay: one default polling interval (sync-semantics §7.4). */
export const DEFAULT_RETRY_DELAY_MS = 10_000;

/**
 * `watching`: the root is a directory and its tree is watched. `watching-parent`: the root is
 * missing or not a directory; only its name in the parent directory is watched. `backing-off`:
 * establishing or watching failed, a retry is scheduled. `failed`: the restart budget is spent.
 */
export type WatchState = 'starting' | 'watching' | 'watching-parent' | 'backing-off' | 'failed' | 'closed';

export interface WatchOptions {
  /** Root-relative path test: true prunes that directory from watching (ignored, not traversed). */
  readonly pruneDirectory?: (relativePath: string) => boolean;
  /** Trailing-edge debounce window for signals (default 20 ms). */
  readonly debounceMs?: number;
  /** Delay before re-establishing after a failure (default 10 s: one polling interval). */
  readonly retryDelayMs?: number;
  /** Restarts after watch errors allowed per window (default 5 per 10 minutes). */
  readonly restartBudget?: RestartBudgetLimits;
  /** Use one native recursive watch instead of one watch per directory (default: macOS and Windows). */
  readonly nativeRecursive?: boolean;
  /** Pending paths kept before collapsing into overflow (default MAX_PENDING_PATHS). */
  readonly maxPendingPaths?: number;
  readonly logger?: Logger;
  /** Called (debounced) whenever something may have changed, or the watcher failed. */
  readonly onSignal: () => void;
}

/** Re-establishments settle() waits through at most (a root replaced again and again). */
const SETTLE_ROUNDS = 3;

/** What changed since the last drain: root-relative paths, or overflow = rescan everything. */
export interface WatchBatch {
  readonly paths: ReadonlySet<string>;
  readonly overflow: boolean;
}

/** One establishment: what the root was, and the watches made for it. */
interface Active {
  readonly generation: number;
  readonly root: RootKind;
  tree: TreeWatch | undefined;
  sentinel: RootSentinel | undefined;
  checking: boolean;
  recheck: boolean;
}

/**
 * Watching of one synchronization root: one watch per directory (tree-watch.ts), or one native
 * recursive watch where the platform has it (recursive-watch.ts). Events are hints: the scanner re-checks
 * the reported paths (and their ancestors) against its cache. A root that is missing or a file
 * is watched through its parent directory; when it appears or changes kind the watch is
 * re-established. A watch error disables acceleration (overflow), signals, and re-establishes
 * after `retryDelayMs` within a restart budget; once the budget is spent the watcher stays
 * `failed` and `error` tells the owner to poll. Every re-establishment reports overflow.
 *
 * Single-threaded; the owner drains it. close() is idempotent, stops all events and signals.
 */
export class TreeWatcher {
  /** Resolves when the first establishment attempt has settled (watching or backing off). */
  readonly ready: Promise<void>;
  /** The latest establishment attempt (the first, or a re-establishment). */
  private establishing: Promise<void>;
  /** The latest check of the root's kind (it may lead to a re-establishment). */
  private rootCheck: Promise<void> = Promise.resolve();
  private readonly root: string;
  private readonly budget: RestartBudget;
  private readonly maxPending: number;
  private pending = new Set<string>();
  private overflow = false;
  private failure: Error | undefined;
  private current: WatchState = 'starting';
  private active: Active | undefined;
  private generation = 0;
  private attempts = 0;
  private retryingEstablishment = false;
  private drainedUncovered = false;
  private signalTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private teardowns: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private holds = 0;
  /** A root event that arrived while held, handled on release. */
  private heldRootEvent: Active | undefined;

  constructor(root: string, private readonly options: WatchOptions) {
    this.root = path.resolve(root);
    this.budget = new RestartBudget(options.restartBudget);
    this.maxPending = options.maxPendingPaths ?? MAX_PENDING_PATHS;
    this.ready = this.establish();
    this.establishing = this.ready;
  }

  get state(): WatchState {
    return this.current;
  }

  /** Set while not watching (backing off or failed): the owner falls back to full scans. */
  get error(): Error | undefined {
    return this.failure;
  }

  /**
   * Takes everything recorded so far. Reports overflow whenever the tree was not fully watched
   * (still establishing, backing off, failed, closed): events may have been missed.
   */
  drain(): WatchBatch {
    const covered = this.current === 'watching' || this.current === 'watching-parent';
    if (!covered) this.drainedUncovered = true;
    const batch = { paths: this.pending, overflow: this.overflow || !covered };
    this.pending = new Set();
    this.overflow = false;
    return batch;
  }

  /**
   * Resolves once no check of the root and no (re-)establishment is under way, e.g. after our
   * transition created the root: a scan that drains only then is not followed by an overflow.
   */
  async settle(): Promise<void> {
    for (let round = 0; round < SETTLE_ROUNDS; round++) {
      await this.rootCheck;
      if (this.current !== 'starting') return;
      await this.establishing;
    }
  }

  /**
   * True when this watcher vouches that nothing changed since the last drain(): the tree was
   * covered the whole time (a lapse sets overflow until drained), nothing was recorded since,
   * and nothing is waiting to be examined or watched. False whenever in doubt.
   */
  quiet(): boolean {
    const covered = this.current === 'watching' || this.current === 'watching-parent';
    const active = this.active;
    return covered && this.holds === 0 && !this.overflow && this.pending.size === 0 && !this.drainedUncovered
      && active !== undefined && !active.checking && this.heldRootEvent === undefined && (active.tree?.settled() ?? true);
  }

  /**
   * Marks paths dirty without an event (after our own transitions, or a failed scan). If the
   * root could not be established, retries now: a transition may have created it.
   */
  markDirty(paths: Iterable<string>): void {
    for (const p of paths) this.add(p);
    if (this.current === 'backing-off' && this.retryingEstablishment) this.restart();
  }

  /**
   * Defers the costly reactions to events (examining reported names, watching and walking new
   * directories, re-establishing a root that appeared) while the owner's own transition runs;
   * paths are still recorded. Calls nest; the last release() catches up on everything.
   */
  hold(): void {
    this.holds += 1;
    if (this.holds === 1) this.active?.tree?.hold();
  }

  release(): void {
    if (this.holds === 0) return;
    this.holds -= 1;
    if (this.holds > 0) return;
    this.active?.tree?.release();
    const active = this.heldRootEvent;
    this.heldRootEvent = undefined;
    if (active !== undefined) this.onRootEvent(active);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.current = 'closed';
      this.generation++;
      clearTimeout(this.signalTimer);
      clearTimeout(this.retryTimer);
      this.retire();
      await this.teardowns;
    })();
    return this.closing;
  }

  private stale(generation: number): boolean {
    return this.closing !== undefined || generation !== this.generation;
  }

  private async establish(): Promise<void> {
    const generation = ++this.generation;
    this.attempts++;
    this.current = 'starting';
    this.retire();
    try {
      const root = await inspectRoot(this.root);
      if (this.stale(generation)) return;
      const active: Active = { generation, root, tree: undefined, sentinel: undefined, checking: false, recheck: false };
      this.active = active;
      active.sentinel = this.startSentinel(active);
      if (root.kind === 'directory') {
        active.tree = this.startTree(active);
        await active.tree.ready;
        if (this.stale(generation)) return;
      }
      this.established(active);
      // The root may have changed between inspecting it and watching it (made by `mkdir -p`).
      active.checking = true;
      this.rootCheck = this.checkRoot(active);
    } catch (error) {
      if (!this.stale(generation)) this.failed(error, 'establish');
    }
  }

  private startSentinel(active: Active): RootSentinel | undefined {
    const onError = (error: unknown): void => this.failed(error, 'watch', active.generation);
    try {
      return watchRootName(this.root, () => this.onRootEvent(active), onError);
    } catch (error) {
      // A directory root is still watched without it; anything else has nothing else to watch.
      if (active.root.kind !== 'directory') throw error;
      this.options.logger?.debug('unable to watch the root\'s parent directory', { error: errorMessage(error) });
      return undefined;
    }
  }

  private startTree(active: Active): TreeWatch {
    const prune = this.options.pruneDirectory;
    const start = (this.options.nativeRecursive ?? NATIVE_RECURSIVE_WATCH) ? watchTreeRecursively : watchTree;
    const tree = start(this.root, {
      pruneDirectory: prune === undefined ? () => false : prune,
      onPath: (relative) => {
        if (!this.stale(active.generation)) this.record(relative);
      },
      onError: (error) => this.failed(error, 'watch', active.generation),
    });
    if (this.holds > 0) tree.hold();
    return tree;
  }

  private established(active: Active): void {
    this.failure = undefined;
    this.retryingEstablishment = false;
    this.current = active.root.kind === 'directory' ? 'watching' : 'watching-parent';
    // Whatever happened while no watch was in place is unknown: after a restart, or when a scan
    // ran before the first establishment completed, everything must be rescanned.
    if (this.attempts > 1 || this.drainedUncovered) {
      this.drainedUncovered = false;
      this.setOverflow();
      this.schedule();
    }
  }

  /** Stops the current watches (their close is awaited by close()). */
  private retire(): void {
    const active = this.active;
    this.active = undefined;
    if (active === undefined) return;
    active.sentinel?.close();
    const tree = active.tree;
    if (tree === undefined) return;
    this.teardowns = this.teardowns.then(() => tree.close()).catch((error: unknown) => {
      this.options.logger?.debug('unable to close a watch', { error: errorMessage(error) });
    });
  }

  private failed(error: unknown, cause: 'establish' | 'watch', generation?: number): void {
    if (generation !== undefined && this.stale(generation)) return;
    this.generation++;
    this.retire();
    this.failure = new MutagenError('MUTAGEN_ENDPOINT', `unable to watch ${this.root}: ${errorMessage(error)}`, { cause: error });
    this.setOverflow();
    this.schedule();
    if (errnoCode(error) === 'ENOSPC') {
      // Retrying cannot help until watches are freed or the limit is raised.
      this.current = 'failed';
      this.options.logger?.warn('inotify watch limit reached (raise the fs.inotify.max_user_watches sysctl); falling back to polling', { root: this.root });
      return;
    }
    if (cause === 'watch' && !this.budget.take()) {
      this.current = 'failed';
      this.options.logger?.warn('watch restart budget spent; falling back to polling', { error: errorMessage(error) });
      return;
    }
    this.options.logger?.debug('watch failed; retrying', { error: errorMessage(error), cause });
    this.retryingEstablishment = cause === 'establish';
    this.current = 'backing-off';
    this.retryTimer = setTimeout(() => this.restart(), this.options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);
  }

  private restart(): void {
    if (this.closing !== undefined) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.establishing = this.establish();
  }

  /** The root's name changed in its parent: record it, and re-establish if the root changed kind. */
  private onRootEvent(active: Active): void {
    if (this.stale(active.generation)) return;
    this.record('');
    if (this.holds > 0) {
      this.heldRootEvent = active;
      return;
    }
    if (active.checking) {
      active.recheck = true;
      return;
    }
    active.checking = true;
    this.rootCheck = this.checkRoot(active);
  }

  private async checkRoot(active: Active): Promise<void> {
    do {
      active.recheck = false;
      const now = await inspectRoot(this.root).catch(() => undefined);
      if (this.stale(active.generation)) return;
      if (now === undefined || !sameRoot(active.root, now)) {
        this.restart();
        return;
      }
    } while (active.recheck);
    active.checking = false;
  }

  private record(relative: string): void {
    if (isTemporaryPath(relative)) return;
    this.add(relative);
    this.schedule();
  }

  private add(relative: string): void {
    if (this.overflow || this.pending.has(relative)) return;
    if (this.pending.size >= this.maxPending) {
      this.setOverflow();
      return;
    }
    this.pending.add(relative);
  }

  private setOverflow(): void {
    this.pending.clear();
    this.overflow = true;
  }

  private schedule(): void {
    if (this.closing !== undefined) return;
    if (this.signalTimer !== undefined) {
      // Debounce: restart the pending timer (cheaper than clearing and creating one per event).
      this.signalTimer.refresh();
      return;
    }
    this.signalTimer = setTimeout(() => {
      this.signalTimer = undefined;
      this.options.onSignal();
    }, this.options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
  }
}
