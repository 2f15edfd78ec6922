import type { Duplex } from 'node:stream';
import { withLinkedSignal } from '../../base/abort.js';
import { isMutagenError, ProtocolError, wrapError, type MutagenError } from '../../base/errors.js';
import type { Disposable } from '../../base/disposable.js';
import type { Logger } from '../../base/logger.js';
import type { Multiplexer } from '../../wire/multiplexer.js';
import type { ForwardDestination, ForwardRole, ForwardSource, SocketOptions } from '../endpoint.js';
import { readStatusByte } from './dial-status.js';
import { AgentForwardConnection } from './connection.js';

export interface RemoteForwardRequest {
  /** The network endpoint as written in the URL (`tcp:127.0.0.1:80`, `unix:~/x.sock`); resolved by the agent. */
  readonly endpoint: string;
  /** Applies to a remote Unix-socket listener (source role). */
  readonly socket: SocketOptions;
}

export interface RemoteForwardOptions {
  readonly logger: Logger;
  /** Closed with the endpoint (the agent process, the transport). */
  readonly owned?: Disposable;
  /** What the agent said lately (its stderr tail), quoted when the connection is lost. */
  readonly diagnostics?: () => string;
}

/**
 * The daemon's side of an agent-served listener (source role): sends `initialize` (the agent binds
 * before answering: a bind failure rejects with `remote initialization failure: …` and its code,
 * e.g. MUTAGEN_FORWARD_LISTEN), then accept() hands out the streams the agent opens, one per
 * connection it accepted. Takes ownership of `mux` and `options.owned` at once: both are closed
 * when connecting fails or is cancelled, on shutdown(), and when the connection fails.
 */
export async function connectRemoteSource(mux: Multiplexer, request: RemoteForwardRequest, options: RemoteForwardOptions, signal: AbortSignal): Promise<ForwardSource> {
  const connection = await connect(mux, 'source', request, options, signal);
  return new RemoteSource(connection);
}

/**
 * The daemon's side of an agent-side dialer (destination role): `initialize` validates the
 * address on the agent; every dial() opens one stream, on which the agent dials the target and
 * answers with one status byte (then the target's bytes) or resets the stream with the dial
 * error. Ownership as for connectRemoteSource.
 */
export async function connectRemoteDestination(mux: Multiplexer, request: RemoteForwardRequest, options: RemoteForwardOptions, signal: AbortSignal): Promise<ForwardDestination> {
  const connection = await connect(mux, 'destination', request, options, signal);
  return new RemoteDestination(connection);
}

async function connect(mux: Multiplexer, role: ForwardRole, request: RemoteForwardRequest, options: RemoteForwardOptions, signal: AbortSignal): Promise<AgentForwardConnection> {
  let connection: AgentForwardConnection;
  try {
    connection = new AgentForwardConnection(mux, role, options);
  } catch (error) {
    await Promise.allSettled([mux.close(), options.owned?.close()]);
    throw error;
  }
  try {
    await connection.initialize({ role, endpoint: request.endpoint, socket: request.socket }, signal);
    options.logger.debug('remote forwarding endpoint ready', { role, endpoint: request.endpoint });
    return connection;
  } catch (error) {
    await connection.shutdown();
    throw error;
  }
}

/** Source role: the agent's accepted connections, as streams it opened. */
class RemoteSource implements ForwardSource {
  constructor(private readonly connection: AgentForwardConnection) {}

  get failure(): Promise<MutagenError> {
    return this.connection.failure;
  }

  async accept(signal: AbortSignal): Promise<Duplex> {
    const connection = this.connection;
    connection.assertUsable();
    try {
      return await withLinkedSignal([signal, connection.stopSignal], (stop) => connection.lost.race(connection.mux.accept(stop)));
    } catch (error) {
      throw await connection.translate(error);
    }
  }

  shutdown(): Promise<void> {
    return this.connection.shutdown();
  }
}

/** Destination role: one stream per dial, usable once the agent's status byte arrived. */
class RemoteDestination implements ForwardDestination {
  constructor(private readonly connection: AgentForwardConnection) {}

  get failure(): Promise<MutagenError> {
    return this.connection.failure;
  }

  async dial(signal: AbortSignal): Promise<Duplex> {
    const connection = this.connection;
    connection.assertUsable();
    let stream: Duplex;
    try {
      stream = connection.mux.open();
    } catch (error) {
      throw await connection.translate(error);
    }
    let status: number | 'end';
    try {
      status = await withLinkedSignal([signal, connection.stopSignal], (stop) => connection.lost.race(readStatusByte(stream, stop)));
    } catch (error) {
      stream.destroy();
      throw await this.dialFailure(error);
    }
    if (status === 0) return stream;
    stream.destroy();
    const what = status === 'end' ? 'the stream ended before it' : `byte 0x${status.toString(16).padStart(2, '0')}`;
    throw connection.violation(new ProtocolError(`invalid dial status from agent: ${what}`));
  }

  shutdown(): Promise<void> {
    return this.connection.shutdown();
  }

  /**
   * The agent's dial error (MUTAGEN_FORWARD_DIAL) drops one connection. The connection's own
   * failure, or cancellation, are passed on. Any other error the agent sent means its endpoint
   * is broken: the whole connection fails with it.
   */
  private async dialFailure(error: unknown): Promise<unknown> {
    const translated = await this.connection.translate(error);
    if (translated !== error || !isMutagenError(error)) return translated;
    if (error.code === 'MUTAGEN_FORWARD_DIAL' || error.code === 'MUTAGEN_CANCELLED') return error;
    this.connection.fail(wrapError('remote dial failure', error));
    return this.connection.currentFailure ?? error;
  }
}
