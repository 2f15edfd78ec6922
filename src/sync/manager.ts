import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { errorMessage, MutagenError, wrapError } from '../base/errors.js';
import { StateIndex } from '../base/state-index.js';
import type { Logger } from '../base/logger.js';
import { resolveEndpointConfiguration, type ResolvedEndpointConfiguration } from '../model/configuration.js';
import type { EndpointUrl } from '../model/url.js';
import { newIdentifier } from '../model/identifier.js';
import { selectSessions } from '../model/selection.js';
import {
  isConnectedStatus, syncSessionRecordSchema, type SessionId, type Selection, type SyncSessionRecord,
  type SyncSessionState, type SyncSpec,
} from '../model/session.js';
import { ArchiveStore } from './archive.js';
import { SessionController, type Side } from './controller.js';
import type { Endpoint } from './endpoint.js';
import { createIgnorer } from './ignore/ignorer.js';
import { LocalEndpoint } from './local/endpoint.js';
import type { FilesystemBehavior } from './local/probe.js';
import type { Prompter } from '../base/prompter.js';
import type { SyncService } from './service.js';
import { RecordStore } from '../base/record-store.js';
import { connectWorkerEndpoint } from './worker/connect.js';
import { collectGarbage } from '../base/heap.js';

export interface SyncManagerOptions {
  readonly dataDirectory: string;
  readonly logger: Logger;
  readonly version: string;
  /** Connects endpoints whose URL is not local (ssh, docker); built by the daemon's composition root. */
  readonly remote?: RemoteConnector;
  /**
   * When set, beta of a local↔local session is served from a worker thread running `entry` (the
   * agent bundle, dist/agent.mjs) over the remote protocol, so both sides scan on their own core.
   * `onWorker` sees every worker started (tests). Unset: both endpoints in-process.
   */
  readonly localInWorker?: { readonly entry: string; readonly onWorker?: (worker: Worker) => void };
}

/** What a remote connector needs to reach one side of a session. */
export interface RemoteEndpointRequest {
  readonly url: EndpointUrl;
  readonly sessionId: SessionId;
  readonly side: Side;
  readonly configuration: ResolvedEndpointConfiguration;
  /** One-way modes: alpha is read-only (sync-semantics §5.8). */
  readonly readOnly: boolean;
  /** Present when a CLI waits on this connect (create/resume): host keys, passphrases. */
  readonly prompter?: Prompter;
  readonly logger: Logger;
}

/** Resolves to a connected endpoint or rejects with a MutagenError (MUTAGEN_TRANSPORT, MUTAGEN_AGENT...). */
export type RemoteConnector = (request: RemoteEndpointRequest, signal: AbortSignal) => Promise<Endpoint>;

class Managed {
  constructor(public record: SyncSessionRecord, public controller: SessionController) {}
  get id(): string { return this.record.id; }
  get name(): string { return this.record.name; }
  get labels(): Readonly<Record<string, string>> { return this.record.labels; }
}

/**
 * Owns every sync session of the daemon: records in `sessions/`, ancestors in `archives/`,
 * scan caches in `caches/`, staging in `staging/`. Implements the daemon's SyncService.
 */
export class SyncManager implements SyncService {
  private readonly sessions = new Map<SessionId, Managed>();
  private readonly records: RecordStore<SyncSessionRecord>;
  private readonly archives: ArchiveStore;
  private readonly behaviorCache = new Map<bigint, FilesystemBehavior>();
  private readonly stateIndex = new StateIndex();
  private closed = false;

  constructor(private readonly options: SyncManagerOptions) {
    this.records = new RecordStore(path.join(options.dataDirectory, 'sessions'), syncSessionRecordSchema);
    this.archives = new ArchiveStore(path.join(options.dataDirectory, 'archives'));
  }

