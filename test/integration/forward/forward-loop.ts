import type { ForwardDestination, ForwardEndpointRequest, ForwardRemoteConnector, ForwardSource } from '../../../src/forward/endpoint.js';
import { connectRemoteDestination, connectRemoteSource } from '../../../src/forward/remote/client.js';
import { serveForwardEndpoint } from '../../../src/forward/remote/server.js';
import { Multiplexer } from '../../../src/wire/multiplexer.js';
import { testLogger } from '../../helpers/engine.js';
import { carrierPair } from '../../helpers/remote-loop.js';

/**
 * A ForwardRemoteConnector whose "agent" runs in-process: every connect builds a fresh pipe and
 * two Multiplexers, serves serveForwardEndpoint on one end and connects the daemon side on the
 * other. kill() cuts every link, as a dropped network connection would.
 */
export class ForwardLoop implements ForwardRemoteConnector {
  readonly requests: ForwardEndpointRequest[] = [];
  private readonly pipes = new Set<ReturnType<typeof carrierPair>>();
  private readonly servers = new Set<Promise<void>>();
  private readonly stop = new AbortController();

  constructor(private readonly homeDirectory: string) {}

  get open(): number {
    return this.pipes.size;
  }

  kill(): void {
    for (const pipe of this.pipes) pipe.destroy(new Error('link cut by the test'));
  }

  async close(): Promise<void> {
    this.stop.abort();
    this.kill();
    await Promise.allSettled(this.servers);
  }

  source(request: ForwardEndpointRequest, signal: AbortSignal): Promise<ForwardSource> {
    const { mux, owned } = this.link(request);
    return connectRemoteSource(mux, { endpoint: request.url.path, socket: request.socket }, { logger: request.logger, owned }, signal);
  }

  destination(request: ForwardEndpointRequest, signal: AbortSignal): Promise<ForwardDestination> {
    const { mux, owned } = this.link(request);
    return connectRemoteDestination(mux, { endpoint: request.url.path, socket: request.socket }, { logger: request.logger, owned }, signal);
  }

  private link(request: ForwardEndpointRequest): { mux: Multiplexer; owned: { close(): Promise<void> } } {
    this.requests.push(request);
    const logger = testLogger();
    const pipe = carrierPair();
    this.pipes.add(pipe);
    const agentMux = new Multiplexer(pipe.server, { role: 'server', logger: logger.child('agent-mux') });
    const mux = new Multiplexer(pipe.client, { role: 'client', logger: logger.child('daemon-mux') });
    const served = serveForwardEndpoint(agentMux, { homeDirectory: this.homeDirectory, logger: logger.child('agent') }, this.stop.signal).finally(() => {
      this.pipes.delete(pipe);
      this.servers.delete(served);
    });
    this.servers.add(served);
    return { mux, owned: { close: () => { pipe.destroy(); return Promise.resolve(); } } };
  }
}
