import { wrapError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import type { EndpointUrl } from '../model/url.js';
import type { Endpoint } from '../sync/endpoint.js';
import type { RemoteConnector, RemoteEndpointRequest } from '../sync/manager.js';
import { RemoteEndpoint } from '../sync/remote/client.js';
import type { Prompter } from '../base/prompter.js';
import type { AgentDialer } from './dial.js';
import type { Transport } from './transport/transport.js';

export interface AgentConnectorOptions {
  /** A transport for the URL's host or container; the connector closes it with the endpoint. */
  transportFor(url: EndpointUrl, prompter: Prompter | undefined, signal: AbortSignal): Promise<Transport>;
  readonly dialer: AgentDialer;
  readonly logger: Logger;
}

/**
 * The SyncManager's RemoteConnector for ssh and docker URLs: transport → synchronizer agent →
 * RemoteEndpoint on its multiplexer. The endpoint owns the agent connection and the transport
 * (its shutdown closes both); on failure everything opened so far is closed.
 */
export function createAgentConnector(options: AgentConnectorOptions): RemoteConnector {
  return async (request: RemoteEndpointRequest, signal: AbortSignal): Promise<Endpoint> => {
    const logger = request.logger;
    const status = request.prompter === undefined ? undefined : (message: string): void => request.prompter?.status(message);
    const transport = await options.transportFor(request.url, request.prompter, signal);
    options.logger.debug('dialing agent', { remote: transport.description, session: request.sessionId, side: request.side });
    let connection;
    try {
      connection = await options.dialer.dial(transport, {
        mode: 'synchronizer',
        logger,
        compression: request.configuration.compression === 'none' ? 'none' : 'deflate',
        ...(status === undefined ? {} : { onStatus: status }),
      }, signal);
    } catch (error) {
      await transport.close();
      throw error;
    }
    const owned = connection;
    const resources = {
      close: async (): Promise<void> => {
        await owned.close();
        await transport.close();
      },
    };
    try {
      status?.('Connecting to endpoint...');
      return await RemoteEndpoint.connect(connection.mux, {
        sessionId: request.sessionId,
        side: request.side,
        root: request.url.path,
        configuration: request.configuration,
        readOnly: request.readOnly,
      }, { logger, owned: resources, diagnostics: () => owned.process.stderr() }, signal);
    } catch (error) {
      await resources.close();
      throw wrapError(`unable to start the endpoint on ${transport.description}`, error);
    }
  };
}
