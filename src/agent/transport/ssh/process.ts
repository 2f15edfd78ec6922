import type { Readable, Writable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import type { RemoteExit, RemoteProcess } from '../transport.js';

/** How much stderr is kept for messages. */
export const STDERR_TAIL_BYTES = 32 * 1024;
const EXIT_GRACE_MS = 2_000;

/**
 * Characters that need no quoting in a POSIX shell word. Everything else is single-quoted, with
 * `'` written as `'\''`. This is the only place that quotes for the remote shell.
 */
export function quoteArgument(argument: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(argument)) return argument;
  return `'${argument.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(argv: readonly string[]): string {
  return argv.map(quoteArgument).join(' ');
}

/**
 * A command running in an exec channel. stdin and stdout are the channel itself (ending stdin
 * sends EOF). `exit` settles on the exit status, on the channel closing, or on the connection
 * dying (`gone`), whichever comes first.
 */
export class SshProcess implements RemoteProcess {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly exit: Promise<RemoteExit>;
  private readonly stderrChunks: Buffer[] = [];
  private stderrBytes = 0;
  private closing: Promise<void> | undefined;
  private abandon: () => void = () => undefined;

  constructor(private readonly channel: ClientChannel, gone: Promise<void>) {
    this.stdin = channel;
    this.stdout = channel;
    channel.on('error', () => undefined);
    channel.stderr.on('data', (chunk: Buffer) => this.keepStderr(chunk));
    this.exit = new Promise<RemoteExit>((resolve) => {
      this.abandon = () => resolve({ code: null, signal: null });
      channel.once('exit', (code: number | null, signal?: string) => {
        resolve({ code: typeof code === 'number' ? code : null, signal: signalName(signal) });
      });
      channel.once('close', () => resolve({ code: null, signal: null }));
      void gone.then(() => resolve({ code: null, signal: null }));
    });
  }

  stderr(): string {
    return Buffer.concat(this.stderrChunks).toString('utf8');
  }

  /**
   * Ends stdin (the agent exits on EOF). If the command is still there after a grace period, asks
   * the server to kill it and closes the channel; if even that goes unanswered (OpenSSH refuses
   * signals for root logins and keeps the channel until the command exits), `exit` settles with
   * no status and the command is left to end on its own.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const channel = this.channel;
      channel.end();
      channel.resume();
      if (await settlesWithin(this.exit, EXIT_GRACE_MS)) return;
      signalAfterEof(channel, 'KILL');
      channel.close();
      if (!await settlesWithin(this.exit, EXIT_GRACE_MS)) this.abandon();
    })();
    return this.closing;
  }

  private keepStderr(chunk: Buffer): void {
    this.stderrChunks.push(chunk);
    this.stderrBytes += chunk.length;
    while (this.stderrBytes > STDERR_TAIL_BYTES && this.stderrChunks.length > 0) {
      const first = this.stderrChunks[0];
      if (first === undefined) break;
      const excess = this.stderrBytes - STDERR_TAIL_BYTES;
      if (first.length <= excess) {
        this.stderrChunks.shift();
        this.stderrBytes -= first.length;
      } else {
        this.stderrChunks[0] = first.subarray(excess);
        this.stderrBytes -= excess;
      }
    }
  }
}

/**
 * ssh2's channel.signal() refuses once stdin was ended (its `writable` is false), although the
 * protocol allows the request until the channel closes; send it through the protocol object.
 */
function signalAfterEof(channel: ClientChannel, name: string): void {
  const client: unknown = Reflect.get(channel, '_client');
  const protocol: unknown = typeof client === 'object' && client !== null ? Reflect.get(client, '_protocol') : undefined;
  const outgoing: unknown = Reflect.get(channel, 'outgoing');
  if (typeof protocol !== 'object' || protocol === null || typeof outgoing !== 'object' || outgoing === null) return;
  const send: unknown = Reflect.get(protocol, 'signal');
  const id: unknown = Reflect.get(outgoing, 'id');
  const state: unknown = Reflect.get(outgoing, 'state');
  if (typeof send !== 'function' || typeof id !== 'number' || (state !== 'open' && state !== 'eof')) return;
  try {
    Reflect.apply(send, protocol, [id, name]);
  } catch {
    // The connection is going away: nothing left to signal.
  }
}

function signalName(signal: string | undefined): string | null {
  if (signal === undefined || signal === null || signal === '') return null;
  return signal.startsWith('SIG') ? signal : `SIG${signal}`;
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  const result = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return result;
}
