import { closeSync, constants, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { anySignal, raceAbort, sleep, withLinkedSignal } from '../../base/abort.js';
import { writeFileAtomic } from '../../base/atomic-write.js';
import { createYielder, readQueuedEvents } from '../../base/yielder.js';
import { childPath } from '../../base/paths.js';
import { errorMessage, MutagenError } from '../../base/errors.js';
import type { Logger } from '../../base/logger.js';
import type { HashAlgorithm, ResolvedEndpointConfiguration } from '../../model/configuration.js';
import { digestHex, type Change, type Entry, type Snapshot } from '../../model/entry.js';
import type { StagingProgress } from '../../model/session.js';
import { relativeTo } from '../../watch/paths.js';
import { TreeWatcher, type WatchBatch } from '../../watch/watcher.js';
import type { DeltaReceiver, Endpoint, ScanResult, StagePlan, StageRequest, SupplyRequest, TransitionResult } from '../endpoint.js';
import { createIgnorer, type Ignorer } from '../ignore/ignorer.js';
import { EMPTY_SIGNATURE, type Signature } from '../rsync/types.js';
import { resolveOwnership } from './ownership.js';
import type { FilesystemBehavior } from './probe.js';
import { hashPool } from './hash-pool.js';
import { StagingReceiver } from './receiver.js';
import { encodeScanCache, loadScanCache, type CacheEntry } from './scan-cache.js';
import type { SubtreeCounts } from './scan-walk.js';
import { localCopies } from './local-copies.js';
import { scan } from './scanner.js';
import { isEmptySnapshot, sameSnapshot, snapshotCount } from './snapshots.js';
import { StagingStore, type Prestager, type StagingClaim } from './staging.js';
import { SignatureMemory, signatureAt, stageLocalCopy, supplyOne } from './file-content.js';
import { applyTransitions } from './transition.js';
import { fileModeFor } from './transition-context.js';

const CACHE_SAVE_INTERVAL_MS = 60_000;
/** The scan cache save in progress in this process, if any (saves run one after the other). */
let cacheSaves: Promise<void> = Promise.resolve();
/**
 * A watching endpoint's periodic full warm rescan (sync-semantics §7.4: Linux watching is
 * poll-based, events only accelerate it) runs at most this share of the time: a tree whose warm
 * scan takes 0.5 s is rescanned every 10 s or less often, never more than every interval.
 */
const RESCAN_DUTY_FACTOR = 20;

export interface LocalEndpointOptions {
  readonly root: string;
  readonly configuration: ResolvedEndpointConfiguration;
  /** One-way modes: alpha is read-only (sync-semantics §5.8). */
  readonly readOnly: boolean;
  readonly stagingRoot: string;
  /** Where the scan cache persists; undefined keeps it in memory only. */
  readonly cacheFile: string | undefined;
  /** The sender is across a transport: compute rsync signatures of bases and reuse local copies. */
  readonly computeSignatures: boolean;
  readonly behaviorCache?: Map<bigint, FilesystemBehavior>;
  readonly logger: Logger;
}

interface LastScan {
  readonly snapshot: Snapshot;
  /** The endpoint's cache itself (accelerated scans and placed files update it in place). */
  readonly cache: Map<string, CacheEntry>;
}

/**
 * An endpoint on this machine, used in-process by the daemon and inside the agent. Owns its
 * watcher, scan cache and staging store; shutdown() releases them and persists the cache.
 */
export class LocalEndpoint implements Endpoint {
  private readonly config: ResolvedEndpointConfiguration;
  private readonly staging: StagingStore;
  private watcher: TreeWatcher | undefined;
  /** Where this side's scans copy the new files they hash (the other side's acceptPrestaging). */
  private prestage: Prestager | undefined;
  /** Given to every scan (one may be under way when the link is made). */
  private readonly prestager: Prestager = { claim: (relative) => this.prestage?.claim(relative) };
  private signalled = false;
  /** How long the last full scan took (paces the periodic rescan). */
  private lastFullScanMs = 0;
  /** The scan at connect or the periodic rescan, in progress or last run (settles, never rejects). */
  private rescan: Promise<unknown> | undefined;
  private wake: (() => void) | undefined;
  private last: LastScan | undefined;
  private cacheDirty = false;
  private lastCacheSave = 0;
  /** The last cache save this endpoint started (settled or not; never rejects). */
  private cacheSaving: Promise<void> = Promise.resolve();
  private receiver: StagingReceiver | undefined;
  /** Signatures of large files received by a delta, reused as the next transfer's base signature. */
  private readonly signatureMemory = new SignatureMemory();
  private readonly subtreeCounts = new WeakMap<Entry, SubtreeCounts>();
  private closing: Promise<void> | undefined;
  private readonly shutdownController = new AbortController();
  /** Stage mode `internal`: the staging root is inside the synchronized root. */
  private readonly stagingInsideRoot: boolean;

  private constructor(
    private readonly options: LocalEndpointOptions,
    private readonly ignorer: Ignorer,
    private readonly owner: number | undefined,
    private readonly group: number | undefined,
    private cache: Map<string, CacheEntry>,
  ) {
    this.config = options.configuration;
    const stagingRelative = relativeTo(options.root, options.stagingRoot);
    this.stagingInsideRoot = stagingRelative !== undefined && stagingRelative !== '';
    this.staging = new StagingStore({
      root: options.stagingRoot,
      hash: this.config.hash,
      maxFileSize: this.config.maxStagingFileSize,
      fileMode: fileModeFor(this.config, false),
    });
  }

  /** Validates settings (ignores, ownership), loads the cache and starts watching. */
  static async connect(options: LocalEndpointOptions, signal: AbortSignal): Promise<LocalEndpoint> {
    signal.throwIfAborted();
    // The file threads start while the rest connects: the first scan needs them at once.
    if (options.configuration.hash !== 'xxh128') hashPool.warm();
    const c = options.configuration;
    const ignorer = createIgnorer({ syntax: c.ignoreSyntax, patterns: c.ignores, vcs: c.ignoreVcs });
    const owner = await resolveOwnership(c.defaultOwner, 'user');
    const group = await resolveOwnership(c.defaultGroup, 'group');
    const cache = await loadScanCache(options.cacheFile, options.logger);
    const endpoint = new LocalEndpoint(options, ignorer, owner, group, cache);
    endpoint.startWatching();
    try {
      // Established before the first scan, the watcher needs no full rescan after it.
      if (endpoint.watcher !== undefined) await raceAbort(endpoint.watcher.ready, signal);
    } catch (error) {
      await endpoint.shutdown();
      throw error;
    }
    endpoint.scanAhead();
    return endpoint;
  }

  /**
   * Starts the first scan as soon as this side is connected, while the session connects its
   * other side (an SSH connection and agent start take ~0.4 s): hashing a new tree overlaps that
   * wait. It is an ordinary scan whose snapshot becomes the baseline; the cycle's own scan
   * (scan() waits for this one) then rechecks only what the watcher reported since it began, or
   * the whole tree, cache-warm, when the watcher cannot vouch. Its failure is dropped: the cycle's
   * scan meets the same condition and reports it.
   */
  private scanAhead(): void {
    this.rescan = this.scanTree({ full: false }, this.shutdownController.signal).catch(() => undefined);
  }

  poll(signal: AbortSignal): Promise<void> {
    return withLinkedSignal([signal, this.shutdownController.signal], (stop) => this.pollUntil(stop));
  }

  private async pollUntil(stop: AbortSignal): Promise<void> {
    // A listener added to an already-aborted signal never fires: check first.
    stop.throwIfAborted();
    // The cache is saved once the cycle that changed it is over (encoding a big tree's cache
    // takes the loop for tens of milliseconds, which a cycle in progress would wait for).
    void this.maybeSaveCache(false);
    if (this.config.watchMode === 'no-watch') return new Promise<void>((_, reject) => stop.addEventListener('abort', () => reject(stop.reason as Error), { once: true }));
    if (this.config.watchMode === 'force-poll' || this.watcher === undefined || this.watcher.error !== undefined) {
      await this.pollByScanning(stop);
      return;
    }
    if (this.signalled) {
      this.signalled = false;
      return;
    }
    for (;;) {
      if (await this.waitForEvent(this.rescanDelayMs(), stop)) return;
      // Events are only an accelerator: the kernel drops them silently when its queue overflows,
      // and a flush trusts them (§7.5 deviation), so a periodic full warm rescan catches what
      // they missed. It signals only when the tree differs from the last snapshot.
      // A watch event meanwhile stops the rescan at once: the cycle it triggers scans anyway.
      const previous = this.last?.snapshot;
      const interrupt = new AbortController();
      this.wake = () => interrupt.abort();
      const result = await this.pollScan(anySignal([stop, interrupt.signal])).catch((error: unknown) => {
        if (stop.aborted) throw error;
        return undefined;
      }).finally(() => { this.wake = undefined; });
      if (this.signalled) {
        this.signalled = false;
        return;
      }
      if (result === undefined || result.kind === 'retry') return;
      if (previous === undefined || !sameSnapshot(previous, result.snapshot)) return;
    }
  }

  /** Resolves true on a watch signal, false after `timeoutMs` of quiet. */
  private waitForEvent(timeoutMs: number, stop: AbortSignal): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        stop.removeEventListener('abort', onAbort);
        this.wake = undefined;
      };
      const onAbort = (): void => { finish(); reject(stop.reason as Error); };
      const timer = setTimeout(() => { finish(); resolve(false); }, timeoutMs);
      stop.addEventListener('abort', onAbort, { once: true });
      this.wake = () => { finish(); this.signalled = false; resolve(true); };
    });
  }

  /** A full scan run while polling; the controller does not wait for an aborted poll to settle, scan() does. */
  private pollScan(signal: AbortSignal): Promise<ScanResult> {
    const result = this.scanTree({ full: true }, signal);
    this.rescan = result.catch(() => undefined);
    return result;
  }

  private rescanDelayMs(): number {
    return Math.max(this.config.watchPollingInterval * 1000, this.lastFullScanMs * RESCAN_DUTY_FACTOR);
  }

  async scan(request: { readonly full: boolean }, signal: AbortSignal): Promise<ScanResult> {
    if (this.rescan !== undefined) await raceAbort(this.rescan, signal);
    return this.scanTree(request, signal);
  }

  private async scanTree(request: { readonly full: boolean }, signal: AbortSignal): Promise<ScanResult> {
    // Let the loop poll once more so that watch events queued before this request (a flush right
    // after a write, possibly read in the same turn) are recorded before the batch is taken.
    if (!request.full && this.watcher !== undefined) {
      // A watch being (re-)established, e.g. for a root our transition created, reports overflow
      // once it is in place: a scan before that would be a full scan followed by another one.
      await raceAbort(this.watcher.settle(), signal);
      await readQueuedEvents(signal);
    }
    const batch = this.watcher?.drain();
    const recheckPaths = this.recheckPaths(request.full, batch);
    const accelerate = recheckPaths !== 'all';
    const started = performance.now();
    try {
      const output = await scan({
        root: this.options.root,
        hash: this.config.hash,
        symlinkMode: this.config.symlinkMode,
        permissionsMode: this.config.permissionsMode,
        probeMode: this.config.probeMode,
        ignorer: this.ignorer,
        cache: this.cache,
        subtreeCounts: this.subtreeCounts,
        maxEntryCount: this.config.maxEntryCount,
        prestage: this.prestager,
        ...(this.options.behaviorCache === undefined ? {} : { behaviorCache: this.options.behaviorCache }),
        // A full scan still re-checks everything, but against the last snapshot, whose objects
        // it keeps where nothing changed (later stages skip shared subtrees).
        ...(this.last === undefined ? {} : { baseline: { snapshot: this.last.snapshot, cache: this.last.cache, recheckPaths } }),
        signal,
      });
      this.options.logger.debug('scanned', {
        accelerated: accelerate, rechecked: accelerate ? recheckPaths.size : undefined, hashedFiles: output.hashedFiles,
        entries: output.snapshot.directories + output.snapshot.files + output.snapshot.symbolicLinks,
      });
      if (!accelerate) this.lastFullScanMs = performance.now() - started;
      if (output.cacheChanged) this.cacheDirty = true;
      this.cache = output.cache;
      this.last = { snapshot: output.snapshot, cache: output.cache };
      return { kind: 'snapshot', snapshot: output.snapshot };
    } catch (error) {
      if (batch !== undefined) this.watcher?.markDirty(batch.paths);
      if (error instanceof MutagenError && error.code === 'MUTAGEN_SCAN_RETRY') return { kind: 'retry', reason: error.message };
      throw error;
    }
  }

  /** The watcher's dirty paths when an accelerated scan may trust them, else 'all' (full scan). */
  private recheckPaths(full: boolean, batch: WatchBatch | undefined): ReadonlySet<string> | 'all' {
    return !full && this.watcherTrusted() && batch !== undefined && !batch.overflow ? batch.paths : 'all';
  }

  private watcherTrusted(): boolean {
    return this.config.scanMode === 'accelerated' && this.config.watchMode === 'portable'
      && this.watcher !== undefined && this.watcher.error === undefined;
  }

  acceptPrestaging(source: Endpoint, enabled: boolean): void {
    if (!(source instanceof LocalEndpoint) || source === this) return;
    const algorithm = source.config.hash;
    // Only while this side's last scan found nothing: every file of the other side is then new here.
    source.prestage = !enabled || this.options.readOnly ? undefined : { claim: (relative) => this.claimStaged(relative, algorithm) };
    if (source.prestage !== undefined && isEmptySnapshot(this.last?.snapshot)) void this.staging.initialize().catch(() => undefined);
  }

  private claimStaged(relative: string, algorithm: HashAlgorithm): StagingClaim | undefined {
    if (!isEmptySnapshot(this.last?.snapshot)) return undefined;
    const claim = this.staging.claim(relative, algorithm);
    // The staging root is made only once there is a file for it: ready for the next ones.
    if (claim === undefined) void this.staging.initialize().catch(() => undefined);
    return claim;
  }

  async quietSinceScan(signal: AbortSignal): Promise<boolean> {
    if (!this.watcherTrusted()) return false;
    // Events the kernel queued before this request must be recorded before they can be ruled out.
    await readQueuedEvents(signal);
    return this.watcher?.quiet() === true;
  }

  async stage(files: readonly StageRequest[], signal: AbortSignal): Promise<StagePlan> {
    this.assertWritable('stage');
    const last = this.last;
    if (last === undefined) throw new MutagenError('MUTAGEN_STAGING', 'staging without a preceding scan');
    const count = snapshotCount(last.snapshot);
    if (this.config.maxEntryCount - count < files.length) throw new MutagenError('MUTAGEN_STAGING', 'staging would exceed allowed entry count');
    await this.staging.initialize();
    // Reusing local content pays off only when the sender is across a transport; between two
    // local roots a copy from here costs what the sender's read costs, and finding candidates
    // means a pass over the whole cache.
    const localSources = this.options.computeSignatures ? localCopies(last.cache, files) : new Map<string, string>();
    const paths: string[] = [];
    for (const file of files) {
      signal.throwIfAborted();
      if (await this.staging.contains(file.path, file.digest)) continue;
      const local = localSources.get(digestHex(file.digest));
      if (local !== undefined && (await stageLocalCopy(this.staging, this.absolute(local), file, signal))) continue;
      paths.push(file.path);
    }
    await this.staging.persist();
    if (paths.length === 0) return { paths, signatures: [], receiver: undefined };
    const signatures: Signature[] = [];
    // A base is what the last scan saw as a file at the same path: new paths (all of them in an
    // initial sync) need no open that fails.
    const fromDisk = { files: 0, since: performance.now() };
    for (const p of paths) {
      const scanned = this.options.computeSignatures ? last.cache.get(p) : undefined;
      const known = scanned === undefined ? EMPTY_SIGNATURE : this.signatureMemory.lookup(p, scanned);
      if (known === undefined) fromDisk.files++;
      signatures.push(known ?? await signatureAt(this.absolute(p), signal));
    }
    if (fromDisk.files > 0) this.options.logger.debug('base signatures read from disk', { files: fromDisk.files, ms: Math.round(performance.now() - fromDisk.since) });
    this.receiver = new StagingReceiver(this.options.root, paths, signatures, this.staging, this.options.computeSignatures ? this.signatureMemory : undefined);
    return { paths, signatures, receiver: this.receiver };
  }

  async supply(request: SupplyRequest, receiver: DeltaReceiver, signal: AbortSignal): Promise<void> {
    // A receiver in this process (local↔local) copies new files from here in its file threads;
    // the stream then carries only the rest.
    const positions = receiver instanceof StagingReceiver
      ? await receiver.copyLocally((relative) => this.absolute(relative), signal)
      : request.paths.map((_, index) => index);
    const yieldTurn = createYielder();
    for (const i of positions) {
      signal.throwIfAborted();
      await yieldTurn();
      const relative = request.paths[i] as string;
      const signature = request.signatures[i] ?? EMPTY_SIGNATURE;
      let fd: number;
      try {
        fd = openSync(this.absolute(relative), constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (error) {
        await receiver.write({ kind: 'done', error: `unable to open file: ${errorMessage(error)}` });
        continue;
      }
      try {
        await supplyOne(fd, signature, receiver, yieldTurn, signal, this.last?.cache.get(relative)?.size);
      } finally {
        closeSync(fd);
      }
    }
    await receiver.finish();
  }

  async transition(changes: readonly Change[], signal: AbortSignal): Promise<TransitionResult> {
    this.assertWritable('transition');
    const last = this.last;
    if (last === undefined) throw new MutagenError('MUTAGEN_TRANSITION', 'transition without a preceding scan');
    this.receiver = undefined;
    const placed = new Map<string, CacheEntry>();
    // Our own changes need no examining by the watcher while they happen (see TreeWatcher.hold).
    this.watcher?.hold();
    try {
      const result = await applyTransitions(changes, {
        placed,
        root: this.options.root,
        cache: last.cache,
        staging: this.staging,
        symlinkMode: this.config.symlinkMode,
        permissionsMode: this.config.permissionsMode,
        defaultFileMode: this.config.defaultFileMode,
        defaultDirectoryMode: this.config.defaultDirectoryMode,
        owner: this.owner,
        group: this.group,
        decomposesUnicode: last.snapshot.decomposesUnicode,
        maxEntryCount: this.config.maxEntryCount,
        lastScanCount: snapshotCount(last.snapshot),
        hash: this.config.hash,
        signal,
      });
      this.rememberPlaced(placed);
      this.watcher?.markDirty(changes.map((c) => c.path));
      if (this.watcher === undefined && this.config.watchMode === 'portable') this.startWatching();
      return result;
    } finally {
      this.watcher?.release();
      await this.staging.wipe().catch(() => undefined);
      // A staging root inside the synchronized root (stage mode `internal`) is gone by the end of
      // the cycle: a flush never leaves a .mutagen-temporary-staging directory in the user's tree.
      if (this.stagingInsideRoot) await this.staging.cleaned();
    }
  }

  /** Files we just wrote join the cache, so the next scan need not re-read them (§2.5 still decides). */
  private rememberPlaced(placed: ReadonlyMap<string, CacheEntry>): void {
    if (placed.size === 0) return;
    for (const [relative, entry] of placed) this.cache.set(relative, entry);
    this.cacheDirty = true;
  }

  stagingProgress(): StagingProgress | undefined {
    return this.receiver?.progress();
  }

  shutdown(): Promise<void> {
    return this.close(true);
  }

  /**
   * Shuts down without saving the scan cache: the session is terminated, and whoever calls this
   * removes the cache file and the staging root (the daemon, or the agent's server).
   */
  discard(): Promise<void> {
    return this.close(false);
  }

  private close(persist: boolean): Promise<void> {
    this.closing ??= (async () => {
      this.shutdownController.abort(new MutagenError('MUTAGEN_CANCELLED', 'endpoint shut down'));
      // A scan of this endpoint's own (scanAhead, the periodic rescan) ends at the abort.
      await this.rescan;
      await this.receiver?.abort();
      await this.watcher?.close();
      if (persist) await this.maybeSaveCache(true);
      // A save poll() started may still be writing: whoever closes (terminate) may delete the
      // cache file next, which a late rename would bring back.
      await this.cacheSaving;
      await this.staging.cleaned();
    })();
    return this.closing;
  }

  private absolute(relative: string): string {
    return relative === '' ? this.options.root : childPath(this.options.root, relative);
  }

  private assertWritable(operation: string): void {
    if (this.options.readOnly) throw new MutagenError('MUTAGEN_ENDPOINT', `unable to ${operation}: endpoint is read-only (one-way mode source)`);
  }

  private startWatching(): void {
    if (this.config.watchMode !== 'portable') return;
    try {
      this.watcher = new TreeWatcher(this.options.root, {
        pruneDirectory: (relative) => {
          const result = this.ignorer.evaluate(relative, true);
          return result.status === 'ignored' && !result.continueTraversal;
        },
        retryDelayMs: this.config.watchPollingInterval * 1000,
        logger: this.options.logger.child('watch'),
        onSignal: () => {
          this.signalled = true;
          this.wake?.();
        },
      });
    } catch (error) {
      this.options.logger.warn('unable to start watching; falling back to polling', { error: errorMessage(error) });
      this.watcher = undefined;
    }
  }

  /** Poll-based watching: a warm full scan every interval; signal when the tree differs. */
  private async pollByScanning(signal: AbortSignal): Promise<void> {
    const previous = this.last?.snapshot;
    for (;;) {
      await sleep(this.config.watchPollingInterval * 1000, signal);
      // A watcher that recovered takes over again (one full cycle first, then events).
      if (this.config.watchMode === 'portable' && this.watcher !== undefined && this.watcher.error === undefined) return;
      const result = await this.pollScan(signal).catch(() => undefined);
      if (result === undefined || result.kind === 'retry') return;
      if (previous === undefined || !sameSnapshot(previous, result.snapshot)) return;
    }
  }

  private async maybeSaveCache(force: boolean): Promise<void> {
    const file = this.options.cacheFile;
    if (file === undefined || !this.cacheDirty) return;
    const now = Date.now();
    if (!force && now - this.lastCacheSave < CACHE_SAVE_INTERVAL_MS) return;
    this.lastCacheSave = now;
    this.cacheDirty = false;
    // One save at a time in the process: both endpoints of a session that just synchronized a
    // big tree would otherwise encode their caches at once (a peak of resident memory).
    const save = cacheSaves.then(async () => {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await writeFileAtomic(file, encodeScanCache(this.cache));
    });
    cacheSaves = save.catch(() => undefined);
    this.cacheSaving = cacheSaves;
    try {
      await save;
    } catch (error) {
      this.cacheDirty = true;
      this.options.logger.warn('unable to save scan cache', { error: errorMessage(error) });
    }
  }
}
