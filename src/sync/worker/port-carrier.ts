import { Readable, Writable } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';
import { ProtocolError, TransportError } from '../../base/errors.js';
import type { Carrier } from '../../wire/carrier.js';

/**
 * The byte pipe of a Carrier over a MessagePort (a worker thread instead of an agent's stdio).
 *
 * Messages, both ways: `{ type: 'data', chunk: ArrayBuffer }` (always transferred: a chunk that
 * owns its whole ArrayBuffer moves without a copy when `detachWritten` is set, anything else is
 * copied once into a buffer of its own), `{ type: 'ack', bytes }` (the reader consumed that much),
 * `{ type: 'end' }` (no more data this way). A port has no back-pressure of its own, so the
 * writer keeps at most `window` unacknowledged bytes in flight: a peer thread that is busy (a
 * scan) or does not read never makes the sender queue without bound. The reader acknowledges when
 * its Readable accepts a chunk (push() true) or asks for more (_read()).
 *
 * The port is closed once both halves are done, or at once when either half is destroyed before
 * it completed; the peer then sees 'close' and destroys its halves with MUTAGEN_TRANSPORT
 * `connection closed`, as a crashed or terminated thread does.
 */
export interface PortCarrierOptions {
  /** Unacknowledged bytes allowed in flight from this side. Default 1 MiB. */
  readonly window?: number;
  /**
   * The writer gives up every chunk it writes (the Multiplexer does: each batch is a fresh
   * buffer): such chunks are transferred, leaving the writer's Buffer detached (length 0).
   */
  readonly detachWritten?: boolean;
}

export interface PortCarrier extends Carrier {
  /** Destroys both halves (with `error`, if given) and closes the port; the peer sees 'close'. Idempotent. */
  destroy(error?: Error): void;
}

const DEFAULT_WINDOW = 1024 * 1024;

type PortMessage =
  | { readonly type: 'data'; readonly chunk: ArrayBuffer }
  | { readonly type: 'ack'; readonly bytes: number }
  | { readonly type: 'end' };

/** Hand validation of what the peer thread posted. */
function parseMessage(value: unknown): PortMessage | undefined {
  if (typeof value !== 'object' || value === null || !('type' in value)) return undefined;
  switch (value.type) {
    case 'data':
      return 'chunk' in value && value.chunk instanceof ArrayBuffer ? { type: 'data', chunk: value.chunk } : undefined;
    case 'ack':
      return 'bytes' in value && typeof value.bytes === 'number' && Number.isSafeInteger(value.bytes) && value.bytes > 0
        ? { type: 'ack', bytes: value.bytes } : undefined;
    case 'end':
      return { type: 'end' };
    default:
      return undefined;
  }
}

/** The chunk as an ArrayBuffer the port may take: its own when allowed and whole, else a copy. */
function transferable(chunk: Buffer, detach: boolean): ArrayBuffer {
  const backing = chunk.buffer;
  if (detach && backing instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === backing.byteLength) return backing;
  const copy = new ArrayBuffer(chunk.byteLength);
  new Uint8Array(copy).set(chunk);
  return copy;
}

/**
 * Wraps `port` (ownership passes: the carrier closes it). Start it on both ends before data
 * flows; messages posted before are queued by the port.
 */
export function portCarrier(port: MessagePort, options: PortCarrierOptions = {}): PortCarrier {
  const window = options.window ?? DEFAULT_WINDOW;
  const detach = options.detachWritten ?? false;
  let inFlight = 0;
  let blocked: (() => void) | undefined;
  let unacked = 0;
  let portClosed = false;
  let endReceived = false;

  const post = (message: PortMessage, transfer?: ArrayBuffer): void => {
    if (portClosed) return;
    port.postMessage(message, transfer === undefined ? [] : [transfer]);
  };
  const acknowledge = (): void => {
    if (unacked === 0) return;
    post({ type: 'ack', bytes: unacked });
    unacked = 0;
  };

  const readable = new Readable({
    highWaterMark: window,
    read: acknowledge,
    destroy(error, callback): void {
      settle(error, readable.readableEnded);
      callback(error);
    },
  });
  const writable = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, callback): void {
      const size = chunk.byteLength;
      const data = transferable(chunk, detach);
      post({ type: 'data', chunk: data }, data);
      inFlight += size;
      if (inFlight < window) callback();
      else blocked = () => callback();
    },
    final(callback): void {
      post({ type: 'end' });
      callback();
    },
    destroy(error, callback): void {
      blocked = undefined;
      settle(error, writable.writableFinished);
      callback(error);
    },
  });

  /** A half destroyed with an error or before it completed ends the whole connection. */
  function settle(error: Error | null, completed: boolean): void {
    if (error !== null || !completed || (readable.readableEnded && writable.writableFinished)) closePort();
  }
  function closePort(): void {
    if (portClosed) return;
    portClosed = true;
    port.off('message', onMessage);
    port.close();
  }

  function fail(error: Error): void {
    readable.destroy(error);
    writable.destroy(error);
  }

  function onMessage(value: unknown): void {
    const message = parseMessage(value);
    if (message === undefined) return fail(new ProtocolError('malformed message from the worker thread'));
    switch (message.type) {
      case 'data': {
        if (readable.readableEnded || readable.destroyed) return;
        unacked += message.chunk.byteLength;
        if (readable.push(Buffer.from(message.chunk))) acknowledge();
        return;
      }
      case 'ack': {
        if (message.bytes > inFlight) return fail(new ProtocolError('the worker thread acknowledged more bytes than were sent'));
        inFlight -= message.bytes;
        if (inFlight < window && blocked !== undefined) {
          const resume = blocked;
          blocked = undefined;
          resume();
        }
        return;
      }
      case 'end':
        endReceived = true;
        readable.push(null);
        return;
    }
  }

  port.on('message', onMessage);
  port.once('close', () => {
    portClosed = true;
    const error = new TransportError('connection closed');
    // Data and 'end' posted before the peer closed arrive before 'close': keep what was received.
    if (!endReceived) readable.destroy(error);
    if (!writable.writableFinished) writable.destroy(error);
  });
  readable.once('end', () => { if (writable.writableFinished) closePort(); });
  writable.once('finish', () => { if (readable.readableEnded) closePort(); });

  const destroy = (error?: Error): void => {
    readable.destroy(error);
    writable.destroy(error);
  };
  return { readable, writable, destroy };
}
