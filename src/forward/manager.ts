import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { MutagenError, wrapError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import type { Prompter } from '../base/prompter.js';
import { StateIndex } from '../base/state-index.js';
import { newIdentifier, truncateIdentifier } from '../model/identifier.js';
import { selectSessions } from '../model/selection.js';
import {
  forwardSessionRecordSchema, type ForwardSessionRecord, type ForwardSessionState, type ForwardSpec, type SessionId, type Selection,
} from '../model/session.js';
// RecordStore is the generic atomic record store of the daemon's sessions (cli spec §10.3).
import { RecordStore } from '../base/record-store.js';
import { DEFAULT_RETRY_DELAY_MS, ForwardController } from './controller.js';
import type { ForwardDestination, ForwardRemoteConnector, ForwardRole, ForwardSource } from './endpoint.js';
import { listenLocal } from './local/listener.js';
import { localDestination } from './local/dialer.js';
import type { ForwardService } from './service.js';
import { socketOptionsOf, validateForwardSpec } from './validate.js';

export interface ForwardManagerOptions {
  readonly dataDirectory: string;
  readonly logger: Logger;
  readonly version: string;
  /** Connects ssh/docker endpoints (agent in forwarder mode); built by the daemon's composition root. */
  readonly remote?: ForwardRemoteConnector | undefined;
  /** Wait between reconnect attempts (cli spec §8.2); default 15 s, tests pass less. */
  readonly retryDelayMs?: number;
}

class Managed {
  private queue: Promise<unknown> = Promise.resolve();
  constructor(public record: ForwardSessionRecord, public controller: ForwardController) {}
  get id(): string { return this.record.id; }
  get name(): string { return this.record.name; }
  get labels(): Readonly<Record<string, string>> { return this.record.labels; }

  /** Runs `operation` after every earlier one on this session (pause, resume, update, terminate never interleave). */
  exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

interface Connected {
  source?: ForwardSource;
  destination?: ForwardDestination;
}

/**
 * Owns every forward session of the daemon: records in `forwarding/sessions/<id>.json`, one
 * ForwardController each. Implements the daemon's ForwardService; every method may be called
 * concurrently. A local source binds during create (a bind error fails the create and nothing is
 * saved); later bind failures (resume, reconnect, daemon restart) become `lastError` and retry.
 */
export class ForwardManager implements ForwardService {
  private readonly sessions = new Map<SessionId, Managed>();
  private readonly records: RecordStore<ForwardSessionRecord>;
  private readonly stateIndex = new StateIndex();
  private closed = false;

  constructor(private readonly options: ForwardManagerOptions) {
    this.records = new RecordStore(path.join(options.dataDirectory, 'forwarding', 'sessions'), forwardSessionRecordSchema);
  }

  /** Loads persisted sessions and starts every unpaused one. Returns load failures (reported, kept on disk). */
  async initialize(): Promise<{ file: string; error: string }[]> {
    await mkdir(path.join(this.options.dataDirectory, 'forwarding'), { recursive: true, mode: 0o700 });
    await this.records.initialize();
    const { records, failures } = await this.records.loadAll();
    for (const failure of failures) this.options.logger.warn('unable to load forward session record', failure);
    records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    for (const record of records) {
      const managed = this.add(record);
      if (!record.paused) managed.controller.start();
    }
    return failures;
  }

  async create(spec: ForwardSpec, options: { readonly paused: boolean; readonly prompter?: Prompter | undefined }, signal: AbortSignal): Promise<SessionId> {
    this.assertOpen();
    validateForwardSpec(spec, this.options.remote !== undefined);
    const record: ForwardSessionRecord = {
      ...spec, id: newIdentifier('fwrd'), version: 1, paused: options.paused,
      createdAt: new Date().toISOString(), creatingVersion: this.options.version,
    };
    const connected: Connected = {};
    if (!options.paused) {
      options.prompter?.status('Connecting to source...');
      connected.source = await this.connectSource(record, signal, options.prompter).catch((e: unknown) => { throw wrapError('unable to connect to source', e); });
      try {
        options.prompter?.status('Connecting to destination...');
        connected.destination = await this.connectDestination(record, signal, options.prompter).catch((e: unknown) => { throw wrapError('unable to connect to destination', e); });
      } catch (error) {
        await connected.source.shutdown();
        throw error;
      }
    }
    try {
      this.assertOpen();
      await this.records.save(record);
    } catch (error) {
      await Promise.allSettled([connected.source?.shutdown(), connected.destination?.shutdown(), this.records.remove(record.id)]);
      throw wrapError('unable to save session', error);
    }
    const managed = this.add(record);
    if (!options.paused) managed.controller.start(connected);
    this.changed();
    return record.id;
  }

  async list(selection: Selection, sinceIndex: number | undefined, signal: AbortSignal): Promise<{ stateIndex: number; sessions: ForwardSessionState[] }> {
    // After close() nothing will change any more: answer at once instead of waiting forever.
    if (sinceIndex !== undefined && sinceIndex === this.stateIndex.current && !this.closed) await this.stateIndex.waitForChange(signal);
    const chosen = selectSessions(this.ordered(), selection, { allowNone: true });
    return { stateIndex: this.stateIndex.current, sessions: chosen.map((m) => ({ ...m.controller.state(), session: m.record })) };
  }

  async update(id: SessionId, spec: ForwardSpec, signal: AbortSignal): Promise<void> {
    const managed = this.sessions.get(id);
    if (managed === undefined) throw new MutagenError('MUTAGEN_NOT_FOUND', `unable to locate requested sessions: specification "${id}" did not match any sessions`);
    validateForwardSpec(spec, this.options.remote !== undefined);
    await managed.exclusive(async () => {
      if (!this.isLive(managed)) throw new MutagenError('MUTAGEN_NOT_FOUND', `unable to update session ${id}: it was terminated`);
      const wasRunning = managed.controller.running;
      await managed.controller.stop();
      const record: ForwardSessionRecord = { ...managed.record, ...spec };
      await this.records.save(record);
      // The same Managed keeps its place in the queue; only its record and controller change.
      managed.record = record;
      managed.controller = this.controllerFor(record);
      // Connect failures of a running session are its lastError from here on, as after a restart.
      if (wasRunning && !this.closed) await this.startWithConnect(managed, signal).catch(() => undefined);
      this.changed();
    });
  }

  async pause(selection: Selection, signal: AbortSignal): Promise<SessionId[]> {
    const chosen = this.select(selection);
    for (const managed of chosen) {
      signal.throwIfAborted();
      await managed.exclusive(async () => {
        if (!this.isLive(managed)) return;
        await managed.controller.stop();
        await this.setPaused(managed, true);
      });
    }
    return chosen.map((m) => m.record.id);
  }

  async resume(selection: Selection, options: { readonly prompter?: Prompter | undefined }, signal: AbortSignal): Promise<SessionId[]> {
    this.assertOpen();
    const chosen = this.select(selection);
    for (const managed of chosen) {
      await managed.exclusive(async () => {
        if (!this.isLive(managed) || (managed.controller.running && managed.controller.currentStatus === 'forwarding')) return;
        await managed.controller.stop();
        await this.setPaused(managed, false);
        await this.startWithConnect(managed, signal, options.prompter);
      });
    }
    return chosen.map((m) => m.record.id);
  }

  async terminate(selection: Selection, signal: AbortSignal): Promise<SessionId[]> {
    const chosen = this.select(selection);
    for (const managed of chosen) {
      signal.throwIfAborted();
      await managed.exclusive(async () => {
        if (!this.isLive(managed)) return;
        // Stopping closes the listener, which removes a Unix socket file it created.
        await managed.controller.stop();
        await this.records.remove(managed.record.id);
        this.sessions.delete(managed.record.id);
        this.changed();
      });
    }
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

  private add(record: ForwardSessionRecord): Managed {
    const managed = new Managed(record, this.controllerFor(record));
    this.sessions.set(record.id, managed);
    return managed;
  }

  private controllerFor(record: ForwardSessionRecord): ForwardController {
    return new ForwardController(record, {
      connectSource: (signal) => this.connectSource(record, signal),
      connectDestination: (signal) => this.connectDestination(record, signal),
      logger: this.loggerOf(record),
      onChange: () => this.changed(),
      retryDelayMs: this.options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
    });
  }

  private loggerOf(record: ForwardSessionRecord, role?: ForwardRole): Logger {
    const scope = `forward:${record.name === '' ? truncateIdentifier(record.id) : record.name}`;
    return this.options.logger.child(role === undefined ? scope : `${scope}/${role}`);
  }

  /** False once terminated (an operation queued behind terminate finds nothing to do). */
  private isLive(managed: Managed): boolean {
    return this.sessions.get(managed.id) === managed;
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

  /** Connects source then destination, starts the loop even if one failed (it retries), then reports that failure. */
  private async startWithConnect(managed: Managed, signal: AbortSignal, prompter?: Prompter): Promise<void> {
    let failure: MutagenError | undefined;
    const connected: Connected = {};
    try {
      prompter?.status('Connecting to source...');
      connected.source = await this.connectSource(managed.record, signal, prompter);
    } catch (error) {
      failure = wrapError('unable to connect to source', error);
    }
    try {
      prompter?.status('Connecting to destination...');
      connected.destination = await this.connectDestination(managed.record, signal, prompter);
    } catch (error) {
      failure ??= wrapError('unable to connect to destination', error);
    }
    if (signal.aborted || this.closed) {
      await Promise.allSettled([connected.source?.shutdown(), connected.destination?.shutdown()]);
      signal.throwIfAborted();
      this.assertOpen();
    }
    managed.controller.start(connected);
    if (failure !== undefined) throw failure;
  }

  private async connectSource(record: ForwardSessionRecord, signal: AbortSignal, prompter?: Prompter): Promise<ForwardSource> {
    const socket = socketOptionsOf(record, 'source');
    const logger = this.loggerOf(record, 'source');
    if (record.source.protocol === 'local') return await listenLocal(record.source.path, { socket, logger }, signal);
    return await this.remote().source({ url: record.source, sessionId: record.id, socket, logger, ...(prompter === undefined ? {} : { prompter }) }, signal);
  }

  private async connectDestination(record: ForwardSessionRecord, signal: AbortSignal, prompter?: Prompter): Promise<ForwardDestination> {
    const logger = this.loggerOf(record, 'destination');
    if (record.destination.protocol === 'local') return localDestination(record.destination.path, { logger });
    const socket = socketOptionsOf(record, 'destination');
    return await this.remote().destination({ url: record.destination, sessionId: record.id, socket, logger, ...(prompter === undefined ? {} : { prompter }) }, signal);
  }

  private remote(): ForwardRemoteConnector {
    if (this.options.remote === undefined) throw new MutagenError('MUTAGEN_UNSUPPORTED', 'remote forwarding endpoints are not available in this process');
    return this.options.remote;
  }

  private changed(): void {
    this.stateIndex.bump();
  }
}
