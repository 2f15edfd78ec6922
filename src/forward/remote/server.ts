import type { Duplex } from 'node:stream';
import { anySignal, whenAborted } from '../../base/abort.js';
import { errorMessage, isMutagenError, MutagenError, ProtocolError } from '../../base/errors.js';
import type { Logger } from '../../base/logger.js';
import { Channel } from '../../wire/channel.js';
import type { Multiplexer, WireStream } from '../../wire/multiplexer.js';
import { toWireError } from '../../wire/wire-error.js';
import type { ForwardDestination, ForwardSource } from '../endpoint.js';
import { localDestination } from '../local/dialer.js';
import { listenLocal } from '../local/listener.js';
import { splice } from '../splice.js';
import { ConnectionSlots } from './slots.js';
import { DIAL_STATUS_OK, FAILED_EVENT, FORWARD_CHANNEL_STREAM_ID, parseInitialize, resolveRemoteEndpoint, type InitializeParams } from './messages.js';

export interface ForwardServerOptions {
  /** The remote home: `unix:~/x` and relative socket paths resolve against it. */
  readonly homeDirectory: string;
  readonly logger: Logger;
  /** Accepted connections carried at once (source role); more wait in the listen backlog. Default 2048. */
  readonly maxConnections?: number;
}

/** How long the agent waits for the daemon to open the forwarder channel. */
const CHANNEL_WAIT_MS = 60_000;
const DEFAULT_MAX_CONNECTIONS = 2048;

/**
 * Agent side of a forwarding endpoint (agent `forwarder` mode): accepts stream 1 as the Channel,
 * serves one `initialize` (a listener for the source role, a dialer for the destination role)
 * and carries connections over streams of `mux` until the channel or the multiplexer ends or
 * `signal` aborts; then closes the listener, every carried connection and the multiplexer
 * before resolving. Never throws for daemon misbehaviour: it replies with an error, resets the
 * stream or closes.
 */
export async function serveForwardEndpoint(mux: Multiplexer, options: ForwardServerOptions, signal: AbortSignal): Promise<void> {
  const server = new ForwardServer(mux, options);
  try {
    await server.run(signal);
  } finally {
    await server.close();
  }
}

class ForwardServer {
  private readonly stop = new AbortController();
  private readonly connections = new Set<Promise<void>>();
  private readonly slots: ConnectionSlots;
  private channel: Channel | undefined;
  private initializing = false;
  private source: ForwardSource | undefined;
  private destination: ForwardDestination | undefined;

