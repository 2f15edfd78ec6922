import type { Readable } from 'node:stream';
import * as z from 'zod';
import { cancelledError } from '../base/abort.js';
import type { ErrorCode } from '../base/errors.js';
import { MutagenError, ProtocolError, TransportError } from '../base/errors.js';
import { ByteQueue } from './byte-queue.js';
import { decodeValue } from './codec.js';
import type { Compression } from './compression.js';
import { compressCarrier } from './compression.js';
import { encodeMessage } from './messages.js';
import type { Carrier } from './carrier.js';

export type { Compression } from './compression.js';

export interface Hello {
  readonly version: string;
  readonly protocol: 1;
  readonly digest: string;
  readonly compression: readonly Compression[];
}

/** First bytes the agent writes ("\0mutagea"): anything before them is login-shell noise. */
export const AGENT_MAGIC: Uint8Array = Uint8Array.of(0x00, 0x6d, 0x75, 0x74, 0x61, 0x67, 0x65, 0x61);
/** First bytes the client writes ("\0mutagec"). */
export const CLIENT_MAGIC: Uint8Array = Uint8Array.of(0x00, 0x6d, 0x75, 0x74, 0x61, 0x67, 0x65, 0x63);
const MAX_HELLO_SIZE = 16_384;
const NOISE_CHARS = 200;
const COMPRESSIONS: readonly string[] = ['none', 'deflate'] satisfies Compression[];

const helloSchema = z.object({
  version: z.string().max(256),
  protocol: z.number(),
  digest: z.string().max(256),
  compression: z.array(z.string().max(64)).max(16),
});

/** How each side names a failure: the client talks to "the agent", the agent to "the client". */
interface Side {
  readonly peer: string;
  readonly magic: Uint8Array;
  readonly eofCode: ErrorCode;
  readonly eofMessage: string;
  readonly noise: (text: string) => MutagenError;
}

const CLIENT_SIDE: Side = {
  peer: 'agent',
  magic: AGENT_MAGIC,
  eofCode: 'MUTAGEN_AGENT',
  eofMessage: 'agent exited before the handshake',
  noise: (text) => new MutagenError('MUTAGEN_AGENT', `unexpected output from the remote before the agent started: ${text}`, {
    hint: "Check the remote login shell's startup files (such as ~/.bashrc or ~/.profile) for commands that print output, and make them print only in interactive shells.",
  }),
};

const AGENT_SIDE: Side = {
  peer: 'client',
  magic: CLIENT_MAGIC,
  eofCode: 'MUTAGEN_TRANSPORT',
  eofMessage: 'connection closed before the handshake',
  noise: (text) => new ProtocolError(`unexpected bytes from the client before the handshake: ${text}`),
};

/** Agent side: writes AGENT_MAGIC + hello; reads CLIENT_MAGIC + the client's hello (whose
 *  compression list has exactly the chosen algorithm). Returns the carrier to use from now on
 *  (compressed if chosen); unread bytes are kept for it. */
export async function agentHandshake(carrier: Carrier, hello: Hello, signal: AbortSignal): Promise<{ peer: Hello; carrier: Carrier }> {
  carrier.writable.write(Buffer.concat([AGENT_MAGIC, ...encodeMessage(hello)]));
  const peer = await readPeer(carrier, AGENT_SIDE, signal);
  const [chosen, ...rest] = peer.compression;
  if (chosen === undefined || rest.length > 0 || !hello.compression.includes(chosen)) {
    throw new ProtocolError(`the client chose compression [${peer.compression.join(', ')}], which does not match the offer [${hello.compression.join(', ')}]`);
  }
  return { peer, carrier: compressCarrier(carrier, chosen) };
}

/** Client side: reads the agent's magic (bytes before it = login-shell noise: MUTAGEN_AGENT error
 *  quoting them, max 200 chars), its hello; throws MUTAGEN_VERSION_MISMATCH when version or digest
 *  differs from ours; picks `preferred` if the agent supports it, else 'none' (`compression`
 *  says which). */
export async function clientHandshake(
  carrier: Carrier, hello: Hello, options: { readonly preferred: Compression }, signal: AbortSignal,
): Promise<{ peer: Hello; carrier: Carrier; compression: Compression }> {
  const peer = await readPeer(carrier, CLIENT_SIDE, signal);
  if (peer.version !== hello.version || peer.digest !== hello.digest) {
    throw new MutagenError('MUTAGEN_VERSION_MISMATCH',
      `agent version ${peer.version} (digest ${peer.digest.slice(0, 12)}) does not match ${hello.version} (digest ${hello.digest.slice(0, 12)})`);
  }
  const chosen: Compression | undefined = peer.compression.includes(options.preferred) ? options.preferred
    : peer.compression.includes('none') ? 'none' : undefined;
  if (chosen === undefined) throw new ProtocolError(`the agent offers no usable compression ([${peer.compression.join(', ')}])`);
  carrier.writable.write(Buffer.concat([CLIENT_MAGIC, ...encodeMessage({ ...hello, compression: [chosen] } satisfies Hello)]));
  return { peer, carrier: compressCarrier(carrier, chosen), compression: chosen };
}

