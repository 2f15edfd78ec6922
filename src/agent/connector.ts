import type { Disposable } from '../base/disposable.js';
import { wrapError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import type { Prompter } from '../base/prompter.js';
import type { ForwardDestination, ForwardEndpointRequest, ForwardRemoteConnector, ForwardSource } from '../forward/endpoint.js';
import { connectRemoteDestination, connectRemoteSource, type RemoteForwardOptions, type RemoteForwardRequest } from '../forward/remote/client.js';
import { defaultCompression, type CompressionAlgorithm } from '../model/configuration.js';
import type { EndpointUrl } from '../model/url.js';
import type { Endpoint } from '../sync/endpoint.js';
import type { RemoteConnector, RemoteEndpointRequest } from '../sync/manager.js';
import { RemoteEndpoint } from '../sync/remote/client.js';
import type { Compression } from '../wire/handshake.js';
import type { Multiplexer } from '../wire/multiplexer.js';
import type { AgentDialer, DialOptions } from './dial.js';
import type { Transport } from './transport/transport.js';

export interface AgentConnectorOptions {
  /** A transport for the URL's host or container; the connector closes it with the endpoint. */
  transportFor(url: EndpointUrl, prompter: Prompter | undefined, signal: AbortSignal): Promise<Transport>;
  readonly dialer: AgentDialer;
  readonly logger: Logger;
}

/** What one endpoint connection through an agent needs. */
interface AgentTarget {
  readonly url: EndpointUrl;
  readonly prompter: Prompter | undefined;
  readonly logger: Logger;
  readonly mode: DialOptions['mode'];
  /** The configured algorithm; undefined = not configured (pick by link, see wireCompression). */
  readonly compression: CompressionAlgorithm | undefined;
  /** Log fields saying whose endpoint this is. */
  readonly fields: Readonly<Record<string, string>>;
  /** `unable to start the <what> on <remote>` when the endpoint fails to start. */
  readonly what: string;
}

/** The endpoint's view of its agent: the multiplexer, what to close with it, the stderr tail. */
interface AgentLink {
  readonly mux: Multiplexer;
  readonly owned: Disposable;
  readonly diagnostics: () => string;
}

/**
 * The compression to ask the agent for: the configured algorithm when there is one (zstandard,
 * which only licensed builds have, falls back to deflate), else defaultCompression(link is local).
 */
export function wireCompression(configured: CompressionAlgorithm | undefined, localLink: boolean): Compression {
  if (configured === undefined) return defaultCompression(localLink);
  return configured === 'none' ? 'none' : 'deflate';
}

/**
 * transport → agent (dial) → `start(link)`. The endpoint `start` returns owns the agent
 * connection and the transport (`link.owned` closes both); when anything fails, everything
 * opened so far is closed. Status lines go to the prompter ("Connecting to agent...").
 */
async function connectThroughAgent<T>(options: AgentConnectorOptions, target: AgentTarget, start: (link: AgentLink, status: ((message: string) => void) | undefined) => Promise<T>, signal: AbortSignal): Promise<T> {
  const prompter = target.prompter;
  const status = prompter === undefined ? undefined : (message: string): void => prompter.status(message);
  const transport = await options.transportFor(target.url, prompter, signal);
  const local = transport.local === true;
  const compression = wireCompression(target.compression, local);
  options.logger.debug('dialing agent', { remote: transport.description, mode: target.mode, local, compression, ...target.fields });
  let connection;
  try {
    connection = await options.dialer.dial(transport, {
      mode: target.mode,
      logger: target.logger,
      compression,
      ...(status === undefined ? {} : { onStatus: status }),
    }, signal);
  } catch (error) {
    await transport.close();
    throw error;
  }
  const agent = connection;
  const owned: Disposable = {
    close: async (): Promise<void> => {
      await agent.close();
      await transport.close();
    },
  };
  try {
    return await start({ mux: agent.mux, owned, diagnostics: () => agent.process.stderr() }, status);
  } catch (error) {
    await owned.close();
    throw wrapError(`unable to start the ${target.what} on ${transport.description}`, error);
  }
}

/**
 * The SyncManager's RemoteConnector for ssh and docker URLs: transport → synchronizer agent →
 * RemoteEndpoint on its multiplexer. The endpoint owns the agent connection and the transport
 * (its shutdown closes both); on failure everything opened so far is closed.
 */
export function createAgentConnector(options: AgentConnectorOptions): RemoteConnector {
  return (request: RemoteEndpointRequest, signal: AbortSignal): Promise<Endpoint> => connectThroughAgent(options, {
    url: request.url,
    prompter: request.prompter,
    logger: request.logger,
    mode: 'synchronizer',
    compression: request.configuration.compression,
    fields: { session: request.sessionId, side: request.side },
    what: 'endpoint',
  }, (link, status) => {
    status?.('Connecting to endpoint...');
    return RemoteEndpoint.connect(link.mux, {
      sessionId: request.sessionId,
      side: request.side,
      root: request.url.path,
      configuration: request.configuration,
      readOnly: request.readOnly,
    }, { logger: request.logger, owned: link.owned, diagnostics: link.diagnostics }, signal);
  }, signal);
}

/**
 * The ForwardManager's connector for ssh and docker forward URLs: transport → forwarder agent
 * (no wire compression: forwarded bytes are usually compressed or tiny) → the agent's listener
 * (source: bound before this resolves) or dialer (destination). The endpoint owns the agent
 * connection and the transport; on failure everything opened so far is closed.
 */
export function createForwardConnector(options: AgentConnectorOptions): ForwardRemoteConnector {
  const connect = <T>(
    role: 'source' | 'destination',
    request: ForwardEndpointRequest,
    open: (mux: Multiplexer, forward: RemoteForwardRequest, forwardOptions: RemoteForwardOptions, signal: AbortSignal) => Promise<T>,
    signal: AbortSignal,
  ): Promise<T> => connectThroughAgent(options, {
    url: request.url,
    prompter: request.prompter,
    logger: request.logger,
    mode: 'forwarder',
    compression: 'none',
    fields: { session: request.sessionId, role },
    what: `forwarding ${role}`,
  }, (link, status) => {
    status?.(role === 'source' ? 'Starting remote listener...' : 'Starting remote dialer...');
    return open(link.mux, { endpoint: request.url.path, socket: request.socket }, { logger: request.logger, owned: link.owned, diagnostics: link.diagnostics }, signal);
  }, signal);
  return {
    source: (request, signal): Promise<ForwardSource> => connect('source', request, connectRemoteSource, signal),
    destination: (request, signal): Promise<ForwardDestination> => connect('destination', request, connectRemoteDestination, signal),
  };
}
