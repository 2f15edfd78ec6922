import { linkSignals, Tripwire, withLinkedSignal } from '../../base/abort.js';
import { errorMessage, MutagenError } from '../../base/errors.js';
import type { Disposable } from '../../base/disposable.js';
import type { Logger } from '../../base/logger.js';
import type { ResolvedEndpointConfiguration } from '../../model/configuration.js';
import type { Change, Entry } from '../../model/entry.js';
import type { StagingProgress } from '../../model/session.js';
import { Channel } from '../../wire/channel.js';
import { MessageReader } from '../../wire/messages.js';
import type { Multiplexer } from '../../wire/multiplexer.js';
import type { DeltaReceiver, Endpoint, ScanResult, StagePlan, StageRequest, SupplyRequest, TransitionResult } from '../endpoint.js';
import { DIGEST_LENGTHS } from '../local/hasher.js';
import { InvalidMessage, protocolError } from './entry-codec.js';
import {
  CHANNEL_STREAM_ID, encodeConnect, encodeStage, encodeSupply, encodeTransition, parseConnectResult, parseScanResult,
  parseStageResult, parseStagingProgress, parseTransitionResult,
} from './messages.js';
import { ProxyReceiver, TRANSFER_MESSAGE_LIMIT, TRANSFER_WINDOW } from './proxy-receiver.js';
import { ReadAhead } from './read-ahead.js';
import { deriveBaseline, receiveSnapshot, type BaselineAdvance, type HeldSnapshot } from './snapshot-delta.js';
import { deliverTransmissions, TransmissionChecker, unbatch } from './transmission.js';

export interface RemoteConnectRequest {
  readonly sessionId: string;
  readonly side: 'alpha' | 'beta';
  /** As written in the URL: absolute, `~`, `~/x` or home-relative; resolved by the agent. */
  readonly root: string;
  readonly configuration: ResolvedEndpointConfiguration;
  readonly readOnly: boolean;
}

export interface RemoteEndpointOptions {
  readonly logger: Logger;
  /** Closed with the endpoint (e.g. the agent process). */
  readonly owned?: Disposable;
  /** What the agent said lately (its stderr tail), quoted when the connection is lost. */
  readonly diagnostics?: () => string;
}

/** How long shutdown() waits for the agent to shut its endpoint down (it saves its scan cache). */
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * An Endpoint served by an agent (serveSyncEndpoint) over a multiplexed connection: stream 1
 * is the request Channel, every transfer gets a stream of its own. Everything from the agent is
 * validated; a malformed message is a MUTAGEN_PROTOCOL error and ends the connection. Owns the
 * multiplexer and `owned`: both are closed on shutdown() or when the connection fails, after
 * which every pending and later call rejects with MUTAGEN_TRANSPORT `connection to agent lost`.
 * Calls are sequential (Endpoint contract); shutdown() may come at any time and makes a pending
 * call reject promptly with MUTAGEN_CANCELLED.
 */
export class RemoteEndpoint implements Endpoint {
  private readonly channel: Channel;
  private readonly digestLength: number;
  private held: HeldSnapshot | undefined;
  private progress: StagingProgress | undefined;
  private failure: MutagenError | undefined;
  /** Trips, with the failure, when the connection is lost or violated: what pending operations race against. */
  private readonly lost = new Tripwire();
  private closing: Promise<void> | undefined;
  private released: Promise<void> | undefined;
  private readonly shutdownController = new AbortController();

  private constructor(private readonly mux: Multiplexer, request: RemoteConnectRequest, private readonly options: RemoteEndpointOptions) {
    this.digestLength = DIGEST_LENGTHS[request.configuration.hash];
    const stream = mux.open();
    if (stream.id !== CHANNEL_STREAM_ID) throw new MutagenError('MUTAGEN_INTERNAL', `endpoint channel opened as stream ${stream.id}`);
    this.channel = new Channel(stream, { onEvent: (name, data) => this.onEvent(name, data), logger: options.logger.child('channel') });
    void mux.closed.then((error) => this.connectionEnded(error));
    void this.channel.closed.then((error) => this.connectionEnded(error));
    void this.refuseAgentStreams();
  }

  /**
   * Opens the endpoint Channel on an already handshaken multiplexer and asks the agent to
   * connect its local endpoint. Takes ownership of `mux` and `options.owned` at once: they are
   * closed if connecting fails or is cancelled.
   */
  static async connect(mux: Multiplexer, request: RemoteConnectRequest, options: RemoteEndpointOptions, signal: AbortSignal): Promise<RemoteEndpoint> {
    let endpoint: RemoteEndpoint;
    try {
      endpoint = new RemoteEndpoint(mux, request, options);
    } catch (error) {
      await Promise.allSettled([mux.close(), options.owned?.close()]);
      throw error;
    }
    try {
      const { root } = await endpoint.call('connect', encodeConnect(request), signal, parseConnectResult, 'connect result');
      options.logger.debug('connected to remote endpoint', { root });
      return endpoint;
    } catch (error) {
      await endpoint.shutdown();
      throw error;
    }
  }

