import { lstatSync, readdirSync, watch, type Dirent, type FSWatcher, type Stats } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { errnoCode } from '../base/errors.js';
import { TEMPORARY_PREFIX } from './paths.js';

export interface TreeWatchCallbacks {
  /** Root-relative directory path (never ''): true leaves it (and its subtree) unwatched. */
  readonly pruneDirectory: (relative: string) => boolean;
  /** A root-relative path ('' = the root) that may have changed: a hint, may repeat. */
  readonly onPath: (relative: string) => void;
  readonly onError: (error: unknown) => void;
}

/** The watches over one directory tree; close() is idempotent and also settles `ready`. */
export interface TreeWatch {
  /** Resolves once every directory is watched, or when the watch is closed first. Never rejects. */
  readonly ready: Promise<void>;
  /**
   * While held, names reported by events are still passed to `onPath` but not examined: no lstat,
   * no new directory watched or walked until release(), which catches up on all of them at once.
   * A directory created while held is walked (and reported) on release, so nothing made inside it
   * meanwhile is missed. Used while our own transition creates many entries.
   */
  hold(): void;
  release(): void;
  /**
   * True when nothing is waiting to be examined, watched or walked (and not held): every
   * directory known to exist is watched, so any change from now on reaches `onPath`.
   */
  settled(): boolean;
  close(): Promise<void>;
}

/** Longest stretch of synchronous walking before yielding to the event loop. */
const SLICE_MS = 8;

/** Errors that mean "this directory is gone or not ours to watch": the parent's events cover it. */
const SKIPPED_ERRORS = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'ELOOP']);

/** One watched directory. Children are the watched subdirectories (a tree, so removal is O(subtree)). */
interface WatchedDirectory {
  readonly relative: string;
  readonly ino: number;
  readonly watcher: FSWatcher;
  readonly children: Map<string, WatchedDirectory>;
}

/**
 * Watches every directory under `root` with one non-recursive `fs.watch` each (inotify on Linux),
 * never a file: a directory's watch reports its children's names, which is all the scanner needs
 * (an event marks the path and its ancestors dirty; a dirty directory is re-listed).
 *
 * The watched set follows the tree: a name reported with a `rename` event (created, deleted,
 * moved) is checked with one lstat at the next turn of the event loop; a new directory is watched
 * and walked (each directory found is reported, so files made before its watch existed are
 * re-listed), a directory that went away or changed identity has its subtree's watches closed.
 * Pruned (ignored) directories, `.mutagen-temporary-` names, symbolic links and other
 * filesystems are never entered. ENOSPC (the inotify watch limit) and other unexpected failures go
 * to `onError`; directories that vanish or cannot be read are skipped (their parent reports them).
 */
export function watchTree(root: string, callbacks: TreeWatchCallbacks): TreeWatch {
  return new DirectoryTreeWatch(root, callbacks);
}

class DirectoryTreeWatch implements TreeWatch {
  readonly ready: Promise<void>;
  private settle: () => void = () => undefined;
  private closed = false;
  private rootDevice = -1;
  private top: WatchedDirectory | undefined;
  /** Directories waiting to be walked (watched, then listed), with whether to report them. */
  private readonly queue: { relative: string; report: boolean; parent: WatchedDirectory | undefined }[] = [];
  private pumping = false;
  /** Names reported by `rename` events, checked at the next turn. */
  private readonly candidates = new Set<string>();
  private checkScheduled = false;
  private held = false;

  constructor(private readonly root: string, private readonly callbacks: TreeWatchCallbacks) {
    this.ready = new Promise<void>((resolve) => { this.settle = resolve; });
    this.queue.push({ relative: '', report: false, parent: undefined });
    void this.pump();
  }

  hold(): void {
    this.held = true;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.scheduleCheck();
  }

