import net from 'node:net';
import type { Duplex } from 'node:stream';
import { cancelledError } from '../../base/abort.js';
import { isAbortError, MutagenError, wrapError } from '../../base/errors.js';
import type { Logger } from '../../base/logger.js';
import { AcceptQueue } from '../../wire/accept-queue.js';
import type { ForwardSource, SocketOptions } from '../endpoint.js';
import { parseNetworkAddress } from './address.js';
import { bindTcp } from './tcp-listen.js';
import type { UnixBinding } from './unix-listen.js';
import { bindUnix } from './unix-listen.js';
import { describeSocketError } from './socket-errors.js';
import { adoptPooled } from '../../wire/pooled-reads.js';

/** Accepted connections nobody has taken yet; beyond this, new ones are closed at once. */
const MAX_QUEUED_CONNECTIONS = 4096;

/** Where a local listener ended up: the bound TCP host and port (port 0 resolved), or the socket path. */
export type BoundAddress = { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

/** A local listener: a ForwardSource that also says where it is bound. */
export interface LocalListener extends ForwardSource {
  readonly address: BoundAddress;
}

/**
 * Binds a local listener for `endpoint` (cli spec §8.3) before resolving. Errors:
 * MUTAGEN_FORWARD_LISTEN `unable to listen on <endpoint>: <reason>` with a hint (port in use,
 * privileged port, missing/unwritable directory, existing socket file with overwrite mode
 * `leave`, path too long, …); a malformed endpoint keeps MUTAGEN_INVALID_URL / MUTAGEN_UNSUPPORTED
 * and a bad owner/group/mode MUTAGEN_INVALID_CONFIGURATION (same message prefix);
 * MUTAGEN_CANCELLED when `signal` aborts (nothing stays bound). Accepted sockets are half-open
 * capable (allowHalfOpen) with Nagle off; they queue until accept() takes them and carry a
 * no-op 'error' listener, so a reset before the caller attaches its own cannot crash the process.
 */
export async function listenLocal(
  endpoint: string,
  options: { readonly socket: SocketOptions; readonly logger: Logger },
  signal: AbortSignal,
): Promise<LocalListener> {
  if (signal.aborted) throw cancelledError();
  const server = net.createServer({ allowHalfOpen: true, noDelay: true });
  try {
    const address = parseNetworkAddress(endpoint);
    let bound: BoundAddress;
    let binding: UnixBinding | undefined;
    if (address.kind === 'tcp') {
      bound = { kind: 'tcp', ...(await bindTcp(server, address, signal)) };
    } else {
      binding = await bindUnix(server, address.path, options.socket, signal);
      bound = { kind: 'unix', path: binding.path };
    }
    const listener = new LocalSourceListener(endpoint, server, bound, binding, options.logger);
    if (signal.aborted) {
      await listener.shutdown();
      throw cancelledError();
    }
    options.logger.info('listening', { endpoint, ...bound });
    return listener;
  } catch (error) {
    server.close();
    if (isAbortError(error)) throw error;
    throw wrapError(`unable to listen on ${endpoint}`, error, error instanceof MutagenError ? error.code : 'MUTAGEN_FORWARD_LISTEN');
  }
}

function ignoreError(): void {
  // Errors are for the socket's owner; see onConnection.
}

class LocalSourceListener implements LocalListener {
  readonly failure: Promise<MutagenError>;
  private readonly queue = new AcceptQueue<net.Socket>();
  /** Queued sockets → detaches the listeners they carry while queued. */
  private readonly queued = new Map<net.Socket, () => void>();
  private reportFailure: (error: MutagenError) => void = () => undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly endpoint: string,
    private readonly server: net.Server,
    readonly address: BoundAddress,
    private readonly binding: UnixBinding | undefined,
    private readonly logger: Logger,
  ) {
    this.failure = new Promise<MutagenError>((resolve) => { this.reportFailure = resolve; });
    server.on('connection', (socket: net.Socket) => this.onConnection(adoptPooled(socket, { allowHalfOpen: true })));
    server.on('error', (error: Error) => this.onError(error));
  }

  async accept(signal: AbortSignal): Promise<Duplex> {
    const socket = await this.queue.take(signal);
    this.queued.get(socket)?.();
    this.queued.delete(socket);
    return socket;
  }

  shutdown(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  private onConnection(socket: net.Socket): void {
    if (this.closing !== undefined || this.queued.size >= MAX_QUEUED_CONNECTIONS) {
      this.logger.warn('closing an incoming connection nobody accepts', { endpoint: this.endpoint, queued: this.queued.size });
      socket.destroy();
      return;
    }
    // A reset before the new owner listens for errors must not crash the process (the owner's
    // own 'error' listener still sees it); a socket closed while queued leaves the queue.
    socket.on('error', ignoreError);
    const onClose = (): void => {
      this.queue.remove(socket);
      this.queued.delete(socket);
    };
    socket.once('close', onClose);
    this.queued.set(socket, () => socket.off('close', onClose));
    this.logger.trace('accepted', { endpoint: this.endpoint });
    this.queue.push(socket);
  }

  private onError(error: Error): void {
    const failure = new MutagenError('MUTAGEN_FORWARD_LISTEN', `listener on ${this.endpoint} failed: ${describeSocketError(error)}`, { cause: error });
    this.logger.error('listener failed', { endpoint: this.endpoint, error: failure.message });
    this.queue.fail(failure);
    this.reportFailure(failure);
  }

  private async close(): Promise<void> {
    this.queue.fail(new MutagenError('MUTAGEN_CANCELLED', 'listener closed'));
    for (const socket of this.queued.keys()) socket.destroy();
    this.queued.clear();
    // Remove our socket file before the listening handle goes (nobody else's file is touched).
    await this.binding?.release();
    // Stops listening at once; connections already accepted stay open (their owners close them).
    this.server.close();
    this.logger.debug('listener closed', { endpoint: this.endpoint });
  }
}