  constructor(private readonly mux: Multiplexer, private readonly options: ForwardServerOptions) {
    this.slots = new ConnectionSlots(options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
  }

  async run(signal: AbortSignal): Promise<void> {
    const stop = anySignal([signal, this.stop.signal]);
    let stream: WireStream;
    try {
      stream = await this.mux.accept(anySignal([stop, AbortSignal.timeout(CHANNEL_WAIT_MS)]));
    } catch (error) {
      this.options.logger.debug('no forwarder channel', { error: errorMessage(error) });
      return;
    }
    if (stream.id !== FORWARD_CHANNEL_STREAM_ID) {
      const error = new ProtocolError(`the daemon opened stream ${stream.id} before the forwarder channel`);
      this.options.logger.warn('closing the connection', { error: error.message });
      await this.mux.close(error);
      return;
    }
    const channel = new Channel(stream, {
      handler: (method, params, requestSignal) => this.handle(method, params, requestSignal),
      logger: this.options.logger.child('channel'),
    });
    this.channel = channel;
    void this.acceptStreams(stop);
    const ended = await Promise.race([channel.closed, this.mux.closed, whenAborted(stop).then(() => undefined)]);
    if (ended !== undefined) this.options.logger.debug('forwarder connection ended', { error: ended.message });
  }

  /** Idempotent: closes the listener, aborts every carried connection, ends the channel and the multiplexer. */
  async close(): Promise<void> {
    this.stop.abort(new MutagenError('MUTAGEN_CANCELLED', 'forwarder stopped'));
    await this.closeListener();
    await Promise.allSettled([...this.connections]);
    await this.channel?.close().catch(() => undefined);
    await this.mux.close().catch(() => undefined);
  }

  private async closeListener(): Promise<void> {
    await this.source?.shutdown().catch((error: unknown) => this.options.logger.warn('error closing the listener', { error: errorMessage(error) }));
    await this.destination?.shutdown().catch(() => undefined);
  }

  private async handle(method: string, params: unknown, signal: AbortSignal): Promise<unknown> {
    switch (method) {
      case 'initialize':
        return this.initialize(params, signal);
      case 'shutdown':
        await this.closeListener();
        return null;
      default:
        throw new MutagenError('MUTAGEN_UNSUPPORTED', `unknown forwarder method "${method}"`);
    }
  }

  /** One at a time and once: a request that fails (bad parameters, bind error) may be retried. */
  private async initialize(params: unknown, signal: AbortSignal): Promise<null> {
    if (this.initializing) throw new ProtocolError('the forwarding endpoint is already initialized');
    this.initializing = true;
    try {
      await this.start(parseInitialize(params), signal);
      return null;
    } catch (error) {
      this.initializing = false;
      throw error;
    }
  }

  private async start(request: InitializeParams, signal: AbortSignal): Promise<void> {
    const endpoint = resolveRemoteEndpoint(request.endpoint, this.options.homeDirectory);
    const logger = this.options.logger.child(request.role);
    if (request.role === 'destination') {
      this.destination = localDestination(endpoint, { logger });
      logger.debug('dialing for the daemon', { endpoint });
      return;
    }
    const source = await listenLocal(endpoint, { socket: request.socket, logger }, anySignal([signal, this.stop.signal]));
    if (this.stop.signal.aborted) {
      await source.shutdown();
      throw new MutagenError('MUTAGEN_CANCELLED', 'forwarder stopped');
    }
    this.source = source;
    logger.debug('listening for the daemon', { endpoint });
    void this.acceptConnections(source, this.stop.signal);
  }

  /** Streams the daemon opens after stream 1: one per dial in the destination role, none otherwise. */
  private async acceptStreams(signal: AbortSignal): Promise<void> {
    try {
      for (;;) {
        const stream = await this.mux.accept(signal);
        const destination = this.destination;
        if (destination === undefined) {
          stream.destroy(new ProtocolError(`unexpected stream ${stream.id} from the daemon (not a destination endpoint)`));
          continue;
        }
        this.track(this.dialFor(stream, destination, signal));
      }
    } catch {
      // The connection ended or the server stopped.
    }
  }

  /** Source role: one stream to the daemon per accepted connection, at most `maxConnections` at once. */
  private async acceptConnections(source: ForwardSource, signal: AbortSignal): Promise<void> {
    try {
      for (;;) {
        await this.slots.acquire(signal);
        let connection: Duplex;
        try {
          connection = await source.accept(signal);
        } catch (error) {
          this.slots.release();
          throw error;
        }
        this.carry(connection, signal);
      }
    } catch (error) {
      if (signal.aborted || (isMutagenError(error) && error.code === 'MUTAGEN_CANCELLED')) return;
      this.options.logger.warn('remote listener failed', { error: errorMessage(error) });
      this.channel?.event(FAILED_EVENT, toWireError(error));
    }
  }

  private carry(connection: Duplex, signal: AbortSignal): void {
    let stream: WireStream;
    try {
      stream = this.mux.open();
    } catch {
      this.slots.release();
      connection.destroy();
      return;
    }
    this.track(splice(connection, stream, {}, signal).finally(() => this.slots.release()));
  }

  /** Destination role: dial, then the status byte and the splice; or reset the stream with the dial error. */
  private async dialFor(stream: WireStream, destination: ForwardDestination, signal: AbortSignal): Promise<void> {
    const abandoned = new AbortController();
    const onClose = (): void => abandoned.abort(new MutagenError('MUTAGEN_CANCELLED', 'dial abandoned by the daemon'));
    stream.once('close', onClose);
    let connection: Duplex;
    try {
      connection = await destination.dial(anySignal([signal, abandoned.signal]));
    } catch (error) {
      stream.destroy(dialError(error));
      return;
    } finally {
      stream.off('close', onClose);
    }
    if (stream.destroyed) {
      connection.destroy();
      return;
    }
    stream.write(Buffer.of(DIAL_STATUS_OK));
    await splice(stream, connection, {}, signal);
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => this.options.logger.debug('connection failed', { error: errorMessage(error) }));
    this.connections.add(tracked);
    void tracked.finally(() => this.connections.delete(tracked));
  }
}

/** What the daemon's dial() rejects with: known errors as they are, anything else as a dial failure. */
function dialError(error: unknown): MutagenError {
  if (isMutagenError(error)) return error;
  return new MutagenError('MUTAGEN_FORWARD_DIAL', `unable to dial: ${errorMessage(error)}`, { cause: error });
}
