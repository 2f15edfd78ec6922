import type { Readable, Writable } from 'node:stream';
import { cancelledError } from '../base/abort.js';
import { MutagenError, ProtocolError, TransportError } from '../base/errors.js';
import { ByteQueue } from './byte-queue.js';
import { decodeValue, encodeValue } from './codec.js';

/** Longest message body (128 MiB); checked before allocating. */
export const MAX_MESSAGE_SIZE = 134_217_728;
/** Bodies up to this size are copied into one buffer with their length prefix (one write). */
const COALESCE_LIMIT = 65_536;
/** Small bodies are copied out of the received chunk so decoded byte arrays do not pin it. */
const COPY_LIMIT = 16_384;

/** Encodes one message: u32 big-endian body length + msgpack body, as one or two buffers. */
export function encodeMessage(value: unknown): Buffer[] {
  const body = encodeValue(value);
  if (body.length > MAX_MESSAGE_SIZE) {
    throw new ProtocolError(`message of ${body.length} bytes exceeds the ${MAX_MESSAGE_SIZE}-byte limit`);
  }
  if (body.length <= COALESCE_LIMIT) {
    const out = Buffer.allocUnsafe(4 + body.length);
    out.writeUInt32BE(body.length, 0);
    out.set(body, 4);
    return [out];
  }
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(body.length, 0);
  return [header, body];
}

/** Writes length-prefixed msgpack messages. Concurrent write() calls keep their call order. */
export class MessageWriter {
  constructor(private readonly stream: Writable) {}

  /** Queues one message; resolves at once, or after 'drain' when the stream is above its mark. */
  write(value: unknown): Promise<void> {
    const closed = this.closed();
    if (closed !== undefined) return closed;
    let parts: Buffer[];
    try {
      parts = encodeMessage(value);
    } catch (error) {
      return Promise.reject(error instanceof MutagenError ? error : new MutagenError('MUTAGEN_INTERNAL', `unable to encode a message: ${String(error)}`, { cause: error }));
    }
    return this.send(parts);
  }

  /**
   * Queues one message encoded elsewhere: its u32 big-endian body length, then a msgpack body
   * (a reader decodes it like any other). Resolves as write() does.
   */
  writeEncoded(message: Buffer): Promise<void> {
    if (message.length < 4 || message.readUInt32BE(0) !== message.length - 4 || message.length - 4 > MAX_MESSAGE_SIZE) {
      return Promise.reject(new MutagenError('MUTAGEN_INTERNAL', 'unable to send an encoded message: its length prefix does not match its body'));
    }
    return this.closed() ?? this.send([message]);
  }

  /** A rejection when the stream no longer takes messages. */
  private closed(): Promise<never> | undefined {
    const { stream } = this;
    if (!stream.destroyed && !stream.writableEnded) return undefined;
    return Promise.reject(new TransportError('unable to send a message: the stream is closed', { cause: stream.errored ?? undefined }));
  }

  private send(parts: readonly Buffer[]): Promise<void> {
    let ok = true;
    for (const part of parts) ok = this.stream.write(part);
    return ok ? Promise.resolve() : waitForDrain(this.stream);
  }

  /** Ends the stream after the queued messages; resolves once they are flushed or it closed. */
  end(): Promise<void> {
    const { stream } = this;
    if (stream.writableFinished || stream.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        stream.off('finish', done);
        stream.off('close', done);
        resolve();
      };
      stream.on('finish', done);
      stream.on('close', done);
      if (!stream.writableEnded) stream.end();
    });
  }
}

function waitForDrain(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
    };
    const onDrain = (): void => { cleanup(); resolve(); };
    const onClose = (): void => {
      cleanup();
      reject(new TransportError('unable to send a message: the stream closed', { cause: stream.errored ?? undefined }));
    };
    stream.on('drain', onDrain);
    stream.on('close', onClose);
  });
}

/**
 * Reads length-prefixed msgpack messages from a byte stream. The stream flows only while a read()
 * needs bytes and is paused otherwise, so its back-pressure (wire credit) keeps working; chunks
 * are taken as they arrive, without the concatenation a paused-mode read() would do. One read()
 * at a time.
 */
export class MessageReader {
  private readonly queue = new ByteQueue();
  private readonly maxMessageSize: number;
  private ended = false;
  private failure: Error | undefined;
  private reading = false;
  private needed = 0;
  private wake: (() => void) | undefined;

  constructor(private readonly stream: Readable, options: { readonly maxMessageSize?: number } = {}) {
    this.maxMessageSize = options.maxMessageSize ?? MAX_MESSAGE_SIZE;
    stream.on('data', (chunk: unknown) => this.onData(chunk));
    stream.pause();
    stream.on('end', () => { this.ended = true; this.notify(); });
    stream.on('error', (error) => { this.failure ??= error; this.notify(); });
    stream.on('close', () => { this.ended = true; this.notify(); });
  }

  /** Next decoded message, or undefined at a clean EOF between messages. EOF inside a message or
   *  an oversized length = MUTAGEN_PROTOCOL error; a stream error rejects with that error. */
  async read(signal: AbortSignal): Promise<unknown> {
    if (this.reading) throw new MutagenError('MUTAGEN_INTERNAL', 'concurrent reads from one message stream');
    this.reading = true;
    try {
      if (!(await this.fill(4, signal))) return undefined;
      const size = this.queue.peekUInt32(0);
      if (size > this.maxMessageSize) {
        throw new ProtocolError(`message of ${size} bytes exceeds the ${this.maxMessageSize}-byte limit`);
      }
      if (!(await this.fill(4 + size, signal))) throw new ProtocolError('stream ended in the middle of a message');
      this.queue.skip(4);
      const taken = this.queue.take(size);
      const body = size <= COPY_LIMIT ? Buffer.from(taken) : taken;
      try {
        return decodeValue(body);
      } catch (error) {
        throw new ProtocolError(`malformed message: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    } finally {
      this.reading = false;
    }
  }

  /** Buffers until `count` bytes are queued; false at a clean EOF with nothing queued. */
  private async fill(count: number, signal: AbortSignal): Promise<boolean> {
    while (this.queue.length < count) {
      if (signal.aborted) throw cancelledError();
      if (this.failure !== undefined) throw this.failure;
      if (this.ended || this.stream.readableEnded || this.stream.destroyed) {
        if (this.queue.length === 0) return false;
        throw new ProtocolError('stream ended in the middle of a message');
      }
      this.needed = count;
      this.stream.resume();
      await this.waitForData(signal);
    }
    return true;
  }

  private onData(chunk: unknown): void {
    if (!(chunk instanceof Uint8Array)) {
      this.failure ??= new ProtocolError('message stream carries non-byte data');
    } else {
      this.queue.push(chunk);
      if (this.queue.length < this.needed) return;
    }
    this.stream.pause();
    this.notify();
  }

  private waitForData(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => { this.wake = undefined; reject(cancelledError()); };
      this.wake = () => {
        signal.removeEventListener('abort', onAbort);
        this.wake = undefined;
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private notify(): void {
    this.wake?.();
  }
}