async function readPeer(carrier: Carrier, side: Side, signal: AbortSignal): Promise<Hello> {
  const reader = new HandshakeReader(carrier, side, signal);
  try {
    await reader.readMagic();
    const size = await reader.readSize();
    if (size > MAX_HELLO_SIZE) throw new ProtocolError(`${side.peer} hello of ${size} bytes exceeds the ${MAX_HELLO_SIZE}-byte limit`);
    return parseHello(await reader.take(size), side);
  } finally {
    reader.release();
  }
}

function parseHello(body: Buffer, side: Side): Hello {
  let value: unknown;
  try {
    value = decodeValue(body);
  } catch (error) {
    throw new ProtocolError(`malformed ${side.peer} hello`, { cause: error });
  }
  const parsed = helloSchema.safeParse(value);
  if (!parsed.success) throw new ProtocolError(`malformed ${side.peer} hello: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const { version, protocol, digest, compression } = parsed.data;
  if (protocol !== 1) {
    throw new MutagenError('MUTAGEN_VERSION_MISMATCH', `${side.peer} speaks wire protocol ${protocol}, expected 1`);
  }
  const known = compression.filter((name): name is Compression => COMPRESSIONS.includes(name));
  return { version, protocol, digest, compression: known };
}

/** Escaped, quoted start of unexpected output. */
export function quoteNoise(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.subarray(0, NOISE_CHARS * 4)).toString('utf8');
  return JSON.stringify(Array.from(text).slice(0, NOISE_CHARS).join(''));
}

/** Pulls exactly what the handshake needs; release() gives the rest back to the carrier. */
class HandshakeReader {
  private readonly queue = new ByteQueue();
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly onReadable = (): void => this.wake?.();
  private readonly onEnd = (): void => { this.ended = true; this.wake?.(); };
  private readonly onError = (error: Error): void => { this.failure ??= error; this.wake?.(); };
  private readonly onAbort = (): void => this.wake?.();
  private readonly readable: Readable;

  constructor(private readonly carrier: Carrier, private readonly side: Side, private readonly signal: AbortSignal) {
    this.readable = carrier.readable;
    this.readable.on('readable', this.onReadable);
    this.readable.on('end', this.onEnd);
    this.readable.on('close', this.onEnd);
    this.readable.on('error', this.onError);
    carrier.writable.on('error', this.onError);
    signal.addEventListener('abort', this.onAbort);
  }

  async readMagic(): Promise<void> {
    const { magic } = this.side;
    for (;;) {
      const available = Math.min(this.queue.length, magic.length);
      for (let i = 0; i < available; i++) {
        if (this.queue.byteAt(i) !== magic[i]) throw this.side.noise(quoteNoise(this.noiseBefore(magic)));
      }
      if (available === magic.length) {
        this.queue.skip(magic.length);
        return;
      }
      await this.more();
    }
  }

  async readSize(): Promise<number> {
    while (this.queue.length < 4) await this.more();
    const size = this.queue.peekUInt32(0);
    this.queue.skip(4);
    return size;
  }

  async take(count: number): Promise<Buffer> {
    while (this.queue.length < count) await this.more();
    return Buffer.from(this.queue.take(count));
  }

  /** Unread bytes go back to the front of the readable; listeners are removed. */
  release(): void {
    this.readable.off('readable', this.onReadable);
    this.readable.off('end', this.onEnd);
    this.readable.off('close', this.onEnd);
    this.readable.off('error', this.onError);
    this.carrier.writable.off('error', this.onError);
    this.signal.removeEventListener('abort', this.onAbort);
    const rest = this.queue.drain();
    if (rest.length > 0 && !this.readable.readableEnded && !this.readable.destroyed) this.readable.unshift(Buffer.concat(rest));
  }

  /** The queued bytes before the magic (all of them when it is not there). */
  private noiseBefore(magic: Uint8Array): Buffer {
    const all = Buffer.concat(this.queue.drain());
    const at = all.indexOf(magic);
    return at < 0 ? all : all.subarray(0, at);
  }

  private async more(): Promise<void> {
    for (;;) {
      if (this.signal.aborted) throw abortError(this.signal, this.side);
      const chunk: unknown = this.readable.read();
      if (chunk instanceof Uint8Array) {
        this.queue.push(chunk);
        return;
      }
      if (this.failure !== undefined) {
        const failure = this.failure;
        throw failure instanceof MutagenError ? failure : new TransportError(`handshake failed: ${failure.message}`, { cause: failure });
      }
      if (this.ended || this.readable.readableEnded) {
        if (this.queue.length > 0 && this.queue.byteAt(0) !== this.side.magic[0]) {
          throw this.side.noise(quoteNoise(Buffer.concat(this.queue.drain())));
        }
        throw new MutagenError(this.side.eofCode, this.side.eofMessage);
      }
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = undefined;
    }
  }
}

function abortError(signal: AbortSignal, side: Side): MutagenError {
  const reason: unknown = signal.reason;
  if (reason instanceof MutagenError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new MutagenError(side === CLIENT_SIDE ? 'MUTAGEN_AGENT' : 'MUTAGEN_TRANSPORT', `timed out waiting for the ${side.peer} handshake`);
  }
  return cancelledError();
}
