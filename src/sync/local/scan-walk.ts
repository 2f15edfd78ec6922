import type { BigIntStats } from 'node:fs';
import { lstatSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { MutagenError, errnoCode, errorMessage } from '../../base/errors.js';
import type { SymlinkMode } from '../../model/configuration.js';
import { joinPath, type Entry } from '../../model/entry.js';
import type { Ignorer } from '../ignore/ignorer.js';
import { HASH_CHUNK_SIZE, hashPath, type Hasher, type PathHashResult, type Yielder } from './hasher.js';
import { cacheEntryFromStat, cacheMatchesStat, type CacheEntry, type ScanCache } from './scan-cache.js';
import { direntKind, listDirectory, statKind, substituteName, TEMPORARY_PREFIX, type ChildKind } from './scan-listing.js';
import { readSymbolicLink } from './symlink.js';

/** Longest stretch of synchronous work before yielding to the event loop. */
const SLICE_MS = 8;
const UNTRACKED: Entry = { kind: 'untracked' };
const IS_LINUX = process.platform === 'linux';

type DirectoryLike = Extract<Entry, { contents: ReadonlyMap<string, Entry> }>;

export interface WalkSettings {
  readonly root: string;
  readonly rootDevice: bigint;
  readonly ignorer: Ignorer;
  readonly symlinkMode: SymlinkMode;
  readonly trackExecutability: boolean;
  readonly decomposesUnicode: boolean;
  readonly maxEntryCount: number;
  readonly cache: ScanCache;
  readonly newHasher: () => Hasher;
  readonly baseline: { readonly cache: ScanCache; readonly dirty: ReadonlySet<string> } | undefined;
  readonly signal: AbortSignal | undefined;
}

function problematic(problem: string): Entry {
  return { kind: 'problematic', problem };
}

/** Thrown by a child's lstat failure: the parent directory's contents cannot be read. */
class UnreadableContents extends Error {
  constructor(cause: unknown) {
    super('unable to read directory contents', { cause });
  }
}

/** A file that could not be opened: Problematic below the root, a scan failure at the root. */
class OpenFailure {
  constructor(readonly error: unknown) {}
}

type MaybePromise<T> = T | Promise<T>;
type MaybePending = Promise<void> | undefined;

function openFailureAsProblem(result: Entry | OpenFailure | undefined): Entry | undefined {
  return result instanceof OpenFailure ? problematic(`unable to open file: ${errorMessage(result.error)}`) : result;
}

/** Where a directory is and how it is being scanned. */
interface DirectoryScan {
  readonly path: string;
  readonly absolute: string;
  /** Ignore mask of §3.5: set = recorded as a phantom directory. */
  readonly mask: boolean;
  /** Whether entries here count towards count(snapshot): no phantom on the way from the root. */
  readonly counting: boolean;
  readonly baseline: DirectoryLike | undefined;
}

/**
 * One scan's walk. Sequential and synchronous per entry (measured 3–8x faster than promise-based
 * fs calls for cached metadata), yielding to the event loop every few milliseconds.
 */
export class TreeWalker implements Yielder {
  hashedFiles = 0;
  hashedBytes = 0;
  private directories = 0;
  private files = 0;
  private symbolicLinks = 0;
  private totalFileSize = 0;
  private readonly newCache = new Map<string, CacheEntry>();
  /** Every new cache entry is the very object of `settings.cache` at the same path. */
  private cacheUnchanged = true;
  private deadline = performance.now() + SLICE_MS;
  private readonly buffer = Buffer.allocUnsafe(HASH_CHUNK_SIZE);

  /** Cache lookups can only come from `settings.cache`, so reused entries are identical to it. */
  private readonly singleSource: boolean;

  constructor(private readonly settings: WalkSettings) {
    this.singleSource = settings.baseline === undefined || settings.baseline.cache === settings.cache;
  }

  due(): boolean {
    return performance.now() >= this.deadline;
  }

  async pause(): Promise<void> {
    await yieldToLoop();
    this.settings.signal?.throwIfAborted();
    this.deadline = performance.now() + SLICE_MS;
  }

  statistics(): { directories: number; files: number; symbolicLinks: number; totalFileSize: number } {
    return { directories: this.directories, files: this.files, symbolicLinks: this.symbolicLinks, totalFileSize: this.totalFileSize };
  }

  /** The new cache, or the old one itself (via `reuse`) when it is entry-for-entry identical. */
  finishCache(reuse: (cache: ScanCache) => Map<string, CacheEntry>): Map<string, CacheEntry> {
    if (this.cacheUnchanged && this.newCache.size === this.settings.cache.size) return reuse(this.settings.cache);
    return this.newCache;
  }

  async scanRoot(baseline: Entry | undefined): Promise<Entry | undefined> {
    const base = baseline?.kind === 'directory' ? baseline : undefined;
    const root: DirectoryScan = { path: '', absolute: this.settings.root, mask: false, counting: true, baseline: base };
    const content = await this.directory(root);
    if (content?.kind === 'directory') {
      this.directories++;
      this.countEntry(true);
    }
    if (content?.kind === 'problematic') {
      throw new MutagenError('MUTAGEN_SCAN', `unable to read synchronization root: ${content.problem}`);
    }
    return content;
  }

  async scanRootFile(stat: BigIntStats): Promise<Entry | undefined> {
    const result = await this.file('', this.settings.root, stat, true);
    if (result instanceof OpenFailure) {
      throw new MutagenError('MUTAGEN_SCAN', `unable to open synchronization root: ${errorMessage(result.error)}`, { cause: result.error });
    }
    return result;
  }

  private countEntry(counting: boolean): void {
    if (!counting) return;
    const max = this.settings.maxEntryCount;
    if (max > 0 && this.directories + this.files + this.symbolicLinks > max) {
      throw new MutagenError('MUTAGEN_SCAN_RETRY', 'exceeded allowed entry count');
    }
  }

  /** §2.3 for one directory. Undefined when it vanished before it could be listed. */
  private async directory(scan: DirectoryScan): Promise<Entry | undefined> {
    const listing = listDirectory(scan.absolute);
    if (listing === undefined) return undefined;
    if ('problem' in listing) return problematic(listing.problem);
    const contents = new Map<string, Entry>();
    for (const raw of listing.invalid) {
      if (raw.toString('utf8').startsWith(TEMPORARY_PREFIX)) continue;
      contents.set(substituteName(raw), scan.mask ? UNTRACKED : problematic('non-UTF-8 filename'));
    }
    try {
      if (listing.dirents !== undefined) {
        for (const dirent of listing.dirents) {
          const pending = this.addChild(scan, contents, dirent.name, direntKind(dirent));
          if (pending !== undefined) await pending;
        }
      } else {
        for (const name of listing.names ?? []) {
          const pending = this.addChild(scan, contents, name, 'unknown');
          if (pending !== undefined) await pending;
        }
      }
    } catch (error) {
      if (error instanceof UnreadableContents) return problematic(`unable to read directory contents: ${errorMessage(error.cause)}`);
      throw error;
    }
    return scan.mask ? { kind: 'phantom-directory', contents } : { kind: 'directory', contents };
  }

  /** Records one listed name (skipping temporary names). Resolves at once unless work is pending. */
  private addChild(scan: DirectoryScan, contents: Map<string, Entry>, diskName: string, kind: ChildKind): MaybePending {
    if (diskName.startsWith(TEMPORARY_PREFIX)) return undefined;
    const name = this.settings.decomposesUnicode ? diskName.normalize('NFC') : diskName;
    const record = (entry: Entry | undefined): void => {
      if (entry !== undefined) contents.set(name, entry);
    };
    if (this.due()) return this.pause().then(() => this.addChild(scan, contents, diskName, kind));
    const pending = this.child(scan, name, `${scan.absolute}/${diskName}`, kind);
    if (pending instanceof Promise) return pending.then(record);
    record(pending);
    return undefined;
  }

  /** lstat that treats a vanished path as undefined and any other failure as unreadable contents. */
  private lstat(absolute: string): BigIntStats | undefined {
    try {
      return lstatSync(absolute, { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      if (errnoCode(error) === 'ENOTDIR') return undefined;
      throw new UnreadableContents(error);
    }
  }

  /**
   * Steps 4–7 of §2.3 for one named child, typed from the listing when possible (ignored and
   * special entries then cost no lstat). Undefined when it vanished.
   */
  private child(parent: DirectoryScan, name: string, absolute: string, listed: ChildKind): MaybePromise<Entry | undefined> {
    let kind = listed;
    let stat: BigIntStats | undefined;
    if (kind === 'unknown') {
      stat = this.lstat(absolute);
      if (stat === undefined) return undefined;
      kind = statKind(stat);
    }
    if (kind === 'special') return UNTRACKED;
    const path = joinPath(parent.path, name);
    const mask = this.childMask(parent.mask, path, kind === 'directory');
    if (mask === undefined) return UNTRACKED;
    const counting = parent.counting && !mask;
    if (kind === 'symlink') return this.symbolicLink(path, absolute, counting);
    stat ??= this.lstat(absolute);
    if (stat === undefined) return undefined;
    // Replaced since it was listed: start again from what lstat says.
    if (statKind(stat) !== kind) return listed === 'unknown' ? undefined : this.child(parent, name, absolute, 'unknown');
    if (kind === 'directory') return this.subdirectory(parent, { name, path, absolute, mask, counting }, stat);
    const pending = this.file(path, absolute, stat, counting);
    return pending instanceof Promise ? pending.then(openFailureAsProblem) : openFailureAsProblem(pending);
  }

  /** §3.5: the child's mask, or undefined when the child is untracked. */
  private childMask(parentMask: boolean, path: string, isDirectory: boolean): boolean | undefined {
    const verdict = this.settings.ignorer.evaluate(path, isDirectory);
    const traverse = isDirectory && verdict.continueTraversal;
    switch (verdict.status) {
      case 'unignored':
        return false;
      case 'nominal':
        if (!parentMask) return false;
        return traverse ? true : undefined;
      case 'ignored':
        return traverse ? true : undefined;
    }
  }

  private async subdirectory(
    parent: DirectoryScan,
    child: { name: string; path: string; absolute: string; mask: boolean; counting: boolean },
    stat: BigIntStats,
  ): Promise<Entry | undefined> {
    if (stat.dev !== this.settings.rootDevice) return problematic('scan crossed filesystem boundary');
    const wanted = child.mask ? 'phantom-directory' : 'directory';
    const previous = parent.baseline?.contents.get(child.name);
    const baseline = previous?.kind === wanted ? previous : undefined;
    if (baseline !== undefined && this.reusable(child.path, baseline)) {
      await this.adopt(child.path, baseline, child.counting);
      return baseline;
    }
    const entry = await this.directory({ path: child.path, absolute: child.absolute, mask: child.mask, counting: child.counting, baseline });
    if (entry?.kind === 'directory') {
      this.directories++;
      this.countEntry(child.counting);
    }
    return entry;
  }

  /** A baseline directory is reused unless dirty (on Linux, an empty one is always re-listed). */
  private reusable(path: string, baseline: DirectoryLike): boolean {
    const dirty = this.settings.baseline?.dirty;
    if (dirty === undefined || dirty.has(path)) return false;
    return !(IS_LINUX && baseline.contents.size === 0);
  }

  /** Carries a reused baseline subtree's cache entries and statistics into this scan. */
  private async adopt(path: string, entry: Entry, counting: boolean): Promise<void> {
    switch (entry.kind) {
      case 'directory':
      case 'phantom-directory': {
        const inner = counting && entry.kind === 'directory';
        if (inner) this.directories++;
        this.countEntry(inner);
        if (this.due()) await this.pause();
        for (const [name, child] of entry.contents) await this.adopt(joinPath(path, name), child, inner);
        return;
      }
      case 'file': {
        const cached = this.settings.baseline?.cache.get(path);
        if (cached === undefined) throw new MutagenError('MUTAGEN_SCAN', 'old cache entries do not correspond to baseline');
        this.reuse(path, cached);
        if (counting) {
          this.files++;
          this.totalFileSize += cached.size;
          this.countEntry(true);
        }
        return;
      }
      case 'symlink':
        if (counting) this.symbolicLinks++;
        this.countEntry(counting);
        return;
      case 'untracked':
      case 'problematic':
        return;
    }
  }

  /** Keeps an entry taken from the old cache (or the baseline's). */
  private reuse(path: string, entry: CacheEntry): void {
    this.newCache.set(path, entry);
    if (this.cacheUnchanged && !this.singleSource && this.settings.cache.get(path) !== entry) this.cacheUnchanged = false;
  }

  private store(path: string, entry: CacheEntry): void {
    this.newCache.set(path, entry);
    this.cacheUnchanged = false;
  }

  private lookup(path: string): CacheEntry | undefined {
    return this.settings.baseline?.cache.get(path) ?? this.settings.cache.get(path);
  }

  /** §2.5 for one regular file: reuse the cached digest when the stat matches, else hash. */
  private file(path: string, absolute: string, stat: BigIntStats, counting: boolean): MaybePromise<Entry | OpenFailure | undefined> {
    const mode = Number(stat.mode);
    const executable = this.settings.trackExecutability && (mode & 0o111) !== 0;
    const cached = this.lookup(path);
    if (cached !== undefined && cacheMatchesStat(cached, stat)) {
      if (cached.mode === mode) this.reuse(path, cached);
      else this.store(path, cacheEntryFromStat(stat, cached.digest));
      this.countFile(counting, cached.size);
      return { kind: 'file', digest: cached.digest, executable };
    }
    const size = Number(stat.size);
    const result = hashPath(absolute, size, this.settings.newHasher(), this.buffer, this);
    const finish = (outcome: PathHashResult): Entry | OpenFailure | undefined => {
      switch (outcome.kind) {
        case 'vanished':
          return undefined;
        case 'open-failed':
          return new OpenFailure(outcome.error);
        case 'problem':
          return problematic(outcome.problem);
        case 'hashed':
          this.hashedFiles++;
          this.hashedBytes += outcome.bytesRead;
          this.store(path, cacheEntryFromStat(stat, outcome.digest));
          this.countFile(counting, size);
          return { kind: 'file', digest: outcome.digest, executable };
      }
    };
    return result instanceof Promise ? result.then(finish) : finish(result);
  }

  private countFile(counting: boolean, size: number): void {
    if (!counting) return;
    this.files++;
    this.totalFileSize += size;
    this.countEntry(true);
  }

  /** §2.6 for one symbolic link (never followed). */
  private symbolicLink(path: string, absolute: string, counting: boolean): Entry | undefined {
    const entry = readSymbolicLink(path, absolute, this.settings.symlinkMode);
    if (entry?.kind === 'symlink') {
      if (counting) this.symbolicLinks++;
      this.countEntry(counting);
    }
    return entry;
  }
}
