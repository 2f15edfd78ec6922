import { cancelledError, raceAbort } from '../../../base/abort.js';
import { MutagenError, TransportError } from '../../../base/errors.js';
import type { Logger } from '../../../base/logger.js';
import type { Prompter } from '../../../base/prompter.js';
import { resolveSshConfig, type SshEndpoint, type SshHostConfig } from './config.js';
import { connectSsh, type SshConnection, type SshRoute } from './connect.js';

/** What a connection is resolved and authenticated with. */
export interface SshAcquireOptions {
  /** Whose ~/.ssh (config, keys, known_hosts). */
  readonly home: string;
  /** Asks for host keys, passphrases, passwords; absent = non-interactive. */
  readonly prompter?: Prompter;
  readonly logger: Logger;
  /** Default process.env (SSH_AUTH_SOCK, MUTAGEN_SSH_CONNECT_TIMEOUT). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default /etc/ssh/ssh_config; null = none (tests). */
  readonly systemConfigFile?: string | null;
}

/**
 * A counted reference to a pooled connection. release() is idempotent; it resolves once the
 * connection is closed when this was its last lease (at once otherwise).
 */
export class SshLease {
  private released: Promise<void> | undefined;
  constructor(readonly connection: SshConnection, readonly config: SshHostConfig, private readonly onRelease: () => Promise<void>) {}

  release(): Promise<void> {
    this.released ??= this.onRelease();
    return this.released;
  }
}

interface Entry {
  readonly key: string;
  refs: number;
  readonly controller: AbortController;
  readonly connecting: Promise<SshConnection>;
  connection: SshConnection | undefined;
}

/** ProxyJump chains deeper than this are taken as a configuration loop. */
const MAX_JUMP_DEPTH = 8;

/**
 * One SSH connection per resolved destination (user, host name, port, route), shared by every
 * lease on it. A connection closes when its last lease is released; a connection that died
 * (keepalive timeout, reset) leaves the pool at once, so the next acquire() reconnects.
 * Concurrent acquires of one destination wait for the same handshake; it is cancelled only if
 * every waiter gave up.
 */
export class SshConnectionPool {
  private readonly entries = new Map<string, Entry>();
  private readonly logger: Logger;
  private closing: Promise<void> | undefined;
  private opened = 0;

  constructor(options: { readonly logger: Logger }) {
    this.logger = options.logger.child('ssh');
  }

  /** Live pooled connections (jump hosts included). */
  get openConnections(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.connection?.isAlive === true) count++;
    return count;
  }

  /** Connections established since the pool was created. */
  get connectionsOpened(): number {
    return this.opened;
  }

  /**
   * Resolves `target` with the ssh config of `options.home` and leases a connection to it.
   * Errors: see connectSsh(); MUTAGEN_TRANSPORT after close().
   */
  acquire(target: SshEndpoint, options: SshAcquireOptions, signal: AbortSignal): Promise<SshLease> {
    return this.acquireWith(target, options, undefined, signal, 0);
  }

  /** Idempotent: cancels pending handshakes and closes every connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const entries = [...this.entries.values()];
      this.entries.clear();
      for (const entry of entries) entry.controller.abort(cancelledError());
      await Promise.all(entries.map(async (entry) => {
        const connection = await entry.connecting.catch(() => undefined);
        await connection?.close();
      }));
    })();
    return this.closing;
  }

  private async acquireWith(target: SshEndpoint, options: SshAcquireOptions, jumpOverride: readonly SshEndpoint[] | undefined, signal: AbortSignal, depth: number): Promise<SshLease> {
    if (this.closing !== undefined) throw new TransportError('unable to connect: the ssh connection pool is closed');
    signal.throwIfAborted();
    const config = await resolveSshConfig(target, {
      home: options.home,
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.systemConfigFile === undefined ? {} : { systemConfigFile: options.systemConfigFile }),
      ...(jumpOverride === undefined ? {} : { proxyJumpOverride: jumpOverride }),
    });
    const key = poolKey(config);
    let entry = this.entries.get(key);
    if (entry?.connection !== undefined && !entry.connection.isAlive) {
      this.entries.delete(key);
      entry = undefined;
    }
    entry ??= this.createEntry(key, config, options, depth);
    entry.refs++;
    const current = entry;
    let connection: SshConnection;
    try {
      connection = await raceAbort(current.connecting, signal);
    } catch (error) {
      void this.release(current);
      throw signal.aborted ? cancelledError() : error;
    }
    return new SshLease(connection, config, () => this.release(current));
  }

  private createEntry(key: string, config: SshHostConfig, options: SshAcquireOptions, depth: number): Entry {
    const controller = new AbortController();
    const entry: Entry = {
      key, refs: 0, controller, connection: undefined,
      connecting: this.open(config, options, controller.signal, depth, () => this.forget(entry)).then((connection) => {
        entry.connection = connection;
        this.opened++;
        this.logger.debug('connected', { to: connection.description, key });
        return connection;
      }, (error: unknown) => {
        this.forget(entry);
        throw error;
      }),
    };
    // Waiters observe the rejection through raceAbort; this keeps it from being "unhandled".
    entry.connecting.catch(() => undefined);
    this.entries.set(key, entry);
    return entry;
  }

  private async open(config: SshHostConfig, options: SshAcquireOptions, signal: AbortSignal, depth: number, onClose: () => void): Promise<SshConnection> {
    let jump: SshLease | undefined;
    let route: SshRoute = { kind: 'direct' };
    if (config.proxyCommand !== undefined) {
      route = { kind: 'command', command: config.proxyCommand };
    } else if (config.proxyJump.length > 0) {
      if (depth >= MAX_JUMP_DEPTH) {
        throw new MutagenError('MUTAGEN_TRANSPORT', `unable to connect to ${config.alias}: ProxyJump chain too long (a loop in ~/.ssh/config?)`);
      }
      const last = config.proxyJump[config.proxyJump.length - 1];
      const rest = config.proxyJump.slice(0, -1);
      if (last === undefined) throw new MutagenError('MUTAGEN_INTERNAL', 'empty jump list');
      jump = await this.acquireWith(last, options, rest.length > 0 ? rest : undefined, signal, depth + 1);
      route = { kind: 'jump', via: jump.connection, description: jump.connection.description };
    }
    const lease = jump;
    try {
      return await connectSsh(config, {
        ...(options.prompter === undefined ? {} : { prompter: options.prompter }),
        logger: this.logger,
        route,
        onClose: () => {
          onClose();
          void lease?.release();
        },
      }, signal);
    } catch (error) {
      void lease?.release();
      throw error;
    }
  }

  private async release(entry: Entry): Promise<void> {
    entry.refs--;
    if (entry.refs > 0) return;
    this.forget(entry);
    if (entry.connection === undefined) entry.controller.abort(cancelledError());
    else await entry.connection.close();
  }

  private forget(entry: Entry): void {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
  }
}

/** Destination identity: who, where, and how it is reached. */
function poolKey(config: SshHostConfig): string {
  const base = `${config.user}@${config.hostname}:${config.port}`;
  if (config.proxyCommand !== undefined) return `${base} command ${config.proxyCommand}`;
  if (config.proxyJump.length > 0) {
    return `${base} via ${config.proxyJump.map((jump) => `${jump.user ?? ''}@${jump.host}:${jump.port ?? ''}`).join(',')}`;
  }
  return base;
}