  async poll(signal: AbortSignal): Promise<void> {
    await this.call('poll', null, signal, () => undefined, 'poll result');
  }

  async scan(request: { readonly full: boolean }, signal: AbortSignal): Promise<ScanResult> {
    const have = this.held?.sequence ?? null;
    const result = await this.call('scan', { full: request.full, have }, signal, parseScanResult, 'scan result');
    if (result.kind === 'retry') return result;
    let held = this.check('snapshot', () => receiveSnapshot(result.snapshot, this.held, this.digestLength));
    if (held === undefined) {
      // Our copy and the agent's disagree (a lost reply, or a bug): start over from a full snapshot.
      this.options.logger.debug('snapshot delta did not apply; asking for a full snapshot');
      const full = await this.call('resend-snapshot', null, signal, (v) => v, 'snapshot');
      held = this.check('snapshot', () => receiveSnapshot(full, undefined, this.digestLength));
      if (held === undefined) throw this.violation('snapshot', new InvalidMessage('entry count does not match the tree'));
    }
    this.held = held;
    return { kind: 'snapshot', snapshot: held.snapshot };
  }

  async stage(files: readonly StageRequest[], signal: AbortSignal): Promise<StagePlan> {
    this.progress = undefined;
    const plan = await this.call('stage', encodeStage(files), signal, (v) => parseStageResult(v, files), 'stage result');
    if (plan.paths.length === 0) return { paths: [], signatures: [], receiver: undefined };
    const receiver = new ProxyReceiver({
      open: () => this.mux.open(),
      request: (stream) => this.call('receive', { stream }, this.shutdownController.signal, () => undefined, 'receive result'),
      lost: this.lost,
      translate: (error) => this.translate(error),
      onFinish: () => { this.progress = undefined; },
    });
    return { paths: plan.paths, signatures: plan.signatures, receiver };
  }

  async supply(request: SupplyRequest, receiver: DeltaReceiver, signal: AbortSignal): Promise<void> {
    this.assertUsable();
    const stop = linkSignals([signal, this.shutdownController.signal]);
    const stream = this.mux.open();
    stream.tuneReceiveWindow(TRANSFER_WINDOW);
    const result = this.call('supply', encodeSupply(stream.id, request.paths, request.signatures), signal, () => undefined, 'supply result');
    // Only a failure of the request interrupts reading; its success may overtake the data.
    const requestFailed = new Tripwire();
    requestFailed.tripOnRejection(result);
    const messages = new ReadAhead(new MessageReader(stream, { maxMessageSize: TRANSFER_MESSAGE_LIMIT }), stop.signal);
    const checker = new TransmissionChecker(request.signatures);
    try {
      for (;;) {
        const value = await this.lost.race(requestFailed.race(messages.next()));
        if (value === undefined) break;
        await deliverTransmissions(this.check('transmission', () => unbatch(value)), (item) => this.check('transmission', () => checker.check(item)), receiver);
      }
      if (!checker.complete) throw this.violation('transmission', new InvalidMessage('transfer ended before the last path'));
      stream.end(); // both halves closed: the multiplexer forgets the stream
      await result;
      await receiver.finish();
    } catch (error) {
      messages.close();
      stream.destroy();
      throw await this.translate(error);
    } finally {
      stop.close();
    }
  }

  async transition(changes: readonly Change[], signal: AbortSignal): Promise<TransitionResult> {
    this.progress = undefined;
    const { baseline, ...result } = await this.call('transition', encodeTransition(changes), signal, (v) => parseTransitionResult(v, changes, this.digestLength), 'transition result');
    this.advanceHeld(changes, result.results, baseline);
    return result;
  }

  /**
   * The tree we hold, with what the transition left at each changed path, as the base of the
   * next snapshot delta: what the agent did (SnapshotSender.advance, `baseline`) when it
   * derived it from the sequence we hold. Otherwise, or when our derivation fails, the next
   * scan names a sequence the agent no longer has and gets a full snapshot.
   */
  private advanceHeld(changes: readonly Change[], results: readonly (Entry | undefined)[], baseline: BaselineAdvance | undefined): void {
    const held = this.held;
    if (held === undefined || baseline === undefined || baseline.from !== held.sequence) return;
    const derived = deriveBaseline(held.snapshot.content, held.nodes, changes, results);
    if (derived === undefined) return;
    this.held = { sequence: baseline.sequence, snapshot: { ...held.snapshot, content: derived.content }, nodes: derived.nodes };
  }