  /** Loads persisted sessions and starts every unpaused one. Returns load failures (reported, kept on disk). */
  async initialize(): Promise<{ file: string; error: string }[]> {
    for (const sub of ['sessions', 'archives', 'caches', 'staging']) {
      await mkdir(path.join(this.options.dataDirectory, sub), { recursive: true, mode: 0o700 });
    }
    const { records, failures } = await this.records.loadAll();
    for (const failure of failures) this.options.logger.warn('unable to load session record', failure);
    records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    for (const record of records) {
      const managed = this.add(record);
      if (!record.paused) managed.controller.start();
    }
    return failures;
  }

  async create(spec: SyncSpec, options: { readonly paused: boolean; readonly prompter?: Prompter }, signal: AbortSignal): Promise<SessionId> {
    this.assertOpen();
    validateSpec(spec);
    const record: SyncSessionRecord = {
      ...spec, id: newIdentifier('sync'), version: 1, paused: options.paused,
      createdAt: new Date().toISOString(), creatingVersion: this.options.version,
    };
    let connected: { alpha: Endpoint; beta: Endpoint } | undefined;
    if (!options.paused) {
      options.prompter?.status('Connecting to alpha...');
      const alpha = await this.connect(record, 'alpha', signal, options.prompter).catch((e: unknown) => { throw wrapError('unable to connect to alpha', e); });
      try {
        options.prompter?.status('Connecting to beta...');
        const beta = await this.connect(record, 'beta', signal, options.prompter).catch((e: unknown) => { throw wrapError('unable to connect to beta', e); });
        connected = { alpha, beta };
      } catch (error) {
        await alpha.shutdown();
        throw error;
      }
    }
    try {
      await this.archives.save(record.id, undefined);
      await this.records.save(record);
    } catch (error) {
      await Promise.allSettled([connected?.alpha.shutdown(), connected?.beta.shutdown(), this.archives.remove(record.id), this.records.remove(record.id)]);
      throw wrapError('unable to save session', error);
    }
    const managed = this.add(record);
    if (connected !== undefined) managed.controller.start(connected);
    this.changed();
    return record.id;
  }

  async list(selection: Selection, sinceIndex: number | undefined, signal: AbortSignal): Promise<{ stateIndex: number; sessions: SyncSessionState[] }> {
    // After close() nothing will change any more: answer at once instead of waiting forever.
    if (sinceIndex !== undefined && sinceIndex === this.stateIndex.current && !this.closed) await this.stateIndex.waitForChange(signal);
    const chosen = selectSessions(this.ordered(), selection, { allowNone: true });
    return { stateIndex: this.stateIndex.current, sessions: chosen.map((m) => ({ ...m.controller.state(), session: m.record })) };
  }

  async update(id: SessionId, spec: SyncSpec, signal: AbortSignal): Promise<void> {
    const managed = this.sessions.get(id);
    if (managed === undefined) throw new MutagenError('MUTAGEN_NOT_FOUND', `unable to locate requested sessions: specification "${id}" did not match any sessions`);
    validateSpec(spec);
    const wasRunning = managed.controller.running;
    await managed.controller.stop();
    const record: SyncSessionRecord = { ...managed.record, ...spec };
    await this.records.save(record);
    this.sessions.delete(id);
    const replacement = this.add(record);
    if (wasRunning) await this.startWithConnect(replacement, signal).catch(() => undefined);
    this.changed();
  }

  async flush(selection: Selection, skipWait: boolean, signal: AbortSignal): Promise<SessionId[]> {
    const chosen = this.select(selection);
    if (chosen.some((managed) => managed.record.paused)) throw new MutagenError('MUTAGEN_SESSION_PAUSED', 'session is paused');
    // Sessions cycle independently: waiting for them one after the other would add up their cycles.
    await Promise.all(chosen.map((managed) => managed.controller.flush(skipWait, signal)));
    return chosen.map((m) => m.record.id);
  }

