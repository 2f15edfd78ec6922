import { PassThrough } from 'node:stream';
import type { Logger } from '../../src/base/logger.js';
import type { Endpoint } from '../../src/sync/endpoint.js';
import type { RemoteConnector, RemoteEndpointRequest } from '../../src/sync/manager.js';
import { RemoteEndpoint } from '../../src/sync/remote/client.js';
import { serveSyncEndpoint } from '../../src/sync/remote/server.js';
import { Multiplexer, type Carrier } from '../../src/wire/multiplexer.js';
import { testLogger } from './engine.js';

/** An in-memory byte pipe between two carriers (node:stream duplexPair arrived after Node 20). */
export function carrierPair(): { readonly client: Carrier; readonly server: Carrier; destroy(error?: Error): void } {
  const up = new PassThrough();
  const down = new PassThrough();
  return {
    client: { readable: down, writable: up },
    server: { readable: up, writable: down },
    destroy: (error) => {
      up.destroy(error);
      down.destroy(error);
    },
  };
}

/** The agent side of one connection: serves `mux` until it ends. */
export type LoopServer = (mux: Multiplexer, signal: AbortSignal) => Promise<void>;

export interface RemoteLoopOptions {
  /** The agent's data directory (staging, caches). */
  readonly dataDirectory: string;
  /** The agent's home: `~` and relative roots resolve here. */
  readonly homeDirectory: string;
  readonly logger?: Logger;
  /** Replaces serveSyncEndpoint (e.g. a lying peer). */
  readonly server?: LoopServer;
}

/**
 * A RemoteConnector for SyncManager's `remote` option that runs the agent side in-process:
 * every connect builds a fresh pipe and two Multiplexers, starts serveSyncEndpoint (or
 * `options.server`) on one end and returns RemoteEndpoint.connect(...) on the other.
 */
export class RemoteLoop {
  /** Every connect request seen, in order. */
  readonly requests: RemoteEndpointRequest[] = [];
  private readonly pipes = new Set<ReturnType<typeof carrierPair>>();
  private readonly servers = new Set<Promise<void>>();
  private readonly stop = new AbortController();

  constructor(private readonly options: RemoteLoopOptions) {}

  readonly connector: RemoteConnector = (request, signal) => this.connect(request, signal);

  /** Agent connections currently open. */
  get open(): number {
    return this.pipes.size;
  }

  /** Cuts every open connection, as a dropped network link would. */
  kill(): void {
    for (const pipe of this.pipes) pipe.destroy(new Error('link cut by the test'));
  }

  /** Stops every agent side and waits for it to finish. */
  async close(): Promise<void> {
    this.stop.abort();
    this.kill();
    await Promise.allSettled(this.servers);
  }

  private async connect(request: RemoteEndpointRequest, signal: AbortSignal): Promise<Endpoint> {
    this.requests.push(request);
    const logger = this.options.logger ?? testLogger();
    const pipe = carrierPair();
    this.pipes.add(pipe);
    const serverMux = new Multiplexer(pipe.server, { role: 'server', logger: logger.child('agent-mux') });
    const clientMux = new Multiplexer(pipe.client, { role: 'client', logger: logger.child('daemon-mux') });
    const serve = this.options.server
      ?? ((mux: Multiplexer, stop: AbortSignal) => serveSyncEndpoint(mux, {
        dataDirectory: this.options.dataDirectory, homeDirectory: this.options.homeDirectory, logger: logger.child('agent'),
      }, stop));
    const served = serve(serverMux, this.stop.signal).finally(() => {
      this.pipes.delete(pipe);
      this.servers.delete(served);
    });
    this.servers.add(served);
    const owned = { close: () => pipe.destroy() };
    return RemoteEndpoint.connect(clientMux, {
      sessionId: request.sessionId, side: request.side, root: request.url.path,
      configuration: request.configuration, readOnly: request.readOnly,
    }, { logger: request.logger, owned }, signal);
  }
}
