import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { cancelledError } from '../../base/abort.js';
import { errnoCode, MutagenError } from '../../base/errors.js';
import type { Logger } from '../../base/logger.js';
import type { ForwardDestination } from '../endpoint.js';
import type { NetworkAddress } from './address.js';
import { parseNetworkAddress } from './address.js';
import { describeSocketError, unixPathLengthProblem } from './socket-errors.js';
import { connectPooled } from '../../wire/pooled-reads.js';

/**
 * The dialled side of a forward session for a local target (cli spec §8.1, §8.4). The endpoint
 * is parsed at once (MUTAGEN_INVALID_URL / MUTAGEN_UNSUPPORTED are thrown here). Each dial()
 * opens one new connection (allowHalfOpen, Nagle off) and resolves on 'connect'; any connect
 * failure rejects with MUTAGEN_FORWARD_DIAL `unable to connect to <endpoint>: <reason>` (one
 * dropped connection, never an endpoint failure: `failure` never resolves). Abort or shutdown
 * destroys a pending connect and rejects with MUTAGEN_CANCELLED. A connected socket carries a
 * no-op 'error' listener; the caller's own listener still sees errors.
 */
export function localDestination(endpoint: string, options: { readonly logger: Logger }): ForwardDestination {
  return new LocalDialer(endpoint, parseNetworkAddress(endpoint), options.logger);
}

function connectOptions(address: NetworkAddress): net.NetConnectOpts {
  if (address.kind === 'unix') return { path: address.path, allowHalfOpen: true };
  // An empty host dials this machine (as Go does): the loopback address of the family.
  const host = address.host !== '' ? address.host : address.family === 6 ? '::1' : '127.0.0.1';
  return { host, port: address.port, allowHalfOpen: true, noDelay: true, ...(address.family === 0 ? {} : { family: address.family }) };
}

const HINTS: Readonly<Record<string, (endpoint: string) => string>> = {
  ECONNREFUSED: (endpoint) => `Nothing accepts connections at ${endpoint}; start the target service or check the address.`,
  ENOENT: (endpoint) => `No socket exists at ${endpoint}; start the target service or check the path.`,
  EACCES: () => 'The socket file\'s permissions do not allow this user to connect.',
  ENOTFOUND: () => 'Check the host name, or use an IP address.',
};

/** Node's happy-eyeballs connect reports an AggregateError; its first attempt names the errno. */
function firstCause(error: unknown): unknown {
  if (error instanceof AggregateError && error.errors.length > 0 && errnoCode(error) === undefined) return error.errors[0] as unknown;
  return error;
}

function dialError(endpoint: string, error: unknown): MutagenError {
  const cause = firstCause(error);
  const code = errnoCode(cause);
  const hint = code === undefined ? undefined : HINTS[code]?.(endpoint);
  return new MutagenError('MUTAGEN_FORWARD_DIAL', `unable to connect to ${endpoint}: ${describeSocketError(cause)}`, {
    cause: error,
    ...(hint === undefined ? {} : { hint }),
  });
}

class LocalDialer implements ForwardDestination {
  /** A local target cannot fail as a whole; each failed dial is its own error. */
  readonly failure = new Promise<MutagenError>(() => undefined);
  private readonly pending = new Set<net.Socket>();
  private closed = false;

  constructor(
    private readonly endpoint: string,
    private readonly address: NetworkAddress,
    private readonly logger: Logger,
  ) {}

  dial(signal: AbortSignal): Promise<Duplex> {
    if (this.closed) return Promise.reject(new MutagenError('MUTAGEN_CANCELLED', 'destination shut down'));
    if (signal.aborted) return Promise.reject(cancelledError());
    if (this.address.kind === 'unix') {
      const tooLong = unixPathLengthProblem(this.address.path);
      if (tooLong !== undefined) {
        return Promise.reject(new MutagenError('MUTAGEN_FORWARD_DIAL', `unable to connect to ${this.endpoint}: ${tooLong.problem}`, { hint: tooLong.hint }));
      }
    }
    return this.connect(signal);
  }

  shutdown(): Promise<void> {
    this.closed = true;
    for (const socket of this.pending) socket.destroy(new MutagenError('MUTAGEN_CANCELLED', 'destination shut down'));
    this.pending.clear();
    return Promise.resolve();
  }

  private connect(signal: AbortSignal): Promise<Duplex> {
    return new Promise<Duplex>((resolve, reject) => {
      const socket = connectPooled(connectOptions(this.address));
      this.pending.add(socket);
      const cleanup = (): void => {
        this.pending.delete(socket);
        socket.off('connect', onConnect);
        socket.off('error', onError);
        signal.removeEventListener('abort', onAbort);
      };
      const onConnect = (): void => {
        cleanup();
        // Until the caller listens for errors, a reset must not crash the process.
        socket.on('error', () => undefined);
        this.logger.trace('connected', { endpoint: this.endpoint });
        resolve(socket);
      };
      const onError = (error: Error): void => {
        cleanup();
        socket.destroy();
        if (error instanceof MutagenError && error.code === 'MUTAGEN_CANCELLED') {
          reject(error);
          return;
        }
        const failure = dialError(this.endpoint, error);
        this.logger.debug('dial failed', { endpoint: this.endpoint, error: failure.message });
        reject(failure);
      };
      const onAbort = (): void => {
        cleanup();
        socket.destroy();
        reject(cancelledError());
      };
      socket.once('connect', onConnect);
      socket.once('error', onError);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