  /** Asks the agent's endpoint (a side request, answered while another call runs); false on any failure. */
  async quietSinceScan(signal: AbortSignal): Promise<boolean> {
    if (this.failure !== undefined || this.closing !== undefined) return false;
    try {
      return await this.call('quiet', null, signal, parseQuiet, 'quiet result');
    } catch {
      return false;
    }
  }

  stagingProgress(): StagingProgress | undefined {
    return this.progress;
  }

  shutdown(): Promise<void> {
    return this.close('shutdown');
  }

  /** The agent shuts its endpoint down and deletes the session's cache and staging area. */
  discard(): Promise<void> {
    return this.close('discard');
  }

  private close(method: 'shutdown' | 'discard'): Promise<void> {
    this.closing ??= (async () => {
      this.shutdownController.abort(new MutagenError('MUTAGEN_CANCELLED', 'endpoint shut down'));
      if (this.failure === undefined) {
        // Let the agent shut its endpoint down (persisting or deleting its scan cache) before the carrier ends.
        await this.lost.race(this.channel.request(method, null, AbortSignal.timeout(SHUTDOWN_GRACE_MS))).catch(() => undefined);
      }
      await this.release();
    })();
    return this.closing;
  }

  /** The agent never opens streams; any it does is refused at once (it would hold buffer credit). */
  private async refuseAgentStreams(): Promise<void> {
    try {
      for (;;) (await this.mux.accept(this.shutdownController.signal)).destroy(new MutagenError('MUTAGEN_PROTOCOL', 'unexpected stream from agent'));
    } catch {
      // The connection ended or the endpoint shut down.
    }
  }

  /** One request: rejects with the connection failure if there is one, parses the result. */
  private async call<T>(method: string, params: unknown, signal: AbortSignal, parse: (value: unknown) => T, what: string): Promise<T> {
    this.assertUsable();
    let value: unknown;
    try {
      value = await withLinkedSignal([signal, this.shutdownController.signal], (stop) => this.lost.race(this.channel.request(method, params, stop)));
    } catch (error) {
      throw await this.translate(error);
    }
    return this.check(what, () => parse(value));
  }

  private check<T>(what: string, parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      throw this.violation(what, error);
    }
  }

  private assertUsable(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closing !== undefined) throw new MutagenError('MUTAGEN_CANCELLED', 'endpoint shut down');
  }

  /**
   * The connection failure, if that is why a call failed. The channel rejects its pending
   * requests just before it reports its end, so a failure gets one turn to be noticed.
   */
  private async translate(error: unknown): Promise<unknown> {
    if (this.failure === undefined && this.closing === undefined) await new Promise((resolve) => setImmediate(resolve));
    return this.failure ?? error;
  }

  /** A malformed message: report it and drop the connection. */
  private violation(what: string, error: unknown): MutagenError {
    const failure = error instanceof InvalidMessage ? protocolError(what, 'agent', error) : error instanceof MutagenError ? error : protocolError(what, 'agent', error);
    this.fail(failure);
    return this.failure ?? failure;
  }

  private onEvent(name: string, data: unknown): void {
    if (name !== 'staging-progress') return;
    try {
      this.progress = parseStagingProgress(data);
    } catch (error) {
      this.violation('staging progress', error);
    }
  }

  private connectionEnded(cause: MutagenError | undefined): void {
    if (this.closing !== undefined || this.failure !== undefined) return;
    const output = this.options.diagnostics?.().trim() ?? '';
    const quoted = output === '' ? '' : ` (agent error output: ${output.slice(-1024)})`;
    this.fail(new MutagenError('MUTAGEN_TRANSPORT', `connection to agent lost: ${cause === undefined ? 'connection closed' : errorMessage(cause)}${quoted}`, { cause }));
  }

  private fail(failure: MutagenError): void {
    if (this.failure !== undefined) return;
    this.failure = failure;
    this.options.logger.debug('remote endpoint failed', { error: failure.message });
    this.lost.trip(failure);
    this.shutdownController.abort(failure);
    void this.release();
  }

  /** Closes in order: the channel, the multiplexer (flushing), then what the endpoint owns. */
  private release(): Promise<void> {
    this.released ??= (async () => {
      const steps = [() => this.channel.close(), () => this.mux.close(this.failure), () => this.options.owned?.close()];
      for (const step of steps) {
        try {
          await step();
        } catch (error) {
          this.options.logger.debug('error while closing the remote endpoint', { error: errorMessage(error) });
        }
      }
    })();
    return this.released;
  }
}

function parseQuiet(value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidMessage('expected true or false');
  return value;
}
