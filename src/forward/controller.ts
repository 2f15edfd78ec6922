import type { Duplex } from 'node:stream';
import { sleep, whenAborted } from '../base/abort.js';
import { errorMessage, MutagenError, wrapError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import type { ForwardSessionRecord, ForwardSessionState, ForwardStatus } from '../model/session.js';
import type { ForwardDestination, ForwardSource } from './endpoint.js';
import { splice } from './splice.js';

/** Wait between connection attempts, and before reconnecting after two failures in a row (cli spec §8.2). */
export const DEFAULT_RETRY_DELAY_MS = 15_000;
/** Byte counters wake `list` long-polls at most this often while data flows (what `forward monitor` shows). */
export const COUNTER_REPORT_INTERVAL_MS = 250;

export interface ForwardControllerDependencies {
  /** Connects (binds) the source; the controller owns the returned endpoint and shuts it down. */
  readonly connectSource: (signal: AbortSignal) => Promise<ForwardSource>;
  readonly connectDestination: (signal: AbortSignal) => Promise<ForwardDestination>;
  readonly logger: Logger;
  /** Called on every visible state change (the manager bumps its state index). */
  readonly onChange: () => void;
  readonly retryDelayMs: number;
}

/** Live numbers of one serving period; all back to zero when serving ends (cli spec §8.2). */
class Counters {
  open = 0;
  total = 0;
  dropped = 0;
  outbound = 0;
  inbound = 0;

  reset(): void {
    this.open = 0;
    this.total = 0;
    this.dropped = 0;
    this.outbound = 0;
    this.inbound = 0;
  }
}

function ignoreError(): void {
  // Errors of a forwarded connection are the splice's business; never an uncaught 'error' event.
}

/**
 * Runs one forward session (cli spec §8.2): connect source, connect destination, then accept and
 * carry connections until either endpoint fails; then shut both down, close every connection,
 * reset the counters, record `lastError` and reconnect (at once, or after `retryDelayMs` when the
 * previous failure was more recent than that). A dial that fails with MUTAGEN_FORWARD_DIAL drops
 * that one connection and nothing else (§8.4). Not persisted: status, counters, `lastError`.
 * start() and stop() are called by one owner (the manager), never concurrently with each other.
 */
export class ForwardController {
  private status: ForwardStatus = 'disconnected';
  private lastError: string | undefined;
  private source: ForwardSource | undefined;
  private destination: ForwardDestination | undefined;
  private readonly counters = new Counters();
  private loop: { readonly controller: AbortController; readonly done: Promise<void> } | undefined;
  private stopping: Promise<void> | undefined;
  private reportTimer: NodeJS.Timeout | undefined;

  constructor(readonly record: ForwardSessionRecord, private readonly deps: ForwardControllerDependencies) {}

  get running(): boolean {
    return this.loop !== undefined;
  }

  get currentStatus(): ForwardStatus {
    return this.status;
  }

  /** Starts the loop; endpoints already connected (by create/resume) skip their first connect. */
  start(connected: { readonly source?: ForwardSource | undefined; readonly destination?: ForwardDestination | undefined } = {}): void {
    if (this.loop !== undefined) throw new MutagenError('MUTAGEN_INTERNAL', 'forward loop already running');
    this.source = connected.source;
    this.destination = connected.destination;
    if (this.source !== undefined && this.destination !== undefined) this.status = 'forwarding';
    const controller = new AbortController();
    const done = this.run(controller.signal).catch((error: unknown) => {
      this.deps.logger.error('forward loop crashed', { error: errorMessage(error) });
    });
    this.loop = { controller, done };
    this.deps.onChange();
  }

  /** Stops the loop, closes every connection and both endpoints (pause, terminate, shutdown). Idempotent. */
  stop(): Promise<void> {
    if (this.loop === undefined) return this.stopping ?? Promise.resolve();
    this.stopping ??= this.halt(this.loop);
    return this.stopping;
  }

  state(): ForwardSessionState {
    return {
      session: this.record,
      status: this.status,
      lastError: this.lastError,
      sourceConnected: this.source !== undefined,
      destinationConnected: this.destination !== undefined,
      openConnections: this.counters.open,
      totalConnections: this.counters.total,
      droppedConnections: this.counters.dropped,
      totalOutboundData: this.counters.outbound,
      totalInboundData: this.counters.inbound,
    };
  }

  private async halt(loop: { readonly controller: AbortController; readonly done: Promise<void> }): Promise<void> {
    loop.controller.abort(new MutagenError('MUTAGEN_CANCELLED', 'session stopped'));
    await loop.done;
    await this.shutdownEndpoints();
    this.clearReportTimer();
    this.counters.reset();
    this.status = 'disconnected';
    this.lastError = undefined;
    this.loop = undefined;
    this.stopping = undefined;
    this.deps.onChange();
  }

  private setStatus(status: ForwardStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.deps.onChange();
  }

  private async run(signal: AbortSignal): Promise<void> {
    let lastFailure = Number.NEGATIVE_INFINITY;
    while (!signal.aborted) {
      const endpoints = await this.connectAll(signal).catch(() => undefined);
      if (endpoints === undefined || signal.aborted) return;
      const reason = await this.serve(endpoints.source, endpoints.destination, signal);
      if (signal.aborted) return;
      this.deps.logger.warn('forwarding failed', { error: reason.message });
      await this.shutdownEndpoints();
      this.clearReportTimer();
      this.counters.reset();
      this.lastError = reason.message;
      this.status = 'disconnected';
      this.deps.onChange();
      const now = Date.now();
      const wait = now - lastFailure < this.deps.retryDelayMs;
      lastFailure = now;
      if (wait && !(await this.pause(signal))) return;
    }
  }

  /** Sleeps `retryDelayMs`; false when the loop was stopped meanwhile. */
  private async pause(signal: AbortSignal): Promise<boolean> {
    try {
      await sleep(this.deps.retryDelayMs, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Connects whatever is missing, source first; retries every `retryDelayMs`. Rejects only when stopped. */
  private async connectAll(signal: AbortSignal): Promise<{ source: ForwardSource; destination: ForwardDestination }> {
    for (;;) {
      if (this.source === undefined) {
        this.setStatus('connecting-source');
        this.source = await this.attempt('source', () => this.deps.connectSource(signal), signal);
      }
      if (this.destination === undefined) {
        this.setStatus('connecting-destination');
        this.destination = await this.attempt('destination', () => this.deps.connectDestination(signal), signal);
      }
      const { source, destination } = this;
      if (source !== undefined && destination !== undefined) return { source, destination };
      this.setStatus('disconnected');
      await sleep(this.deps.retryDelayMs, signal);
    }
  }

  private async attempt<T>(role: 'source' | 'destination', connect: () => Promise<T>, signal: AbortSignal): Promise<T | undefined> {
    try {
      const endpoint = await connect();
      this.deps.onChange();
      return endpoint;
    } catch (error) {
      signal.throwIfAborted();
      this.lastError = `unable to connect to ${role}: ${errorMessage(error)}`;
      this.deps.logger.warn(`unable to connect to ${role}`, { error: errorMessage(error) });
      this.deps.onChange();
      return undefined;
    }
  }

  /** Serves until an endpoint fails (resolves with the reason) or the loop is stopped. Closes every connection it opened. */
  private async serve(source: ForwardSource, destination: ForwardDestination, signal: AbortSignal): Promise<MutagenError> {
    this.setStatus('forwarding');
    const connections = new AbortController();
    const stopConnections = (): void => connections.abort(signal.reason);
    signal.addEventListener('abort', stopConnections, { once: true });
    const open = new Set<Promise<void>>();
    let reportFailure: (error: MutagenError) => void = () => undefined;
    const endpointFailure = new Promise<MutagenError>((resolve) => { reportFailure = resolve; });
    try {
      return await Promise.race([
        source.failure.then((error) => wrapError('source transport failure', error)),
        destination.failure.then((error) => wrapError('destination transport failure', error)),
        endpointFailure,
        this.acceptLoop(source, connections.signal, (incoming) => {
          const handled = this.handle(incoming, destination, connections.signal, reportFailure).catch((error: unknown) => {
            this.deps.logger.error('forwarded connection failed unexpectedly', { error: errorMessage(error) });
          });
          open.add(handled);
          void handled.finally(() => open.delete(handled));
        }),
        whenAborted(signal).then(() => new MutagenError('MUTAGEN_CANCELLED', 'session stopped')),
      ]);
    } finally {
      signal.removeEventListener('abort', stopConnections);
      connections.abort(new MutagenError('MUTAGEN_CANCELLED', 'forwarding stopped'));
      await Promise.allSettled([...open]);
    }
  }

  /** Accepts until accept() rejects; resolves with the reason (a transport failure, if it came first, wins the race). */
  private async acceptLoop(source: ForwardSource, signal: AbortSignal, onConnection: (incoming: Duplex) => void): Promise<MutagenError> {
    for (;;) {
      let incoming: Duplex;
      try {
        incoming = await source.accept(signal);
      } catch (error) {
        // Give a transport failure that caused this rejection the chance to be the reported reason.
        await new Promise<void>((resolve) => setImmediate(resolve));
        return wrapError('unable to accept connection', error, error instanceof MutagenError ? undefined : 'MUTAGEN_FORWARD_LISTEN');
      }
      incoming.on('error', ignoreError);
      if (signal.aborted) {
        incoming.destroy();
        continue;
      }
      onConnection(incoming);
    }
  }

  /** One accepted connection: dial, then copy both ways until both directions are done. */
  private async handle(incoming: Duplex, destination: ForwardDestination, signal: AbortSignal, reportFailure: (error: MutagenError) => void): Promise<void> {
    this.counters.total += 1;
    this.deps.onChange();
    let outgoing: Duplex;
    try {
      outgoing = await destination.dial(signal);
    } catch (error) {
      incoming.destroy();
      if (signal.aborted) return;
      if (error instanceof MutagenError && error.code === 'MUTAGEN_FORWARD_DIAL') {
        // [ts] §8.4: a target that refuses drops this one connection; the listener keeps serving.
        this.counters.dropped += 1;
        this.lastError = error.message;
        this.deps.logger.debug('connection dropped', { error: error.message });
        this.deps.onChange();
        return;
      }
      reportFailure(wrapError('unable to open forwarding connection', error));
      return;
    }
    outgoing.on('error', ignoreError);
    this.counters.open += 1;
    this.deps.onChange();
    try {
      await splice(incoming, outgoing, {
        onOutbound: (bytes) => { this.counters.outbound += bytes; this.bytesMoved(); },
        onInbound: (bytes) => { this.counters.inbound += bytes; this.bytesMoved(); },
      }, signal);
    } finally {
      this.counters.open -= 1;
      this.deps.onChange();
    }
  }

  private bytesMoved(): void {
    if (this.reportTimer !== undefined) return;
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      this.deps.onChange();
    }, COUNTER_REPORT_INTERVAL_MS);
    this.reportTimer.unref();
  }

  private clearReportTimer(): void {
    clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
  }

  private async shutdownEndpoints(): Promise<void> {
    const { source, destination } = this;
    this.source = undefined;
    this.destination = undefined;
    const results = await Promise.allSettled([source?.shutdown(), destination?.shutdown()]);
    for (const result of results) {
      if (result.status === 'rejected') this.deps.logger.warn('unable to shut down endpoint', { error: errorMessage(result.reason) });
    }
  }
}
