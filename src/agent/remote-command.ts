import { cancelledError } from '../base/abort.js';
import { MutagenError } from '../base/errors.js';
import type { RemoteExit, Transport } from './transport/transport.js';

export interface CommandResult extends RemoteExit {
  readonly stdout: string;
  /** The stderr tail kept by the transport. */
  readonly stderr: string;
}

/** Default cap on a helper command's stdout: probes print a few hundred bytes. */
const DEFAULT_MAX_OUTPUT = 256 * 1024;

/**
 * Runs a short helper command on the remote (probe, mkdir, rename...) and collects its output.
 * stdin is closed at once. Output beyond `maxOutput` bytes kills the command and fails
 * (MUTAGEN_AGENT). Aborting kills the command and rejects with MUTAGEN_CANCELLED.
 */
export async function runCommand(
  transport: Transport,
  argv: readonly string[],
  signal: AbortSignal,
  options: { readonly maxOutput?: number } = {},
): Promise<CommandResult> {
  const limit = options.maxOutput ?? DEFAULT_MAX_OUTPUT;
  const remote = await transport.start(argv, signal);
  remote.stdin.end();
  const chunks: Buffer[] = [];
  let size = 0;
  let overflow = false;
  remote.stdout.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      overflow = true;
      void remote.close();
      return;
    }
    chunks.push(chunk);
  });
  // The exit status may arrive before the last stdout bytes: wait for both.
  const drained = new Promise<void>((resolve) => {
    remote.stdout.once('end', resolve);
    remote.stdout.once('close', resolve);
    remote.stdout.once('error', () => resolve());
  });
  const onAbort = (): void => { void remote.close(); };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await remote.exit;
    await drained;
    if (signal.aborted) throw cancelledError();
    if (overflow) {
      throw new MutagenError('MUTAGEN_AGENT', `command ${argv[0] ?? ''} on ${transport.description} printed more than ${limit} bytes`);
    }
    return { ...exit, stdout: Buffer.concat(chunks).toString('utf8'), stderr: remote.stderr() };
  } finally {
    signal.removeEventListener('abort', onAbort);
    await remote.close();
  }
}

/** `"text"` with control characters escaped and at most `max` characters, for error messages. */
export function quoteOutput(text: string, max = 200): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut);
}

/** The last `lines` non-empty lines of a stderr tail, for error messages. */
export function stderrTail(text: string, lines = 10): string {
  return text.split('\n').map((line) => line.trimEnd()).filter((line) => line !== '').slice(-lines).join('\n');
}
