import { setImmediate as nextTurn } from 'node:timers/promises';
import { sleep } from '../base/abort.js';
import { errorMessage, isAbortError, MutagenError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { resolveEndpointConfiguration, type ResolvedEndpointConfiguration } from '../model/configuration.js';
import type { Change, Conflict, Entry, Snapshot } from '../model/entry.js';
import { isConnectedStatus, isHaltedStatus, type SyncSessionRecord, type SyncSessionState, type SyncStatus } from '../model/session.js';
import { nextAncestor } from './core/ancestor.js';
import { collectProblems } from './core/entries.js';
import { propagateExecutability } from './core/executability.js';
import { reifyPhantoms } from './core/phantom.js';
import { QuietSubtrees, reconcile } from './core/reconcile.js';
import { checkRootEmptied, checkRootTransitions, type HaltReason } from './core/safety.js';
import { filesToStage } from './core/stage.js';
import { buildState, EndpointView } from './controller-state.js';
import type { Endpoint, TransitionResult } from './endpoint.js';

export type Side = 'alpha' | 'beta';
export const RECONNECT_INTERVAL_MS = 15_000;
export const RESCAN_WAIT_MS = 5_000;

export interface ControllerDependencies {
  /** Connects one side; the controller owns the returned endpoint and shuts it down. */
  readonly connect: (side: Side, signal: AbortSignal) => Promise<Endpoint>;
  readonly loadAncestor: () => Promise<Entry | undefined>;
  readonly saveAncestor: (ancestor: Entry | undefined) => Promise<void>;
  readonly logger: Logger;
  /** Called on every visible state change (the manager bumps its state index). */
  readonly onChange: () => void;
}

interface FlushWaiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface Endpoints {
  alpha: Endpoint | undefined;
  beta: Endpoint | undefined;
}

class Halt extends Error {
  constructor(readonly reason: HaltReason) {
    super(reason);
  }
}

/**
 * Runs one sync session: connect, then cycles of watch → scan → reconcile → stage → transition
 * → save (sync-semantics §7). Failures become `lastError` and a reconnect; a safety halt waits
 * for resume/reset/terminate. Not persisted: conflicts, problems, counters.
 */
export class SessionController {
  private status: SyncStatus = 'disconnected';
  private lastError: string | undefined;
  private successfulCycles = 0;
  private conflicts: readonly Conflict[] = [];
  private readonly alphaView = new EndpointView();
  private readonly betaView = new EndpointView();
  private readonly endpoints: Endpoints = { alpha: undefined, beta: undefined };
  private loop: { controller: AbortController; done: Promise<void> } | undefined;
  private pendingFlushes: FlushWaiter[] = [];
  /** Flushes the running cycle answers (attached mid-cycle by attachIfQuiet). */
  private attachedFlushes: FlushWaiter[] = [];
  /** Serial number of the running cycle, 0 between cycles. */
  private runningCycle = 0;
  private cycleSerial = 0;
  private wakeFlush: (() => void) | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  /** Reconcile and problem-listing memos: per-cycle work follows what changed (see QuietSubtrees). */
  private readonly quietSubtrees = new QuietSubtrees();
  private readonly problemFreeSubtrees = new WeakSet<Entry>();
  /** The archive write in flight (one at a time, in order); see queueSave. */
  private saving: Promise<void> = Promise.resolve();
  private readonly alphaConfig: ResolvedEndpointConfiguration;
  private readonly betaConfig: ResolvedEndpointConfiguration;

  constructor(readonly record: SyncSessionRecord, private readonly deps: ControllerDependencies) {
    this.alphaConfig = resolveEndpointConfiguration(record.configuration, record.configurationAlpha);
    this.betaConfig = resolveEndpointConfiguration(record.configuration, record.configurationBeta);
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  get currentStatus(): SyncStatus {
    return this.status;
  }

  /** Starts the loop; endpoints already connected (by create/resume) skip their first connect. */
  start(connected: { readonly alpha?: Endpoint | undefined; readonly beta?: Endpoint | undefined } = {}): void {
    if (this.loop !== undefined) throw new MutagenError('MUTAGEN_INTERNAL', 'session loop already running');
    this.endpoints.alpha = connected.alpha;
    this.endpoints.beta = connected.beta;
    this.alphaView.connected = connected.alpha !== undefined;
    this.betaView.connected = connected.beta !== undefined;
    if (connected.alpha !== undefined && connected.beta !== undefined) this.setStatus('watching');
    const controller = new AbortController();
    const done = this.run(controller.signal).catch((error: unknown) => {
      this.deps.logger.error('session loop crashed', { error: errorMessage(error) });
    });
    this.loop = { controller, done };
  }

  /**
   * Stops the loop and shuts both endpoints down (pause, terminate, daemon shutdown). `discard`
   * (terminate): endpoints that can also delete the session's state on their side do so.
   */
  async stop(options: { readonly discard?: boolean } = {}): Promise<void> {
    const loop = this.loop;
    if (loop === undefined) return;
    loop.controller.abort(new MutagenError('MUTAGEN_CANCELLED', 'session stopped'));
    await loop.done;
    await this.saving.catch(() => undefined);
    this.loop = undefined;
    this.rejectFlushes(new MutagenError('MUTAGEN_SESSION_UNAVAILABLE', 'session is paused'));
    await this.shutdownEndpoints(options.discard === true);
    this.status = 'disconnected';
    this.lastError = undefined;
    this.deps.onChange();
  }

  /** Requests a full cycle and (unless skipWait) waits for it (sync-semantics §7.5). */
  async flush(skipWait: boolean, signal: AbortSignal): Promise<void> {
    if (this.loop === undefined) throw new MutagenError('MUTAGEN_SESSION_PAUSED', 'session is paused');
    if (!isConnectedStatus(this.status) || isHaltedStatus(this.status)) {
      throw new MutagenError('MUTAGEN_SESSION_UNAVAILABLE', 'session is not currently able to synchronize');
    }
    let waiter: FlushWaiter | undefined;
    const done = new Promise<void>((resolve, reject) => { waiter = { resolve, reject }; });
    done.catch(() => undefined);
    if (waiter === undefined) throw new MutagenError('MUTAGEN_INTERNAL', 'flush waiter not created');
    this.pendingFlushes.push(waiter);
    this.wakeFlush?.();
    if (this.runningCycle !== 0) void this.attachIfQuiet(waiter, this.runningCycle);
    if (skipWait) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      done.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /**
   * A flush asks for every change made before it to be synchronized. It arrived while cycle
   * `serial` runs: if both sides vouch that nothing changed since their scans of that cycle
   * began, that cycle already covers it, and the flush is answered when it ends instead of
   * after one more. Otherwise (or once the cycle is over) it stays pending for the next cycle.
   */
  private async attachIfQuiet(waiter: FlushWaiter, serial: number): Promise<void> {
    const { alpha, beta } = this.endpoints;
    const signal = this.loop?.controller.signal;
    if (alpha === undefined || beta === undefined || signal === undefined) return;
    const quiet = await Promise.all([alpha.quietSinceScan(signal), beta.quietSinceScan(signal)]).catch(() => [false, false]);
    this.deps.logger.debug('flush during a cycle', { cycle: serial, alphaQuiet: quiet[0], betaQuiet: quiet[1], running: this.runningCycle });
    if (!quiet.every(Boolean) || this.runningCycle !== serial) return;
    const index = this.pendingFlushes.indexOf(waiter);
    if (index < 0) return;
    this.pendingFlushes.splice(index, 1);
    this.attachedFlushes.push(waiter);
  }

  state(): SyncSessionState {
    return buildState({
      record: this.record,
      status: this.status,
      lastError: this.lastError,
      successfulCycles: this.successfulCycles,
      conflicts: this.conflicts,
      alpha: this.alphaView,
      beta: this.betaView,
      alphaProgress: this.status === 'staging-alpha' ? this.endpoints.alpha?.stagingProgress() : undefined,
      betaProgress: this.status === 'staging-beta' ? this.endpoints.beta?.stagingProgress() : undefined,
    });
  }

  private setStatus(status: SyncStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.deps.logger.trace('status', { status });
    this.deps.onChange();
  }

  private async run(signal: AbortSignal): Promise<void> {
    let lastFailure = 0;
    while (!signal.aborted) {
      try {
        const [alpha, beta] = await this.connectAll(signal);
        await this.synchronize(alpha, beta, signal);
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof Halt) {
          await this.halt(error.reason, signal);
          return;
        }
        this.lastError = errorMessage(error);
        this.deps.logger.warn('synchronization failed', { error: this.lastError });
        this.rejectFlushes(new MutagenError('MUTAGEN_SESSION_FAILED', `synchronization failed: ${this.lastError}`, { cause: error }));
        await this.shutdownEndpoints();
        this.setStatus('disconnected');
        const now = Date.now();
        const wait = now - lastFailure < RECONNECT_INTERVAL_MS;
        lastFailure = now;
        if (wait) {
          try {
            await sleep(RECONNECT_INTERVAL_MS, signal);
          } catch {
            return;
          }
        }
      }
    }
  }

  private async connectAll(signal: AbortSignal): Promise<[Endpoint, Endpoint]> {
    for (;;) {
      for (const side of ['alpha', 'beta'] as const) {
        if (this.endpoints[side] !== undefined) continue;
        this.setStatus(side === 'alpha' ? 'connecting-alpha' : 'connecting-beta');
        try {
          this.endpoints[side] = await this.deps.connect(side, signal);
          this.view(side).connected = true;
          this.deps.onChange();
        } catch (error) {
          if (signal.aborted || isAbortError(error)) throw error;
          this.lastError = `unable to connect to ${side}: ${errorMessage(error)}`;
          this.setStatus('disconnected');
        }
      }
      const { alpha, beta } = this.endpoints;
      if (alpha !== undefined && beta !== undefined) return [alpha, beta];
      await sleep(RECONNECT_INTERVAL_MS, signal);
    }
  }

  private view(side: Side): EndpointView {
    return side === 'alpha' ? this.alphaView : this.betaView;
  }

  private async synchronize(alpha: Endpoint, beta: Endpoint, signal: AbortSignal): Promise<void> {
    this.lastError = undefined;
    // A failed write was reported as lastError; the archive on disk is then the older ancestor,
    // which is safe to resume from (at worst it re-derives agreements).
    await this.saving.catch(() => undefined);
    this.saving = Promise.resolve();
    let ancestor = await this.deps.loadAncestor();
    this.linkPrestaging(alpha, beta, ancestor);
    let skipWait = !(this.alphaConfig.watchMode === 'no-watch' && this.betaConfig.watchMode === 'no-watch');
    let forcedByMissingFiles = false;
    for (;;) {
      const flushes = skipWait ? this.takeFlushes() : await this.waitForChange(alpha, beta, signal);
      this.runningCycle = ++this.cycleSerial;
      const outcome = await this.cycle(alpha, beta, ancestor, signal).catch((error: unknown) => {
        this.runningCycle = 0;
        for (const waiter of [...flushes, ...this.attachedFlushes.splice(0)]) this.pendingFlushes.push(waiter);
        throw error;
      });
      this.runningCycle = 0;
      ancestor = outcome.ancestor;
      this.linkPrestaging(alpha, beta, ancestor);
      this.successfulCycles += 1;
      for (const waiter of [...flushes, ...this.attachedFlushes.splice(0)]) waiter.resolve();
      // Missing staged files: run the next cycle at once, but only once in a row (§5.7).
      forcedByMissingFiles = outcome.missingStagedFiles && !forcedByMissingFiles;
      skipWait = forcedByMissingFiles;
      this.setStatus('watching');
      this.deps.onChange();
    }
  }

  /**
   * While the ancestor is empty, a side whose scan finds nothing is about to receive every file
   * of the other: sides that can (local↔local) then stage those files from the other side's
   * scan reads (Endpoint.acceptPrestaging). Only beta receives in one-way modes.
   */
  private linkPrestaging(alpha: Endpoint, beta: Endpoint, ancestor: Entry | undefined): void {
    const empty = ancestor === undefined || (ancestor.kind === 'directory' && ancestor.contents.size === 0);
    const oneWay = this.alphaConfig.mode === 'one-way-safe' || this.alphaConfig.mode === 'one-way-replica';
    beta.acceptPrestaging?.(alpha, empty);
    alpha.acceptPrestaging?.(beta, empty && !oneWay);
  }

  private takeFlushes(): FlushWaiter[] {
    return this.pendingFlushes.splice(0);
  }

  private async waitForChange(alpha: Endpoint, beta: Endpoint, signal: AbortSignal): Promise<FlushWaiter[]> {
    this.setStatus('watching');
    // The loop may have been stopped while the previous step ran: never wait on a dead signal.
    signal.throwIfAborted();
    if (this.pendingFlushes.length > 0) return this.takeFlushes();
    const controller = new AbortController();
    const abort = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    try {
      const flushRequested = new Promise<void>((resolve) => { this.wakeFlush = resolve; });
      await Promise.race([alpha.poll(controller.signal), beta.poll(controller.signal), flushRequested]);
    } finally {
      this.wakeFlush = undefined;
      signal.removeEventListener('abort', abort);
      controller.abort();
    }
    signal.throwIfAborted();
    return this.takeFlushes();
  }

  /**
   * Never `full`, not even for a flush ([ts] deviation from sync-semantics §7.5: a no-op flush of
   * a big tree must not walk it): an endpoint scans in full by itself whenever its watcher cannot
   * vouch for what it reports (not watching, failed, overflowed, polling, no-watch, no baseline).
   */
  private async scanBoth(alpha: Endpoint, beta: Endpoint, signal: AbortSignal): Promise<[Snapshot, Snapshot]> {
    const request = { full: false };
    for (let attempt = 0; ; attempt++) {
      this.setStatus('scanning');
      const [a, b] = await Promise.all([alpha.scan(request, signal), beta.scan(request, signal)]);
      if (a.kind === 'snapshot' && b.kind === 'snapshot') return [a.snapshot, b.snapshot];
      this.lastError = a.kind === 'retry' ? `alpha scan: ${a.reason}` : b.kind === 'retry' ? `beta scan: ${b.reason}` : undefined;
      this.deps.onChange();
      if (attempt >= 1) {
        this.setStatus('waiting-for-rescan');
        await sleep(RESCAN_WAIT_MS, signal);
      }
    }
  }

  private async cycle(alpha: Endpoint, beta: Endpoint, ancestor: Entry | undefined, signal: AbortSignal): Promise<{ ancestor: Entry | undefined; missingStagedFiles: boolean }> {
    const [alphaSnapshot, betaSnapshot] = await this.scanBoth(alpha, beta, signal);
    let alphaContent = alphaSnapshot.content;
    let betaContent = betaSnapshot.content;
    if (this.alphaConfig.ignoreSyntax === 'docker') ({ alpha: alphaContent, beta: betaContent } = reifyPhantoms(ancestor, alphaContent, betaContent));
    this.lastError = undefined;
    this.recordScan('alpha', alphaSnapshot, alphaContent);
    this.recordScan('beta', betaSnapshot, betaContent);
    this.setStatus('reconciling');
    if (this.alphaConfig.permissionsMode === 'portable' && alphaSnapshot.preservesExecutability !== betaSnapshot.preservesExecutability) {
      if (alphaSnapshot.preservesExecutability) betaContent = propagateExecutability(ancestor, alphaContent, betaContent);
      else alphaContent = propagateExecutability(ancestor, betaContent, alphaContent);
    }
    const emptied = checkRootEmptied(ancestor, alphaContent, betaContent);
    if (emptied !== undefined) throw new Halt(emptied);
    const result = reconcile(ancestor, alphaContent, betaContent, this.alphaConfig.mode, this.quietSubtrees);
    this.conflicts = result.conflicts;
    const rootHalt = checkRootTransitions(result.alphaChanges, result.betaChanges);
    if (rootHalt !== undefined) throw new Halt(rootHalt);
    await this.stageSide('alpha', alpha, beta, result.alphaChanges, signal);
    await this.stageSide('beta', beta, alpha, result.betaChanges, signal);
    this.setStatus('transitioning');
    const [alphaResult, betaResult] = await Promise.all([
      this.transitionSide(alpha, result.alphaChanges, signal),
      this.transitionSide(beta, result.betaChanges, signal),
    ]);
    this.setStatus('saving');
    this.alphaView.transitionProblems = [...alphaResult.problems];
    this.betaView.transitionProblems = [...betaResult.problems];
    const next = nextAncestor(ancestor, result.ancestorChanges, [
      { changes: result.alphaChanges, results: alphaResult.results },
      { changes: result.betaChanges, results: betaResult.results },
    ]);
    if (next.changed) await this.queueSave(next.ancestor);
    return { ancestor: next.ancestor, missingStagedFiles: alphaResult.missingStagedFiles || betaResult.missingStagedFiles };
  }

  /**
   * Starts writing the new ancestor without holding up the next cycle's watch and scan (encoding
   * a large tree takes a while). The encoding starts in a later turn of the event loop: the
   * flushes this cycle answers are sent first (a 20k-entry tree takes tens of milliseconds).
   * Writes stay ordered; a failed write fails the loop at the next save or reconnect, and stop()
   * waits for the last one, so reset/terminate never race it.
   */
  private async queueSave(ancestor: Entry | undefined): Promise<void> {
    const previous = this.saving;
    await previous;
    this.saving = previous.then(async () => {
      await nextTurn();
      await this.deps.saveAncestor(ancestor);
    });
    this.saving.catch((error: unknown) => {
      this.lastError = `unable to save archive: ${errorMessage(error)}`;
      this.deps.onChange();
    });
  }

  private recordScan(side: Side, snapshot: Snapshot, content: Entry | undefined): void {
    const view = this.view(side);
    view.scanned = true;
    view.snapshot = snapshot;
    view.scanProblems = collectProblems(content, '', this.problemFreeSubtrees);
  }

  private async stageSide(side: Side, receiver: Endpoint, sender: Endpoint, changes: readonly Change[], signal: AbortSignal): Promise<void> {
    const files = filesToStage(changes);
    if (files.length === 0) return;
    this.setStatus(side === 'alpha' ? 'staging-alpha' : 'staging-beta');
    const plan = await receiver.stage(files, signal);
    if (plan.paths.length === 0 || plan.receiver === undefined) return;
    this.progressTimer = setInterval(() => this.deps.onChange(), 100);
    try {
      await sender.supply({ paths: plan.paths, signatures: plan.signatures }, plan.receiver, signal);
    } finally {
      clearInterval(this.progressTimer);
      this.progressTimer = undefined;
    }
  }

  private async transitionSide(endpoint: Endpoint, changes: readonly Change[], signal: AbortSignal): Promise<TransitionResult> {
    if (changes.length === 0) return { results: [], problems: [], missingStagedFiles: false };
    return endpoint.transition(changes, signal);
  }

  private async halt(reason: HaltReason, signal: AbortSignal): Promise<void> {
    this.deps.logger.warn('session halted', { reason });
    // Status first: whoever learns of the halt through a refused flush must see it in the state.
    this.setStatus(reason);
    this.rejectFlushes(new MutagenError('MUTAGEN_SESSION_UNAVAILABLE', `session halted: ${reason}`));
    await this.shutdownEndpoints();
    this.deps.onChange();
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  private rejectFlushes(error: Error): void {
    for (const waiter of [...this.pendingFlushes.splice(0), ...this.attachedFlushes.splice(0)]) waiter.reject(error);
  }

  private async shutdownEndpoints(discard = false): Promise<void> {
    const { alpha, beta } = this.endpoints;
    this.endpoints.alpha = undefined;
    this.endpoints.beta = undefined;
    this.alphaView.reset();
    this.betaView.reset();
    const close = (endpoint: Endpoint | undefined): Promise<void> | undefined =>
      (discard && endpoint?.discard !== undefined ? endpoint.discard() : endpoint?.shutdown());
    await Promise.allSettled([close(alpha), close(beta)]);
  }
}
