import { Duplex } from 'node:stream';
import { MutagenError } from '../base/errors.js';

/** What a WireStream needs from its multiplexer (implemented by Multiplexer). */
export interface StreamHost {
  /** Sends as much of `stream.pending` as credit and the carrier allow. */
  pump(stream: WireStream): void;
  sendClose(stream: WireStream): void;
  /** The consumer read: recompute how much credit to grant back. */
  readCalled(stream: WireStream): void;
  destroyed(stream: WireStream, error: Error | null): void;
}

/**
 * One multiplexed byte stream (a node Duplex). Write back-pressure = peer credit: a write's
 * callback waits until the chunk is framed, which needs credit. The reader grants credit back only
 * as its consumer reads, so a slow reader stops the writer. end() sends 'close' (half-close: the
 * peer sees EOF and can still write); destroy(err) sends 'reset' carrying the error, and the
 * peer's stream errors with it. State below is owned by the multiplexer.
 */
export class WireStream extends Duplex {
  readonly id: number;
  /** Bytes we may still send. */
  sendCredit: number;
  /** A 'blocked' frame went out since credit last arrived. */
  blockedSent = false;
  /** The chunk being framed and its write callback. */
  pending: Buffer | undefined;
  pendingOffset = 0;
  pendingCallback: ((error?: Error | null) => void) | undefined;
  /** Bytes received, and the most the peer may send in total (initial credit + grants). */
  received = 0;
  receiveLimit: number;
  /** Bytes received that the consumer read and we granted back. */
  granted = 0;
  /** Current receive window: receiveLimit = receiveWindow + granted. Grows, never shrinks. */
  receiveWindow: number;
  /** How far receiveWindow may grow (see tuneReceiveWindow). */
  maxReceiveWindow: number;
  sentEnd = false;
  receivedEnd = false;
  /** Destroyed by the peer's reset or by the multiplexer closing: send nothing more. */
  detached = false;

  constructor(
    private readonly host: StreamHost,
    id: number,
    credit: { readonly send: number; readonly receive: number },
  ) {
    super({ readableHighWaterMark: credit.receive, writableHighWaterMark: 65_536, allowHalfOpen: true });
    this.id = id;
    this.sendCredit = credit.send;
    this.receiveLimit = credit.receive;
    this.receiveWindow = credit.receive;
    this.maxReceiveWindow = credit.receive;
    // A stream nobody listens to (never accepted, or a consumer relying on 'close') must not crash
    // the process with an unhandled 'error'; consumers that listen still receive it.
    this.on('error', () => undefined);
  }

  /**
   * Lets this stream's receive window auto-tune up to `bytes` (receive-window.ts: it grows while
   * the sender is blocked on credit and our consumer keeps up, within the connection's budget).
   * Without this call the window stays at the initial credit: for bulk byte streams.
   */
  tuneReceiveWindow(bytes: number): void {
    this.maxReceiveWindow = Math.max(this.maxReceiveWindow, bytes);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pending = chunk;
    this.pendingOffset = 0;
    this.pendingCallback = callback;
    this.host.pump(this);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.host.sendClose(this);
    callback();
  }

  override _read(): void {
    this.host.readCalled(this);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const pending = this.pendingCallback;
    this.pending = undefined;
    this.pendingCallback = undefined;
    this.host.destroyed(this, error);
    pending?.(error ?? new MutagenError('MUTAGEN_TRANSPORT', 'stream closed before the write finished'));
    callback(error);
  }
}
