import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { anySignal, raceAbort, sleep } from '../../base/abort.js';
import { writeFileAtomic } from '../../base/atomic-write.js';
import { createYielder } from '../../base/yielder.js';
import { errorMessage, MutagenError } from '../../base/errors.js';
import type { Logger } from '../../base/logger.js';
import type { ResolvedEndpointConfiguration } from '../../model/configuration.js';
import { digestHex, type Change, type Entry, type Snapshot } from '../../model/entry.js';
import type { StagingProgress } from '../../model/session.js';
import { TreeWatcher, type WatchBatch } from '../../watch/watcher.js';
import { entriesEqual } from '../core/entries.js';
import type { DeltaReceiver, Endpoint, ScanResult, StagePlan, StageRequest, SupplyRequest, TransitionResult } from '../endpoint.js';
import { createIgnorer, type Ignorer } from '../ignore/ignorer.js';
import { deltaOperations } from '../rsync/delta.js';
import { signatureOfFile } from '../rsync/signature.js';
import { EMPTY_SIGNATURE, MAX_DATA_OPERATION_SIZE, type Operation, type Signature } from '../rsync/types.js';
import { resolveOwnership } from './ownership.js';
import type { FilesystemBehavior } from './probe.js';
import { StagingReceiver } from './receiver.js';
import { decodeScanCache, encodeScanCache, type CacheEntry } from './scan-cache.js';
import type { SubtreeCounts } from './scan-walk.js';
import { localCopies } from './local-copies.js';
import { scan } from './scanner.js';
import { StagingStore } from './staging.js';
import { applyTransitions } from './transition.js';
import { fileModeFor } from './transition-context.js';

