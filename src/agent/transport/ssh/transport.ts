import { TransportError } from '../../../base/errors.js';
import type { Logger } from '../../../base/logger.js';
import type { Prompter } from '../../../base/prompter.js';
import type { CopyOptions, CopySource, RemoteProcess, Transport } from '../transport.js';
import { sshLinkIsLocal, type SshEndpoint } from './config.js';
import type { SshConnectionPool, SshLease } from './connection.js';
import { copyToRemote } from './copy.js';
import { commandLine, SshProcess } from './process.js';

export type { SshEndpoint } from './config.js';
export { SshConnectionPool } from './connection.js';

export interface SshConnectOptions {
  /** Whose ~/.ssh (config, keys, known_hosts). */
  readonly home: string;
  /** Present for interactive create/resume: host key, passphrase and password questions. */
  readonly prompter?: Prompter;
  readonly logger: Logger;
  readonly pool: SshConnectionPool;
  /** Default process.env (SSH_AUTH_SOCK, MUTAGEN_SSH_CONNECT_TIMEOUT, `${VAR}` in the config). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default /etc/ssh/ssh_config; null reads no system file (tests). */
  readonly systemConfigFile?: string | null;
}

/**
 * The Transport to one SSH destination over a pooled ssh2 connection (see SshConnectionPool):
 * every start() is an exec channel on the shared connection; when that connection died, the
 * next start()/copy() connects again. close() releases this transport's lease only; processes
 * already started keep running until closed.
 */
export class SshTransport implements Transport {
  readonly description: string;
  /** A loopback HostName reached directly (see sshLinkIsLocal); fixed by the first connect. */
  readonly local: boolean;
  private lease: SshLease | undefined;
  private renewing: Promise<SshLease> | undefined;
  private closed = false;

  private constructor(private readonly target: SshEndpoint, private readonly options: SshConnectOptions, lease: SshLease) {
    this.lease = lease;
    const config = lease.config;
    this.description = `${config.user}@${config.alias}${config.port === 22 ? '' : `:${config.port}`}`;
    this.local = sshLinkIsLocal(config);
  }

  /**
   * Resolves `target` against ~/.ssh/config and connects (or joins the pooled connection).
   * Errors: MUTAGEN_TRANSPORT (unreachable, timeout), MUTAGEN_HOST_KEY, MUTAGEN_AUTHENTICATION,
   * MUTAGEN_CANCELLED.
   */
  static async connect(target: SshEndpoint, options: SshConnectOptions, signal: AbortSignal): Promise<SshTransport> {
    const lease = await options.pool.acquire(target, options, signal);
    return new SshTransport(target, options, lease);
  }

  async start(argv: readonly string[], signal: AbortSignal): Promise<RemoteProcess> {
    const lease = await this.liveLease(signal);
    const channel = await lease.connection.exec(commandLine(argv), signal);
    return new SshProcess(channel, lease.connection.closed);
  }

  async copy(source: CopySource, remotePath: string, options: CopyOptions, signal: AbortSignal): Promise<void> {
    const lease = await this.liveLease(signal);
    await copyToRemote(lease.connection, source, remotePath, { ...options, logger: this.options.logger }, signal);
  }

  /** Releases this transport's lease; resolves after the connection closed if it was the last user. */
  async close(): Promise<void> {
    this.closed = true;
    const lease = this.lease;
    this.lease = undefined;
    await lease?.release();
  }

  private async liveLease(signal: AbortSignal): Promise<SshLease> {
    if (this.closed) throw new TransportError('ssh transport used after close()');
    const lease = this.lease;
    if (lease !== undefined && lease.connection.isAlive) return lease;
    this.renewing ??= (async () => {
      void lease?.release();
      this.lease = undefined;
      this.options.logger.debug('reconnecting', { to: this.description });
      return this.options.pool.acquire(this.target, this.options, signal);
    })().finally(() => { this.renewing = undefined; });
    const renewed = await this.renewing;
    if (this.closed) {
      void renewed.release();
      throw new TransportError('ssh transport used after close()');
    }
    this.lease = renewed;
    return renewed;
  }
}
