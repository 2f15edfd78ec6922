import os from 'node:os';
import { MutagenError } from '../base/errors.js';
import type { Logger, LogLevel } from '../base/logger.js';
import type { EndpointUrl } from '../model/url.js';
import { createAgentConnector, createForwardConnector } from '../agent/connector.js';
import { AgentDialer } from '../agent/dial.js';
import type { SshConnectionPool } from '../agent/transport/ssh/transport.js';
import type { Transport } from '../agent/transport/transport.js';
import type { ForwardRemoteConnector } from '../forward/endpoint.js';
import type { RemoteConnector } from '../sync/manager.js';
import type { Prompter } from '../base/prompter.js';

export interface RemoteEndpoints {
  readonly connector: RemoteConnector;
  /** Forward endpoints on ssh and docker URLs (forwarder agents over the same transports and pool). */
  readonly forward: ForwardRemoteConnector;
  /** Closes pooled SSH connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * The daemon's protocol table for non-local URLs (ARCHITECTURE §4.1): ssh → SshTransport over a
 * per-daemon connection pool, docker → DockerTransport with the environment captured in the URL;
 * both dial a synchronizer agent and return a RemoteEndpoint, or a forwarder agent for forward
 * endpoints (same dialer, so probes are shared). ~/.ssh and ~/.docker are the
 * daemon's HOME (the CLI that autostarts the daemon passes its environment on).
 */
export function createRemoteEndpoints(options: {
  readonly dataDirectory: string;
  readonly logger: Logger;
  readonly logLevel: LogLevel;
  /** Whose ~/.ssh and ~/.docker to use; default os.homedir() at each connect. */
  readonly home?: string;
}): RemoteEndpoints {
  const logger = options.logger.child('remote');
  // ssh2 and dockerode load on first use: a daemon with only local sessions never pays for them.
  let pool: Promise<SshConnectionPool> | undefined;
  const sshPool = (): Promise<SshConnectionPool> => {
    pool ??= import('../agent/transport/ssh/transport.js').then(({ SshConnectionPool: Pool }) => new Pool({ logger: logger.child('ssh') }));
    return pool;
  };
  const dialer = new AgentDialer({ logger: logger.child('agent'), localDataDirectory: options.dataDirectory, agentLogLevel: options.logLevel });
  const transportFor = async (url: EndpointUrl, prompter: Prompter | undefined, signal: AbortSignal): Promise<Transport> => {
    const home = options.home ?? os.homedir();
    switch (url.protocol) {
      case 'ssh': {
        if (url.host === undefined) throw new MutagenError('MUTAGEN_INVALID_URL', 'ssh URL without a host');
        const { SshTransport } = await import('../agent/transport/ssh/transport.js');
        return SshTransport.connect(
          { host: url.host, ...(url.user === undefined ? {} : { user: url.user }), ...(url.port === undefined ? {} : { port: url.port }) },
          { home, pool: await sshPool(), logger: logger.child('ssh'), ...(prompter === undefined ? {} : { prompter }) },
          signal,
        );
      }
      case 'docker': {
        if (url.host === undefined) throw new MutagenError('MUTAGEN_INVALID_URL', 'docker URL without a container');
        const { DockerTransport } = await import('../agent/transport/docker/transport.js');
        return DockerTransport.connect(
          { container: url.host, ...(url.user === undefined ? {} : { user: url.user }), environment: url.environment ?? {} },
          { home, logger: logger.child('docker'), ...(prompter === undefined ? {} : { prompter }) },
          signal,
        );
      }
      case 'local':
        throw new MutagenError('MUTAGEN_INTERNAL', 'local URLs do not need a transport');
    }
  };
  return {
    connector: createAgentConnector({ transportFor, dialer, logger }),
    forward: createForwardConnector({ transportFor, dialer, logger: logger.child('forward') }),
    close: async () => { if (pool !== undefined) await (await pool).close(); },
  };
}
