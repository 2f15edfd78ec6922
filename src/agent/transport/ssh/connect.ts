import ssh2, { type ClientChannel, type SFTPWrapper } from 'ssh2';
import { cancelledError } from '../../../base/abort.js';
import { errorMessage, MutagenError, TransportError } from '../../../base/errors.js';
import type { Logger } from '../../../base/logger.js';
import type { Prompter } from '../../../base/prompter.js';
import { prepareAuth, type Ask } from './auth.js';
import type { SshHostConfig } from './config.js';
import { createHostKeyCheck, preferredHostKeyAlgorithms } from './host-verify.js';
import { connectTcp, spawnProxyCommand, type SshSocket } from './socket.js';

const { Client } = ssh2;

/** How to reach the server: directly, through a proxy command, or through a jump connection. */
export type SshRoute =
  | { readonly kind: 'direct' }
  | { readonly kind: 'command'; readonly command: string }
  | { readonly kind: 'jump'; readonly via: SshConnection; readonly description: string };

export interface ConnectSshOptions {
  readonly prompter?: Prompter;
  readonly logger: Logger;
  readonly route: SshRoute;
  /** Called once when the connection is gone (for the pool). */
  readonly onClose?: () => void;
}

/**
 * One authenticated ssh2 connection. Channels (exec, sftp, forwardOut) open concurrently over
 * it. `closed` settles when the connection ends for any reason (never rejects).
 */
export class SshConnection {
  private alive = true;
  private closing: Promise<void> | undefined;
  readonly closed: Promise<void>;

  constructor(
    private readonly client: InstanceType<typeof Client>,
    private readonly socket: SshSocket,
    readonly description: string,
    onClose: (() => void) | undefined,
  ) {
    this.closed = new Promise((resolve) => {
      client.once('close', () => {
        this.alive = false;
        socket.close();
        onClose?.();
        resolve();
      });
    });
    // After 'ready', errors (keepalive timeout, socket reset) are followed by 'close'.
    client.on('error', () => undefined);
  }

  get isAlive(): boolean {
    return this.alive;
  }

  exec(command: string, signal: AbortSignal): Promise<ClientChannel> {
    return this.channel('start a command', signal, (done) => this.client.exec(command, done));
  }

  sftp(signal: AbortSignal): Promise<SFTPWrapper> {
    return this.channel('open an SFTP session', signal, (done) => this.client.sftp(done));
  }

  forwardOut(host: string, port: number, signal: AbortSignal): Promise<ClientChannel> {
    return this.channel(`open a tunnel to ${host}:${port}`, signal, (done) => this.client.forwardOut('127.0.0.1', 0, host, port, done));
  }

  /** Idempotent; ends the SSH session and waits until the socket is closed. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.client.end();
      const timer = setTimeout(() => this.client.destroy(), 2000);
      await this.closed;
      clearTimeout(timer);
    })();
    return this.closing;
  }

  private channel<T extends { close?: unknown; end?: unknown }>(what: string, signal: AbortSignal, open: (done: (error: Error | undefined, value: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal.aborted) {
        reject(cancelledError());
        return;
      }
      if (!this.alive) {
        reject(new TransportError(`unable to ${what} on ${this.description}: connection closed`));
        return;
      }
      let settled = false;
      const onAbort = (): void => {
        settled = true;
        reject(cancelledError());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        open((error, value) => {
          signal.removeEventListener('abort', onAbort);
          if (settled) {
            if (error === undefined) closeQuietly(value);
            return;
          }
          settled = true;
          if (error !== undefined && error !== null) reject(new TransportError(`unable to ${what} on ${this.description}: ${error.message}`, { cause: error }));
          else resolve(value);
        });
      } catch (error) {
        signal.removeEventListener('abort', onAbort);
        reject(new TransportError(`unable to ${what} on ${this.description}: ${errorMessage(error)}`, { cause: error }));
      }
    });
  }
}

function closeQuietly(value: { close?: unknown; end?: unknown }): void {
  if (typeof value.end === 'function') (value.end as () => void).call(value);
}

/** Time budget for a connection phase; paused while the user is being asked something. */
class PhaseTimer {
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly ms: number, private readonly onExpire: () => void) {}
  restart(): void { this.stop(); this.timer = setTimeout(this.onExpire, this.ms); }
  stop(): void { if (this.timer !== undefined) clearTimeout(this.timer); this.timer = undefined; }
}

/**
 * Opens the route's byte stream, then SSH-handshakes: host key check, authentication. Each
 * phase (reaching the server, key exchange, authentication) must finish within ConnectTimeout,
 * not counting time spent waiting for the user. Errors: MUTAGEN_TRANSPORT (unreachable, timed
 * out, closed), MUTAGEN_HOST_KEY, MUTAGEN_AUTHENTICATION, MUTAGEN_CANCELLED.
 */
