import type { BigIntStats } from 'node:fs';
import { lstatSync } from 'node:fs';
import { MutagenError, errorMessage } from '../../base/errors.js';
import type { HashAlgorithm, PermissionsMode, ProbeMode, SymlinkMode } from '../../model/configuration.js';
import type { Entry, Snapshot } from '../../model/entry.js';
import type { Ignorer } from '../ignore/ignorer.js';
import { hashPool } from './hash-pool.js';
import { createHasherFactory } from './hasher.js';
import { probeBehavior, type FilesystemBehavior } from './probe.js';
import type { CacheEntry, ScanCache } from './scan-cache.js';
import { TreeWalker, type SubtreeCounts, type WalkSettings } from './scan-walk.js';
import type { Prestager } from './staging.js';

export interface ScanOptions {
  readonly root: string;
  readonly hash: HashAlgorithm;
  readonly symlinkMode: SymlinkMode;
  readonly permissionsMode: PermissionsMode;
  readonly probeMode: ProbeMode;
  readonly ignorer: Ignorer;
  readonly cache: ScanCache;
  /** 0 means unlimited. */
  readonly maxEntryCount: number;
  readonly behaviorCache?: Map<bigint, FilesystemBehavior>;
  /**
   * The previous result, and the paths that may have changed since (each dirty path's ancestors
   * are dirty too), or 'all' for a full scan: every directory is then re-listed and every file
   * re-checked, the baseline only lending its objects to unchanged subtrees. The scan takes over
   * `cache`: a successful scan updates it in place and returns it (so an accelerated scan costs
   * what is dirty, not the tree); a failed one leaves it as is. Without a baseline, a full scan
   * builds a new cache, dropping entries for paths no longer seen.
   */
  readonly baseline?: { readonly snapshot: Snapshot; readonly cache: Map<string, CacheEntry>; readonly recheckPaths: ReadonlySet<string> | 'all' };
  /** Subtree statistics memoised across scans by entry identity; give the same map every scan. */
  readonly subtreeCounts?: WeakMap<Entry, SubtreeCounts>;
  /** Where new files hashed by the file threads are also copied to (see Prestager). */
  readonly prestage?: Prestager;
  readonly signal?: AbortSignal;
}

export interface ScanOutput {
  readonly snapshot: Snapshot;
  /**
   * The new cache: the very object passed in (`cache` or the baseline's) when nothing changed, or
   * the baseline's cache updated in place after an accelerated scan.
   */
  readonly cache: Map<string, CacheEntry>;
  /** False when `cache` holds exactly what it did before the scan. */
  readonly cacheChanged: boolean;
  readonly rootDevice: bigint | undefined;
  readonly hashedFiles: number;
  readonly hashedBytes: number;
}

function scanError(message: string, cause?: unknown): MutagenError {
  return new MutagenError('MUTAGEN_SCAN', message, cause === undefined ? {} : { cause });
}

function asMap(cache: ScanCache): Map<string, CacheEntry> {
  return cache instanceof Map ? (cache as Map<string, CacheEntry>) : new Map(cache);
}

/** count(snapshot) of sync-semantics §1.4, from the statistics gathered while walking. */
function entryCount(snapshot: Snapshot): number {
  return snapshot.directories + snapshot.files + snapshot.symbolicLinks;
}

function checkEntryCount(snapshot: Snapshot, maxEntryCount: number): void {
  if (maxEntryCount > 0 && entryCount(snapshot) > maxEntryCount) {
    throw new MutagenError('MUTAGEN_SCAN_RETRY', 'exceeded allowed entry count');
  }
}

function absentOutput(): ScanOutput {
  const snapshot: Snapshot = {
    content: undefined, preservesExecutability: false, decomposesUnicode: false,
    directories: 0, files: 0, symbolicLinks: 0, totalFileSize: 0,
  };
  return { snapshot, cache: new Map(), cacheChanged: true, rootDevice: undefined, hashedFiles: 0, hashedBytes: 0 };
}

function rootStat(root: string): BigIntStats | undefined {
  let stat: BigIntStats | undefined;
  try {
    stat = lstatSync(root, { bigint: true, throwIfNoEntry: false });
  } catch (error) {
    throw scanError(`unable to open synchronization root: ${errorMessage(error)}`, error);
  }
  if (stat === undefined) return undefined;
  if (stat.isSymbolicLink()) throw scanError('unable to open synchronization root: root is a symbolic link');
  if (!stat.isDirectory() && !stat.isFile()) throw scanError('unable to open synchronization root: unsupported root type');
  return stat;
}

