import { anySignal, cancelledError, Tripwire } from '../../base/abort.js';
import { errorMessage, isMutagenError, MutagenError, ProtocolError, TransportError, wrapError } from '../../base/errors.js';
import type { Disposable } from '../../base/disposable.js';
import type { Logger } from '../../base/logger.js';
import { Channel } from '../../wire/channel.js';
import type { Multiplexer } from '../../wire/multiplexer.js';
import { parseWireError } from '../../wire/wire-error.js';
import type { ForwardRole } from '../endpoint.js';
import { encodeInitialize, FAILED_EVENT, FORWARD_CHANNEL_STREAM_ID, type InitializeParams } from './messages.js';

export interface AgentForwardConnectionOptions {
  readonly logger: Logger;
  readonly owned?: Disposable;
  readonly diagnostics?: () => string;
}

/** How long shutdown() lets the agent close its listener (removing a socket file) before the carrier ends. */
const SHUTDOWN_GRACE_MS = 5_000;

function shutDownError(): MutagenError {
  return new MutagenError('MUTAGEN_CANCELLED', 'forwarding endpoint shut down');
}

/**
 * The daemon's end of one forwarder agent connection: the Channel on stream 1, failure
 * tracking and teardown shared by the remote source and destination. Everything from the agent
 * is validated; a violation fails the connection with MUTAGEN_PROTOCOL. Owns `mux` and
 * `options.owned`: both are closed on shutdown() or failure. `failure` resolves once, with the
 * failure, or with MUTAGEN_CANCELLED after shutdown().
 */
export class AgentForwardConnection {
  readonly failure: Promise<MutagenError>;
  /** Trips once, with the failure: raced against every pending operation. */
  readonly lost = new Tripwire();
  private resolveFailure: (error: MutagenError) => void = () => undefined;
  private failed: MutagenError | undefined;
  private closing: Promise<void> | undefined;
  private released: Promise<void> | undefined;
  private readonly stop = new AbortController();
  private readonly channel: Channel;

  constructor(readonly mux: Multiplexer, private readonly role: ForwardRole, private readonly options: AgentForwardConnectionOptions) {
    this.failure = new Promise((resolve) => { this.resolveFailure = resolve; });
    const stream = mux.open();
    if (stream.id !== FORWARD_CHANNEL_STREAM_ID) throw new MutagenError('MUTAGEN_INTERNAL', `forwarder channel opened as stream ${stream.id}`);
    this.channel = new Channel(stream, { onEvent: (name, data) => this.onEvent(name, data), logger: options.logger.child('channel') });
    void mux.closed.then((error) => this.connectionEnded(error));
    void this.channel.closed.then((error) => this.connectionEnded(error));
    if (role === 'destination') void this.refuseAgentStreams();
  }

  /** Aborted by shutdown() and by a failure. */
  get stopSignal(): AbortSignal {
    return this.stop.signal;
  }

  get currentFailure(): MutagenError | undefined {
    return this.failed;
  }

  /** Rejects with the agent's error as `remote initialization failure: …` (its code kept), the connection failure, or MUTAGEN_CANCELLED. */
  async initialize(params: InitializeParams, signal: AbortSignal): Promise<void> {
    let value: unknown;
    try {
      value = await this.lost.race(this.channel.request('initialize', encodeInitialize(params), anySignal([signal, this.stop.signal])));
    } catch (error) {
      if (signal.aborted) throw cancelledError();
      const translated = await this.translate(error);
      if (translated !== error || !isMutagenError(error)) throw translated;
      throw wrapError('remote initialization failure', error);
    }
    if (value !== null) throw this.violation(new ProtocolError('invalid initialize result from agent: expected null'));
  }

  assertUsable(): void {
    if (this.failed !== undefined) throw this.failed;
    if (this.closing !== undefined) throw shutDownError();
  }

  /**
   * The connection failure, or MUTAGEN_CANCELLED after shutdown(), if that is why an operation
   * failed; else `error`. The channel and the streams fail just before the multiplexer reports
   * its end, so a failure gets one turn to be noticed.
   */
  async translate(error: unknown): Promise<unknown> {
    if (this.failed === undefined && this.closing === undefined) await new Promise((resolve) => setImmediate(resolve));
    if (this.failed !== undefined) return this.failed;
    return this.closing === undefined ? error : shutDownError();
  }

  /** Fails the connection with `error` (a misbehaving agent) and returns the failure to throw. */
  violation(error: MutagenError): MutagenError {
    this.fail(error);
    return this.failed ?? error;
  }

  fail(error: MutagenError): void {
    if (this.failed !== undefined || this.closing !== undefined) return;
    this.failed = error;
    this.options.logger.debug('remote forwarding endpoint failed', { error: error.message });
    this.resolveFailure(error);
    this.lost.trip(error);
    this.stop.abort(error);
    void this.release();
  }

  /** Idempotent. Asks the agent to close its listener (briefly), then closes the channel, the multiplexer and what is owned. */
  shutdown(): Promise<void> {
    this.closing ??= (async () => {
      const failed = this.failed !== undefined;
      this.stop.abort(shutDownError());
      if (!failed) {
        await this.lost.race(this.channel.request('shutdown', null, AbortSignal.timeout(SHUTDOWN_GRACE_MS))).catch(() => undefined);
        this.resolveFailure(shutDownError());
      }
      await this.release();
    })();
    return this.closing;
  }

  private onEvent(name: string, data: unknown): void {
    if (name !== FAILED_EVENT || this.role !== 'source') {
      this.violation(new ProtocolError(`unexpected event "${name}" from agent`));
      return;
    }
    const wire = parseWireError(data);
    if (wire === undefined) {
      this.violation(new ProtocolError('invalid listener failure event from agent'));
      return;
    }
    this.fail(new MutagenError(wire.code, `remote listener failure: ${wire.message}`, wire.hint === undefined ? {} : { hint: wire.hint }));
  }

  /** A destination's agent never opens streams: one that does is lying. */
  private async refuseAgentStreams(): Promise<void> {
    let stream;
    try {
      stream = await this.mux.accept(this.stop.signal);
    } catch {
      return; // the connection ended or was shut down
    }
    const error = new ProtocolError(`unexpected stream ${stream.id} from agent (destination endpoint)`);
    stream.destroy(error);
    this.violation(error);
  }

  private connectionEnded(cause: MutagenError | undefined): void {
    if (this.closing !== undefined || this.failed !== undefined) return;
    const output = this.options.diagnostics?.().trim() ?? '';
    const quoted = output === '' ? '' : ` (agent error output: ${output.slice(-1024)})`;
    const reason = cause === undefined ? 'connection closed' : errorMessage(cause);
    const message = `connection to agent lost: ${reason}${quoted}`;
    // A multiplexer that closed on a malformed frame says so: the agent broke the protocol.
    this.fail(cause?.code === 'MUTAGEN_PROTOCOL' ? new ProtocolError(message, { cause }) : new TransportError(message, { cause }));
  }

  /** Closes in order: the channel, the multiplexer (flushing), then what the connection owns. */
  private release(): Promise<void> {
    this.released ??= (async () => {
      const steps = [() => this.channel.close(), () => this.mux.close(this.failed), () => this.options.owned?.close()];
      for (const step of steps) {
        try {
          await step();
        } catch (error) {
          this.options.logger.debug('error while closing the remote forwarding endpoint', { error: errorMessage(error) });
        }
      }
    })();
    return this.released;
  }
}