export async function connectSsh(config: SshHostConfig, options: ConnectSshOptions, signal: AbortSignal): Promise<SshConnection> {
  const description = `${config.user}@${config.hostname}:${config.port}`;
  const socket = await openRoute(config, options.route, signal);
  try {
    return await handshake(config, socket, description, options, signal);
  } catch (error) {
    socket.close();
    throw error;
  }
}

async function openRoute(config: SshHostConfig, route: SshRoute, signal: AbortSignal): Promise<SshSocket> {
  switch (route.kind) {
    case 'direct':
      return connectTcp(config.hostname, config.port, config.connectTimeoutMs, signal);
    case 'command':
      return spawnProxyCommand(route.command);
    case 'jump': {
      const channel = await route.via.forwardOut(config.hostname, config.port, signal).catch((error: unknown) => {
        throw new TransportError(`unable to reach ${config.hostname}:${config.port} through jump host ${route.description}: ${errorMessage(error)}`, { cause: error });
      });
      return { stream: channel, detail: () => `via jump host ${route.description}`, close: () => channel.destroy() };
    }
  }
}

function handshake(config: SshHostConfig, socket: SshSocket, description: string, options: ConnectSshOptions, signal: AbortSignal): Promise<SshConnection> {
  const client = new Client();
  const logger = options.logger;
  return new Promise<SshConnection>((resolve, reject) => {
    let failure: MutagenError | undefined;
    let settled = false;
    const finish = (error: MutagenError | undefined): void => {
      if (settled) return;
      settled = true;
      timer.stop();
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) {
        resolve(new SshConnection(client, socket, description, options.onClose));
        return;
      }
      client.destroy();
      reject(error);
    };
    const timer = new PhaseTimer(config.connectTimeoutMs, () => {
      failure ??= new TransportError(`unable to connect to ${description}: timed out after ${config.connectTimeoutMs / 1000}s during the SSH handshake`, {
        hint: 'Check that an SSH server answers there; raise ConnectTimeout in ~/.ssh/config or MUTAGEN_SSH_CONNECT_TIMEOUT for slow networks.',
      });
      finish(failure);
    });
    const onAbort = (): void => finish(cancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    const ask = askFunction(config, options.prompter, timer, signal);
    const hostKey = createHostKeyCheck(config, ask, logger);
    void Promise.all([prepareAuth(config, ask, logger), preferredHostKeyAlgorithms(config)]).then(([auth, hostKeyAlgorithms]) => {
      if (settled) return;
      client.once('ready', () => finish(undefined));
      client.on('error', (error: Error & { level?: string }) => {
        if (error.level === 'agent') {
          logger.debug('ssh agent failed; trying the next method', { error: error.message });
          return;
        }
        const reason = hostKey.failure() ?? failure ?? classify(error, description, socket, auth.report());
        failure = reason;
        finish(reason);
      });
      client.once('close', () => finish(failure ?? hostKey.failure() ?? new TransportError(`unable to connect to ${description}: connection closed during the SSH handshake${suffix(socket.detail())}`)));
      timer.restart();
      client.connect({
        sock: socket.stream,
        username: config.user,
        readyTimeout: 0,
        keepaliveInterval: config.keepaliveIntervalMs,
        keepaliveCountMax: config.keepaliveCountMax,
        algorithms: { serverHostKey: hostKeyAlgorithms },
        hostVerifier: (key: Buffer, verify: (accept: boolean) => void) => {
          timer.stop();
          hostKey.verify(key, (accept) => {
            if (accept && !settled) timer.restart();
            verify(accept);
          });
        },
        authHandler: auth.handler,
      });
    }, (error: unknown) => finish(error instanceof MutagenError ? error : new TransportError(`unable to connect to ${description}: ${errorMessage(error)}`, { cause: error })));
  });
}

function askFunction(config: SshHostConfig, prompter: Prompter | undefined, timer: PhaseTimer, signal: AbortSignal): Ask | undefined {
  if (prompter === undefined || config.batchMode) return undefined;
  return async (kind, message) => {
    timer.stop();
    try {
      return await prompter.prompt({ kind, message }, signal);
    } finally {
      timer.restart();
    }
  };
}

function classify(error: Error & { level?: string }, description: string, socket: SshSocket, report: { tried: readonly string[]; notes: readonly string[] }): MutagenError {
  if (error.level === 'client-authentication') {
    const tried = report.tried.length === 0 ? 'no usable identities' : report.tried.join(', ');
    const notes = report.notes.length === 0 ? '' : `; ${report.notes.join('; ')}`;
    return new MutagenError('MUTAGEN_AUTHENTICATION', `permission denied for ${description} (tried: ${tried}${notes})`, {
      cause: error,
      hint: 'Check the user name, and that one of these keys is authorized on the server (its ~/.ssh/authorized_keys); set IdentityFile in ~/.ssh/config or load the key into ssh-agent.',
    });
  }
  return new TransportError(`unable to connect to ${description}: ${error.message}${suffix(socket.detail())}`, { cause: error });
}

function suffix(detail: string): string {
  return detail === '' ? '' : ` (${detail})`;
}