async function probe(options: ScanOptions, isDirectory: boolean): Promise<FilesystemBehavior> {
  try {
    return await probeBehavior(options.root, isDirectory, options.probeMode, options.signal, options.behaviorCache);
  } catch (error) {
    if (error instanceof MutagenError) throw error;
    options.signal?.throwIfAborted();
    throw scanError(`unable to probe synchronization root: ${errorMessage(error)}`, error);
  }
}

/** The baseline, if it is usable: same behaviour values and same root kind (sync-semantics §2.9). */
function usableBaseline(options: ScanOptions, behavior: FilesystemBehavior, isDirectory: boolean): ScanOptions['baseline'] {
  const baseline = options.baseline;
  if (baseline === undefined) return undefined;
  const { snapshot } = baseline;
  if (snapshot.preservesExecutability !== behavior.preservesExecutability) return undefined;
  if (snapshot.decomposesUnicode !== behavior.decomposesUnicode) return undefined;
  const kind = snapshot.content?.kind;
  return kind === (isDirectory ? 'directory' : 'file') ? baseline : undefined;
}

/** Every re-check path plus all of its ancestors, up to `""`. */
function dirtySet(recheckPaths: ReadonlySet<string>): Set<string> {
  const dirty = new Set<string>(['']);
  for (let path of recheckPaths) {
    while (path !== '' && !dirty.has(path)) {
      dirty.add(path);
      const slash = path.lastIndexOf('/');
      path = slash < 0 ? '' : path.slice(0, slash);
    }
  }
  return dirty;
}

/**
 * Scans the synchronization root (sync-semantics §2, §3.5 scan side). The root is never followed
 * when it is a symbolic link. Work is synchronous in short slices separated by event-loop yields;
 * the signal is checked at every yield. Rejects with MutagenError('MUTAGEN_SCAN_RETRY',
 * 'exceeded allowed entry count') (retryable), MutagenError('MUTAGEN_SCAN', …) when the root is a
 * symbolic link or of another type, cannot be read, cannot be probed, or when the baseline's cache
 * does not cover it, or with the signal's reason when aborted. Per-path trouble is recorded as
 * Problematic entries instead.
 */
export async function scan(options: ScanOptions): Promise<ScanOutput> {
  options.signal?.throwIfAborted();
  if (options.symlinkMode === 'posix-raw' && process.platform === 'win32') {
    throw scanError('raw POSIX symbolic links not supported on Windows');
  }
  const stat = rootStat(options.root);
  if (stat === undefined) return absentOutput();
  const isDirectory = stat.isDirectory();
  const behavior = await probe(options, isDirectory);
  const baseline = usableBaseline(options, behavior, isDirectory);
  if (baseline !== undefined && baseline.recheckPaths !== 'all' && baseline.recheckPaths.size === 0) {
    checkEntryCount(baseline.snapshot, options.maxEntryCount);
    return { snapshot: baseline.snapshot, cache: baseline.cache, cacheChanged: false, rootDevice: stat.dev, hashedFiles: 0, hashedBytes: 0 };
  }
  const settings: WalkSettings = {
    root: options.root,
    rootDevice: stat.dev,
    ignorer: options.ignorer,
    symlinkMode: options.symlinkMode,
    trackExecutability: options.permissionsMode === 'portable' && behavior.preservesExecutability,
    decomposesUnicode: behavior.decomposesUnicode,
    maxEntryCount: options.maxEntryCount,
    cache: options.cache,
    newHasher: await createHasherFactory(options.hash),
    ...(options.hash === 'xxh128' ? {} : {
      pool: { hashes: hashPool, algorithm: options.hash, ...(options.prestage === undefined ? {} : { prestage: options.prestage }) },
    }),
    baseline: baseline === undefined ? undefined
      : { cache: baseline.cache, dirty: baseline.recheckPaths === 'all' ? 'all' : dirtySet(baseline.recheckPaths) },
    subtreeCounts: options.subtreeCounts,
    signal: options.signal,
  };
  const walker = new TreeWalker(settings);
  const content = isDirectory
    ? await walker.scanRoot(baseline?.snapshot.content)
    : await walker.scanRootFile(stat);
  const snapshot: Snapshot = { content, ...behavior, ...walker.statistics() };
  const { cache, changed } = walker.finishCache(asMap);
  return {
    snapshot,
    cache,
    cacheChanged: changed,
    rootDevice: stat.dev,
    hashedFiles: walker.hashedFiles,
    hashedBytes: walker.hashedBytes,
  };
}