  async pause(selection: Selection, signal: AbortSignal): Promise<SessionId[]> {
    const chosen = this.select(selection);
    for (const managed of chosen) {
      signal.throwIfAborted();
      await managed.controller.stop();
      await this.setPaused(managed, true);
    }
    return chosen.map((m) => m.record.id);
  }

  async resume(selection: Selection, options: { readonly prompter?: Prompter }, signal: AbortSignal): Promise<SessionId[]> {
    const chosen = this.select(selection);
    for (const managed of chosen) {
      if (managed.controller.running && isConnectedStatus(managed.controller.currentStatus)) continue;
      await managed.controller.stop();
      await this.setPaused(managed, false);
      await this.startWithConnect(managed, signal, options.prompter);
    }
    return chosen.map((m) => m.record.id);
  }

  async reset(selection: Selection, options: { readonly prompter?: Prompter }, signal: AbortSignal): Promise<SessionId[]> {
    const chosen = this.select(selection);
    for (const managed of chosen) {
      const wasRunning = managed.controller.running;
      await managed.controller.stop();
      await this.archives.save(managed.record.id, undefined);
      if (wasRunning) await this.startWithConnect(managed, signal, options.prompter);
    }
    return chosen.map((m) => m.record.id);
  }

  async terminate(selection: Selection, signal: AbortSignal): Promise<SessionId[]> {
    const chosen = this.select(selection);
    for (const managed of chosen) {
      signal.throwIfAborted();
      // Remote endpoints delete the session's cache and staging area on their side too.
      await managed.controller.stop({ discard: true });
      const id = managed.record.id;
      await this.records.remove(id);
      await this.archives.remove(id);
      for (const side of ['alpha', 'beta'] as const) {
        await rm(this.cacheFile(id, side), { force: true });
        // Files staged by an interrupted cycle would otherwise be orphaned for good.
        if (managed.record[side].protocol === 'local') await rm(this.stagingRootOf(managed.record, side), { recursive: true, force: true });
      }
      this.sessions.delete(id);
      this.changed();
    }
    // What the sessions held (snapshots, caches) is garbage now: collect it before the next
    // session's allocations pile onto it.
    if (chosen.length > 0) collectGarbage();
    return chosen.map((m) => m.record.id);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.sessions.values()].map((m) => m.controller.stop()));
    this.stateIndex.wakeAll();
  }

  private assertOpen(): void {
    if (this.closed) throw new MutagenError('MUTAGEN_SESSION_UNAVAILABLE', 'daemon is shutting down');
  }

  private add(record: SyncSessionRecord): Managed {
    const logger = this.options.logger.child(`sync:${record.name === '' ? record.id.slice(0, 13) : record.name}`);
    const controller = new SessionController(record, {
      connect: (side, signal) => this.connect(record, side, signal),
      loadAncestor: () => this.archives.load(record.id),
      saveAncestor: (ancestor) => this.archives.save(record.id, ancestor),
      logger,
      onChange: () => this.changed(),
    });
    const managed = new Managed(record, controller);
    this.sessions.set(record.id, managed);
    return managed;
  }

  private ordered(): Managed[] {
    return [...this.sessions.values()].sort((a, b) => a.record.createdAt.localeCompare(b.record.createdAt) || a.id.localeCompare(b.id));
  }

  private select(selection: Selection): Managed[] {
    return selectSessions(this.ordered(), selection, { allowNone: false });
  }

  private async setPaused(managed: Managed, paused: boolean): Promise<void> {
    if (managed.record.paused === paused) return;
    managed.record = { ...managed.record, paused };
    await this.records.save(managed.record);
    this.changed();
  }

  /** Connects alpha then beta, starts the loop even if one failed, then reports that failure. */
  private async startWithConnect(managed: Managed, signal: AbortSignal, prompter?: Prompter): Promise<void> {
    let failure: MutagenError | undefined;
    const connected: { alpha?: Endpoint; beta?: Endpoint } = {};
    for (const side of ['alpha', 'beta'] as const) {
      try {
        prompter?.status(`Connecting to ${side}...`);
        connected[side] = await this.connect(managed.record, side, signal, prompter);
      } catch (error) {
        failure ??= wrapError(`unable to connect to ${side}`, error);
      }
    }
    managed.controller.start(connected);
    if (failure !== undefined) throw failure;
  }

  private cacheFile(id: string, side: Side): string {
    return path.join(this.options.dataDirectory, 'caches', `${id}_${side}`);
  }

  private stagingRootOf(record: SyncSessionRecord, side: Side): string {
    const configuration = resolveEndpointConfiguration(record.configuration, side === 'alpha' ? record.configurationAlpha : record.configurationBeta);
    return this.stagingRoot(record, side, record[side].path, configuration.stageMode);
  }

  private stagingRoot(record: SyncSessionRecord, side: Side, root: string, mode: 'mutagen' | 'neighboring' | 'internal'): string {
    const name = `${record.id}-${side}`;
    if (mode === 'neighboring') return path.join(path.dirname(root), `.mutagen-temporary-staging-${name}`);
    if (mode === 'internal') return path.join(root, `.mutagen-temporary-staging-${name}`);
    return path.join(this.options.dataDirectory, 'staging', name);
  }

  private async connect(record: SyncSessionRecord, side: Side, signal: AbortSignal, prompter?: Prompter): Promise<Endpoint> {
    const url = record[side];
    const configuration = resolveEndpointConfiguration(record.configuration, side === 'alpha' ? record.configurationAlpha : record.configurationBeta);
    const oneWay = configuration.mode === 'one-way-safe' || configuration.mode === 'one-way-replica';
    const logger = this.options.logger.child(`sync:${record.id.slice(0, 13)}/${side}`);
    if (url.protocol !== 'local') {
      if (this.options.remote === undefined) {
        throw new MutagenError('MUTAGEN_UNSUPPORTED', `${url.protocol} endpoints are not available in this process`);
      }
      return await this.options.remote({
        url, sessionId: record.id, side, configuration, readOnly: side === 'alpha' && oneWay, logger,
        ...(prompter === undefined ? {} : { prompter }),
      }, signal);
    }
    const bothLocal = record.alpha.protocol === 'local' && record.beta.protocol === 'local';
    const inWorker = this.options.localInWorker;
    if (bothLocal && side === 'beta' && inWorker !== undefined) {
      return await connectWorkerEndpoint({
        entry: inWorker.entry, dataDirectory: this.options.dataDirectory, logger,
        request: { sessionId: record.id, side, root: url.path, configuration, readOnly: false },
        ...(inWorker.onWorker === undefined ? {} : { onWorker: inWorker.onWorker }),
      }, signal);
    }
    try {
      return await LocalEndpoint.connect({
        root: url.path,
        configuration,
        readOnly: side === 'alpha' && oneWay,
        stagingRoot: this.stagingRoot(record, side, url.path, configuration.stageMode),
        cacheFile: this.cacheFile(record.id, side),
        computeSignatures: !bothLocal,
        behaviorCache: this.behaviorCache,
        logger,
      }, signal);
    } catch (error) {
      throw new MutagenError(error instanceof MutagenError ? error.code : 'MUTAGEN_ENDPOINT', errorMessage(error), { cause: error });
    }
  }

  private changed(): void {
    this.stateIndex.bump();
  }
}

/** Rejects settings that could never run (invalid ignores), paused or not, before anything is saved. */
function validateSpec(spec: SyncSpec): void {
  for (const overrides of [spec.configurationAlpha, spec.configurationBeta]) {
    const c = resolveEndpointConfiguration(spec.configuration, overrides);
    createIgnorer({ syntax: c.ignoreSyntax, patterns: c.ignores, vcs: c.ignoreVcs });
  }
}
