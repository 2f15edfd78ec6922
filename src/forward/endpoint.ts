import type { Duplex } from 'node:stream';
import type { MutagenError } from '../base/errors.js';
import type { Prompter } from '../base/prompter.js';
import type { Logger } from '../base/logger.js';
import type { SessionId } from '../model/session.js';
import type { EndpointUrl } from '../model/url.js';

/**
 * How a Unix-domain-socket listener treats its socket file (cli spec §5.2, §8.3). Resolved from
 * the session's `socket` settings ⊕ the endpoint's overrides; TCP listeners ignore it.
 */
export interface SocketOptions {
  /** `leave` (default): an existing path is a bind error; `overwrite`: remove that one entry and bind again. */
  readonly overwriteMode: 'leave' | 'overwrite';
  /** Owner/group specs (`name`, `id:N`, or a bare number) applied after binding; unset = leave as created. */
  readonly owner?: string;
  readonly group?: string;
  /** Mode bits applied to the socket file after binding; default 0o600. */
  readonly permissionMode: number;
}

/**
 * The listening side of a forward session (cli spec §8.1): a local listener, or an agent's
 * listener on a remote. Bound before the endpoint is returned (bind errors reject the connect).
 */
export interface ForwardSource {
  /** The next accepted connection. Rejects with the listener's failure, or MUTAGEN_CANCELLED when `signal` aborts. */
  accept(signal: AbortSignal): Promise<Duplex>;
  /** Resolves (never rejects) with the reason once the endpoint cannot accept any more: listener error, transport lost. */
  readonly failure: Promise<MutagenError>;
  /** Closes the listener (a Unix socket file is removed) and the transport. Idempotent; accepted connections stay open. */
  shutdown(): Promise<void>;
}

/** The dialled side of a forward session: one new connection to the target per accepted connection. */
export interface ForwardDestination {
  /**
   * A connected stream to the target. Rejects with MUTAGEN_FORWARD_DIAL when the target cannot be
   * reached (refused, unreachable, no such socket): that drops one connection, never the session.
   * Any other code means the endpoint itself failed (then `failure` resolves too).
   */
  dial(signal: AbortSignal): Promise<Duplex>;
  readonly failure: Promise<MutagenError>;
  shutdown(): Promise<void>;
}

export type ForwardRole = 'source' | 'destination';

/** What connecting one side of a forward session needs. */
export interface ForwardEndpointRequest {
  /** `url.path` is the network endpoint (`tcp:127.0.0.1:8080`, `unix:/run/x.sock`, remote `unix:~/x.sock`). */
  readonly url: EndpointUrl;
  readonly sessionId: SessionId;
  readonly socket: SocketOptions;
  /** Present when a CLI waits on this connect (create/resume): host keys, passphrases, progress. */
  readonly prompter?: Prompter;
  readonly logger: Logger;
}

/**
 * Connects non-local forward endpoints (ssh, docker): transport → agent in forwarder mode →
 * remote listener or dialer. Built by the daemon's composition root (src/daemon/remote.ts); the
 * returned endpoint owns the agent connection and transport (shutdown closes both).
 */
export interface ForwardRemoteConnector {
  source(request: ForwardEndpointRequest, signal: AbortSignal): Promise<ForwardSource>;
  destination(request: ForwardEndpointRequest, signal: AbortSignal): Promise<ForwardDestination>;
}