  settled(): boolean {
    return !this.held && !this.pumping && this.queue.length === 0 && this.candidates.size === 0;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.queue.length = 0;
      this.candidates.clear();
      if (this.top !== undefined) this.unwatch(this.top);
      this.top = undefined;
      this.settle();
    }
    return Promise.resolve();
  }

  private absolute(relative: string): string {
    return relative === '' ? this.root : `${this.root}/${relative}`;
  }

  /** Walks queued directories in slices; settles `ready` once the queue first runs dry. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      let deadline = performance.now() + SLICE_MS;
      while (!this.closed && this.queue.length > 0) {
        const next = this.queue.pop();
        if (next !== undefined) this.walkOne(next.relative, next.report, next.parent);
        if (performance.now() >= deadline) {
          await yieldToLoop();
          deadline = performance.now() + SLICE_MS;
        }
      }
    } catch (error) {
      if (!this.closed) this.callbacks.onError(error);
    } finally {
      this.pumping = false;
      this.settle();
    }
  }

  /** Watches one directory, then queues its subdirectories. */
  private walkOne(relative: string, report: boolean, parent: WatchedDirectory | undefined): void {
    const name = relative.slice(relative.lastIndexOf('/') + 1);
    if (parent !== undefined && (parent.children.has(name) || !this.isLive(parent))) return;
    const absolute = this.absolute(relative);
    const stat = this.lstat(absolute);
    if (stat === undefined || !stat.isDirectory()) return;
    if (parent === undefined) this.rootDevice = stat.dev;
    else if (stat.dev !== this.rootDevice) return;
    const watched = this.watchDirectory(relative, stat.ino);
    if (watched === undefined) return;
    if (parent === undefined) this.top = watched;
    else parent.children.set(name, watched);
    // Reported after the watch exists: whatever was made before it is found by re-listing.
    if (report) this.callbacks.onPath(relative);
    for (const dirent of this.list(absolute)) {
      if (dirent.name.startsWith(TEMPORARY_PREFIX)) continue;
      if (!dirent.isDirectory()) continue;
      const child = relative === '' ? dirent.name : `${relative}/${dirent.name}`;
      if (this.callbacks.pruneDirectory(child)) continue;
      this.queue.push({ relative: child, report, parent: watched });
    }
  }

  /** True while `directory` is still part of the watched tree (not closed by a removal). */
  private isLive(directory: WatchedDirectory): boolean {
    let node: WatchedDirectory | undefined = this.top;
    if (node === undefined) return false;
    if (directory.relative === '') return node === directory;
    for (const part of directory.relative.split('/')) {
      node = node.children.get(part);
      if (node === undefined) return false;
    }
    return node === directory;
  }

  private lstat(absolute: string): Stats | undefined {
    try {
      return lstatSync(absolute, { throwIfNoEntry: false });
    } catch (error) {
      if (SKIPPED_ERRORS.has(errnoCode(error) ?? '')) return undefined;
      throw error;
    }
  }

  private list(absolute: string): Dirent[] {
    try {
      return readdirSync(absolute, { withFileTypes: true });
    } catch (error) {
      if (SKIPPED_ERRORS.has(errnoCode(error) ?? '')) return [];
      throw error;
    }
  }

  private watchDirectory(relative: string, ino: number): WatchedDirectory | undefined {
    let watcher: FSWatcher;
    try {
      watcher = watch(this.absolute(relative), { persistent: true }, (event, name) => this.onEvent(relative, event, name));
    } catch (error) {
      if (SKIPPED_ERRORS.has(errnoCode(error) ?? '')) return undefined;
      throw error;
    }
    watcher.on('error', (error) => {
      if (!this.closed) this.callbacks.onError(error);
    });
    return { relative, ino, watcher, children: new Map() };
  }

  private onEvent(directory: string, event: string, name: string | null): void {
    if (this.closed) return;
    if (name === null || name === '') {
      this.callbacks.onPath(directory);
      return;
    }
    if (name.startsWith(TEMPORARY_PREFIX)) return;
    const child = directory === '' ? name : `${directory}/${name}`;
    this.callbacks.onPath(child);
    // The directory itself deleted or moved reports its own basename: report it too.
    if (directory !== '' && directory.endsWith(name) && (directory.length === name.length || directory[directory.length - name.length - 1] === '/')) {
      this.callbacks.onPath(directory);
    }
    if (event !== 'rename') return;
    this.candidates.add(child);
    this.scheduleCheck();
  }

  private scheduleCheck(): void {
    if (this.held || this.checkScheduled || this.candidates.size === 0) return;
    this.checkScheduled = true;
    setImmediate(() => this.checkCandidates());
  }

  /** Brings the watched set in line with what the reported names now are. */
  private checkCandidates(): void {
    this.checkScheduled = false;
    if (this.closed || this.held) return;
    const names = [...this.candidates];
    this.candidates.clear();
    try {
      for (const relative of names) this.checkOne(relative);
    } catch (error) {
      if (!this.closed) this.callbacks.onError(error);
      return;
    }
    if (this.queue.length > 0) void this.pump();
  }

  private checkOne(relative: string): void {
    const slash = relative.lastIndexOf('/');
    const parent = this.find(slash < 0 ? '' : relative.slice(0, slash));
    if (parent === undefined) return;
    const name = relative.slice(slash + 1);
    const existing = parent.children.get(name);
    const stat = this.lstat(this.absolute(relative));
    const directory = stat?.isDirectory() === true && stat.dev === this.rootDevice;
    if (existing !== undefined) {
      if (directory && stat.ino === existing.ino) return;
      parent.children.delete(name);
      this.unwatch(existing);
    }
    if (directory && !this.callbacks.pruneDirectory(relative)) this.queue.push({ relative, report: true, parent });
  }

  private find(relative: string): WatchedDirectory | undefined {
    let node = this.top;
    if (relative === '' || node === undefined) return node;
    for (const part of relative.split('/')) {
      node = node.children.get(part);
      if (node === undefined) return undefined;
    }
    return node;
  }

  /** Closes the watches of a directory and everything below it. */
  private unwatch(directory: WatchedDirectory): void {
    const stack = [directory];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      next.watcher.close();
      for (const child of next.children.values()) stack.push(child);
    }
  }
}
