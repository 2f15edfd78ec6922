import { spawn } from 'node:child_process';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { cancelledError } from '../../../base/abort.js';
import { errnoCode, errorMessage, TransportError, type MutagenError } from '../../../base/errors.js';
import { installSshPacketPool, type SshPacketPool } from './packet-pool.js';

/** A byte stream to an SSH server plus how to tear it down. */
export interface SshSocket {
  readonly stream: Duplex;
  /** Extra detail for error messages (a proxy command's stderr). */
  detail(): string;
  /** Idempotent; kills a proxy command by pid. */
  close(): void;
}

const STDERR_TAIL = 4096;

type WriteCallback = (error?: Error | null) => void;

/**
 * A TCP socket that gathers the writes of one event-loop turn into one writev. ssh2 writes every
 * SSH packet as three or four pieces (length, ciphertext, tag), each of which would otherwise be
 * its own system call and, with Nagle off, its own TCP segment: corking until the turn's
 * nextTick callbacks run cuts the calls (and the peer's wake-ups) several times over, without
 * holding bytes past the current turn. (net.Socket#connect() resets an overridden `write`, so
 * the coalescing one is installed once connected, the way Node itself swaps `write`.) A packet
 * buffer from the SSH packet pool goes back to it when its write completes (packet-pool.ts).
 */
export class CoalescingSocket extends net.Socket {
  private uncorkScheduled = false;
  private readonly packets: SshPacketPool = installSshPacketPool();
  private readonly release = (): void => {
    this.uncorkScheduled = false;
    this.uncork();
  };

  constructor() {
    super();
    this.once('connect', () => { this.write = this.coalescingWrite; });
  }

  private readonly coalescingWrite = (chunk: Uint8Array | string, encodingOrCallback?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean => {
    if (!this.uncorkScheduled && !this.destroyed) {
      this.uncorkScheduled = true;
      this.cork();
      process.nextTick(this.release);
    }
    if (typeof encodingOrCallback === 'function') return super.write(chunk, this.releasing(chunk, encodingOrCallback));
    if (encodingOrCallback === undefined) return super.write(chunk, this.releasing(chunk, callback));
    return super.write(chunk, encodingOrCallback, callback);
  };

  /** `callback`, preceded by giving a pooled packet buffer back once the write is done with it. */
  private releasing(chunk: Uint8Array | string, callback: WriteCallback | undefined): WriteCallback | undefined {
    const release = typeof chunk === 'string' ? undefined : this.packets.releaser(chunk);
    if (release === undefined) return callback;
    return (error) => {
      release();
      callback?.(error);
    };
  }
}

/** A TCP connection; rejects with a readable reason (refused, unresolvable, timed out). */
export function connectTcp(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<SshSocket> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(cancelledError());
      return;
    }
    const socket = new CoalescingSocket().connect({ host, port });
    const timer = setTimeout(() => fail(new TransportError(`unable to connect to ${host}:${port}: connection timed out after ${timeoutMs / 1000}s`, {
      hint: 'Check that the host is up and reachable; raise ConnectTimeout in ~/.ssh/config or MUTAGEN_SSH_CONNECT_TIMEOUT for slow networks.',
    })), timeoutMs);
    const onAbort = (): void => fail(cancelledError());
    const cleanup = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
    };
    const fail = (error: MutagenError): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error): void => fail(socketError(host, port, error));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('connect', () => {
      cleanup();
      socket.setNoDelay(true);
      resolve({ stream: socket, detail: () => '', close: () => socket.destroy() });
    });
  });
}

function socketError(host: string, port: number, error: Error): MutagenError {
  const code = errnoCode(error);
  const target = `${host}:${port}`;
  switch (code) {
    case 'ECONNREFUSED':
      return new TransportError(`unable to connect to ${target}: connection refused`, {
        cause: error, hint: `Check that an SSH server listens on ${target} (host name, Port in ~/.ssh/config, the URL's port).`,
      });
    case 'ENOTFOUND': case 'EAI_AGAIN': case 'EAI_NONAME':
      return new TransportError(`unable to connect to ${target}: could not resolve hostname ${host}`, {
        cause: error, hint: 'Check the host name, or add a Host entry with a HostName to ~/.ssh/config.',
      });
    case 'EHOSTUNREACH': case 'ENETUNREACH':
      return new TransportError(`unable to connect to ${target}: no route to host`, { cause: error });
    default:
      return new TransportError(`unable to connect to ${target}: ${code ?? errorMessage(error)}`, { cause: error });
  }
}

/** Runs `sh -c command` and uses its stdin/stdout as the connection (OpenSSH's ProxyCommand). */
export function spawnProxyCommand(command: string): SshSocket {
  const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
  });
  let exited = false;
  child.once('exit', () => { exited = true; });
  const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
  // Errors surface as the stream ending; ssh2 then reports the connection closed.
  child.once('error', () => stream.destroy());
  stream.on('error', () => undefined);
  let closed = false;
  return {
    stream,
    detail: () => {
      const tail = stderr.trim();
      const status = child.exitCode !== null ? `proxy command exited with code ${child.exitCode}` : '';
      return [status, tail === '' ? '' : `proxy command output: ${tail}`].filter((part) => part !== '').join('; ');
    },
    close: () => {
      if (closed) return;
      closed = true;
      stream.destroy();
      if (!exited && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          // Already gone.
        }
      }
    },
  };
}