const CACHE_SAVE_INTERVAL_MS = 60_000;
const READ_CHUNK = 256 * 1024;

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
  private signalled = false;
  private wake: (() => void) | undefined;
  private last: LastScan | undefined;
  private cacheDirty = false;
  private lastCacheSave = 0;
  private receiver: StagingReceiver | undefined;
  private readonly subtreeCounts = new WeakMap<Entry, SubtreeCounts>();
  private closing: Promise<void> | undefined;
  private readonly shutdownController = new AbortController();

  private constructor(
    private readonly options: LocalEndpointOptions,
    private readonly ignorer: Ignorer,
    private readonly owner: number | undefined,
    private readonly group: number | undefined,
    private cache: Map<string, CacheEntry>,
  ) {
    this.config = options.configuration;
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
    const c = options.configuration;
    const ignorer = createIgnorer({ syntax: c.ignoreSyntax, patterns: c.ignores, vcs: c.ignoreVcs });
    const owner = await resolveOwnership(c.defaultOwner, 'user');
    const group = await resolveOwnership(c.defaultGroup, 'group');
    const cache = await loadCache(options.cacheFile, options.logger);
    const endpoint = new LocalEndpoint(options, ignorer, owner, group, cache);
    endpoint.startWatching();
    try {
      // Established before the first scan, the watcher needs no full rescan after it.
      if (endpoint.watcher !== undefined) await raceAbort(endpoint.watcher.ready, signal);
    } catch (error) {
      await endpoint.shutdown();
      throw error;
    }
    return endpoint;
  }

  async poll(signal: AbortSignal): Promise<void> {
    const stop = anySignal([signal, this.shutdownController.signal]);
    // A listener added to an already-aborted signal never fires: check first.
    stop.throwIfAborted();
    if (this.config.watchMode === 'no-watch') {
      await new Promise<void>((_, reject) => stop.addEventListener('abort', () => reject(stop.reason as Error), { once: true }));
      return;
    }
    if (this.config.watchMode === 'force-poll' || this.watcher === undefined || this.watcher.error !== undefined) {
      await this.pollByScanning(stop);
      return;
    }
    if (this.signalled) {
      this.signalled = false;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { this.wake = undefined; reject(stop.reason as Error); };
      stop.addEventListener('abort', onAbort, { once: true });
      this.wake = () => { stop.removeEventListener('abort', onAbort); this.wake = undefined; this.signalled = false; resolve(); };
    });
  }

  async scan(request: { readonly full: boolean }, signal: AbortSignal): Promise<ScanResult> {
    const batch = this.watcher?.drain();
    const recheckPaths = this.recheckPaths(request.full, batch);
    const accelerate = recheckPaths !== 'all';
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
      if (output.cacheChanged) this.cacheDirty = true;
      this.cache = output.cache;
      this.last = { snapshot: output.snapshot, cache: output.cache };
      void this.maybeSaveCache(false);
      return { kind: 'snapshot', snapshot: output.snapshot };
    } catch (error) {
      if (batch !== undefined) this.watcher?.markDirty(batch.paths);
      if (error instanceof MutagenError && error.code === 'MUTAGEN_SCAN_RETRY') return { kind: 'retry', reason: error.message };
      throw error;
    }
  }

  /** The watcher's dirty paths when an accelerated scan may trust them, else 'all' (full scan). */
  private recheckPaths(full: boolean, batch: WatchBatch | undefined): ReadonlySet<string> | 'all' {
    const trusted = !full && this.config.scanMode === 'accelerated' && this.config.watchMode === 'portable'
      && this.watcher !== undefined && this.watcher.error === undefined;
    return trusted && batch !== undefined && !batch.overflow ? batch.paths : 'all';
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
      if (local !== undefined && (await this.stageLocalCopy(local, file, signal))) continue;
      paths.push(file.path);
    }
    this.staging.persist();
    if (paths.length === 0) return { paths, signatures: [], receiver: undefined };
    const signatures: Signature[] = [];
    // A base is what the last scan saw as a file at the same path: new paths (all of them in an
    // initial sync) need no open that fails.
    for (const p of paths) {
      signatures.push(this.options.computeSignatures && last.cache.has(p) ? await this.signatureAt(p, signal) : EMPTY_SIGNATURE);
    }
    this.receiver = new StagingReceiver(this.options.root, paths, signatures, this.staging);
    return { paths, signatures, receiver: this.receiver };
  }

  async supply(request: SupplyRequest, receiver: DeltaReceiver, signal: AbortSignal): Promise<void> {
    const yieldTurn = createYielder();
    for (let i = 0; i < request.paths.length; i++) {
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
        await this.supplyOne(fd, signature, receiver, yieldTurn, signal);
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
    this.closing ??= (async () => {
      this.shutdownController.abort(new MutagenError('MUTAGEN_CANCELLED', 'endpoint shut down'));
      await this.receiver?.abort();
      await this.watcher?.close();
      await this.maybeSaveCache(true);
    })();
    return this.closing;
  }

  private absolute(relative: string): string {
    return relative === '' ? this.options.root : path.join(this.options.root, relative);
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
      const result = await this.scan({ full: true }, signal).catch(() => undefined);
      if (result === undefined || result.kind === 'retry') return;
      if (previous === undefined || !sameSnapshot(previous, result.snapshot)) return;
    }
  }

  private async stageLocalCopy(source: string, file: StageRequest, signal: AbortSignal): Promise<boolean> {
    let handle: FileHandle;
    try {
      handle = await open(this.absolute(source), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      return false;
    }
    const sink = await this.staging.createSink(file.path);
    try {
      const buffer = Buffer.allocUnsafe(READ_CHUNK);
      for (;;) {
        signal.throwIfAborted();
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        await sink.write(buffer.subarray(0, bytesRead));
      }
      const digest = await sink.commit();
      return Buffer.compare(Buffer.from(digest), Buffer.from(file.digest)) === 0;
    } catch (error) {
      await sink.abort().catch(() => undefined);
      if (signal.aborted) throw error;
      return false;
    } finally {
      await handle.close();
    }
  }

  private async signatureAt(relative: string, signal: AbortSignal): Promise<Signature> {
    let handle: FileHandle;
    try {
      handle = await open(this.absolute(relative), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      return EMPTY_SIGNATURE;
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return EMPTY_SIGNATURE;
      return await signatureOfFile(handle, stat.size, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      return EMPTY_SIGNATURE;
    } finally {
      await handle.close();
    }
  }

  /** Streams one file: whole-file data operations for an empty signature, else an rsync delta. */
  private async supplyOne(fd: number, signature: Signature, receiver: DeltaReceiver, yieldTurn: () => Promise<void>, signal: AbortSignal): Promise<void> {
    const size = fstatSync(fd).size;
    let first = true;
    const send = async (operation: Operation): Promise<void> => {
      await receiver.write(first ? { kind: 'operation', operation, expectedSize: size } : { kind: 'operation', operation });
      first = false;
    };
    try {
      if (signature.hashes.length === 0) {
        for (let sent = 0; ; ) {
          signal.throwIfAborted();
          // Sized to what is left (small files are the common case); one more byte detects growth.
          const buffer = Buffer.allocUnsafe(Math.min(MAX_DATA_OPERATION_SIZE, Math.max(size - sent, 1)));
          const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
          if (bytesRead === 0) break;
          sent += bytesRead;
          await send({ kind: 'data', data: buffer.subarray(0, bytesRead) });
          await yieldTurn();
        }
      } else {
        for await (const operation of deltaOperations(readChunks(fd, signal), signature, signal)) await send(operation);
      }
    } catch (error) {
      if (signal.aborted) throw error;
      await receiver.write({ kind: 'done', error: `unable to read file: ${errorMessage(error)}` });
      return;
    }
    await receiver.write({ kind: 'done' });
  }

  private async maybeSaveCache(force: boolean): Promise<void> {
    const file = this.options.cacheFile;
    if (file === undefined || !this.cacheDirty) return;
    const now = Date.now();
    if (!force && now - this.lastCacheSave < CACHE_SAVE_INTERVAL_MS) return;
    this.lastCacheSave = now;
    this.cacheDirty = false;
    try {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await writeFileAtomic(file, encodeScanCache(this.cache));
    } catch (error) {
      this.cacheDirty = true;
      this.options.logger.warn('unable to save scan cache', { error: errorMessage(error) });
    }
  }
}

async function* readChunks(fd: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const yieldTurn = createYielder();
  for (;;) {
    signal.throwIfAborted();
    await yieldTurn();
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
    if (bytesRead === 0) return;
    yield buffer.subarray(0, bytesRead);
  }
}

/** Synchronizable entries of a snapshot (the scanner counts exactly what countEntries would). */
function snapshotCount(snapshot: Snapshot): number {
  return snapshot.directories + snapshot.files + snapshot.symbolicLinks;
}

async function loadCache(file: string | undefined, logger: Logger): Promise<Map<string, CacheEntry>> {
  if (file === undefined) return new Map();
  try {
    return decodeScanCache(await readFile(file));
  } catch (error) {
    logger.debug('starting with an empty scan cache', { reason: errorMessage(error) });
    return new Map();
  }
}

function sameSnapshot(a: Snapshot, b: Snapshot): boolean {
  return a.preservesExecutability === b.preservesExecutability && a.decomposesUnicode === b.decomposesUnicode
    && entriesEqual(a.content, b.content, true);
}
