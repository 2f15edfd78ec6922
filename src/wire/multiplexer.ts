import { MutagenError, ProtocolError, TransportError } from '../base/errors.js';
import { AcceptQueue } from './accept-queue.js';
import type { Carrier } from './carrier.js';
import { carrierSettled, transportError } from './carrier.js';
import type { Logger } from '../base/logger.js';
import { silentLogger } from '../base/logger.js';
import { decodeValue, encodeValue } from './codec.js';
import type { Frame, FrameType } from './frame.js';
import { FrameDecoder, INITIAL_STREAM_CREDIT, MAX_FRAME_PAYLOAD } from './frame.js';
import { FrameBatch, WriteBufferPool } from './frame-batch.js';
import { consumeReads, copyIntoChunk } from './pooled-reads.js';
import { ReceiveWindows } from './receive-window.js';
import { parseWireError, toWireError, fromWireError } from './wire-error.js';
import type { StreamHost } from './wire-stream.js';
import { WireStream } from './wire-stream.js';

export type { Carrier } from './carrier.js';
export { WireStream } from './wire-stream.js';

export interface MultiplexerOptions {
  readonly role: 'client' | 'server';
  /** Default INITIAL_STREAM_CREDIT. Both peers must use the same value. */
  readonly initialCredit?: number;
  /** Receive-window growth (see receive-window.ts); default MAX_STREAM_WINDOW / MAX_CONNECTION_GROWTH. */
  readonly maxStreamWindow?: number;
  readonly maxWindowGrowth?: number;
  /** Default 4096 streams opened by the peer at once; more is a protocol error. */
  readonly maxStreams?: number;
  readonly logger?: Logger;
}

/** Frames queued for one carrier write; flushed at the end of the tick or when this is reached. */
const BATCH_BYTES = 256 * 1024;
/**
 * Carrier bytes written whose write callbacks have not run yet. Beyond this the multiplexer
 * waits, whatever the carrier's own high-water mark (an ssh2 channel accepts 2 MiB), so at most a
 * few pooled write buffers are ever in flight.
 */
const MAX_CARRIER_BACKLOG = 1024 * 1024;
/** Write buffers shared by the thread's multiplexers: their spares are bounded per thread, not per connection. */
const sharedWriteBuffers = new WriteBufferPool();
const MAX_U32 = 0xffff_ffff;
/** How long close() lets the carrier flush before destroying it. */
const CLOSE_GRACE_MS = 2_000;

/**
 * Many WireStreams over one carrier, each with its own credit so a stream whose consumer does not
 * read never blocks the others. Incoming data is buffered only up to the credit granted per
 * stream (a window that bulk streams may let grow, see receive-window.ts; a sender out of credit
 * says so with a 'blocked' frame); outgoing frames are batched per tick and wait for the
 * carrier's 'drain'. Any peer misbehaviour (oversized frames, unknown types or ids, data beyond
 * credit, ...) closes everything with a MUTAGEN_PROTOCOL error.
 */
export class Multiplexer implements StreamHost {
  /** Settles once: undefined after a clean end (EOF or close()), else the error. Never rejects. */
  readonly closed: Promise<MutagenError | undefined>;
  private resolveClosed: (error: MutagenError | undefined) => void = () => undefined;
  private readonly streams = new Map<number, WireStream>();
  private readonly incoming = new AcceptQueue<WireStream>();
  private readonly decoder = new FrameDecoder({ streamData: true });
  private readonly credit: number;
  private readonly maxStreams: number;
  private readonly localParity: number;
  private readonly logger: Logger;
  private nextLocalId: number;
  private lastPeerId = 0;
  private peerStreams = 0;
  /** Outgoing frames; encoded into reused buffers when the carrier allows it (Carrier.reusableWrites). */
  private readonly batch: FrameBatch;
  private readonly windows: ReceiveWindows;
  private awaitingDrain = false;
  /** Bytes written to the carrier whose callbacks have not run yet. */
  private backlog = 0;
  private flushScheduled = false;
  private urgentScheduled = false;
  private readonly sendWaiters = new Set<WireStream>();
  private readonly creditDirty = new Set<WireStream>();
  private done = false;
  private finalError: MutagenError | undefined;
  private read = 0;
  private written = 0;

  constructor(private readonly carrier: Carrier, options: MultiplexerOptions) {
    this.credit = options.initialCredit ?? INITIAL_STREAM_CREDIT;
    this.windows = new ReceiveWindows(this.credit, options.maxWindowGrowth, options.maxStreamWindow);
    this.maxStreams = options.maxStreams ?? 4096;
    this.localParity = options.role === 'client' ? 1 : 0;
    this.nextLocalId = options.role === 'client' ? 1 : 2;
    this.logger = options.logger ?? silentLogger;
    this.batch = new FrameBatch(carrier.reusableWrites === true ? sharedWriteBuffers : undefined);
    this.closed = new Promise((resolve) => { this.resolveClosed = resolve; });
    const { readable, writable } = carrier;
    // A socket with shared-buffer reads (an agent's stdin) hands over each read in place.
    const inPlace = consumeReads(readable, (bytes) => {
      this.onData(bytes, true);
      return true;
    });
    if (!inPlace) readable.on('data', (chunk: Buffer) => this.onData(chunk, false));
    readable.on('end', () => this.shutdown(undefined, 'end'));
    readable.on('error', (error) => this.shutdown(transportError(error), 'destroy'));
    writable.on('error', (error) => this.shutdown(transportError(error), 'destroy'));
    writable.on('drain', () => this.onDrain());
    writable.on('close', () => this.shutdown(new TransportError('connection closed'), 'destroy'));
  }

  get bytesRead(): number {
    return this.read;
  }

  get bytesWritten(): number {
    return this.written;
  }

  /** A new outgoing stream (sends 'open', no round trip). Throws MUTAGEN_PROTOCOL when closed. */
  open(): WireStream {
    if (this.done) throw new ProtocolError('the connection is closed', { cause: this.finalError });
    const id = this.nextLocalId;
    if (id > MAX_U32) throw new ProtocolError('stream ids exhausted');
    this.nextLocalId += 2;
    const stream = new WireStream(this, id, { send: this.credit, receive: this.credit });
    this.streams.set(id, stream);
    this.enqueue(id, 'open', undefined);
    return stream;
  }

  /** The next stream the peer opened. Rejects when the multiplexer closes or signal aborts. */
  accept(signal: AbortSignal): Promise<WireStream> {
    return this.incoming.take(signal);
  }

  /** Idempotent. Destroys every stream (with `error` if given), ends the carrier (destroys it
   *  when `error` is given). Resolves once the carrier finished writing, or after a short grace
   *  period in which it did not (a peer that stopped reading), after destroying it. */
  async close(error?: MutagenError): Promise<void> {
    this.shutdown(error, error === undefined ? 'end' : 'destroy');
    const timer = setTimeout(() => {
      this.carrier.writable.destroy();
      this.carrier.readable.destroy();
    }, CLOSE_GRACE_MS);
    timer.unref();
    await carrierSettled(this.carrier);
    clearTimeout(timer);
  }

  // ---- StreamHost -------------------------------------------------------------------------

  pump(stream: WireStream): void {
    if (this.done) return;
    for (;;) {
      const chunk = stream.pending;
      if (chunk === undefined) return;
      if (this.blocked || this.batch.bytes >= BATCH_BYTES) {
        this.sendWaiters.add(stream);
        if (!this.blocked) this.scheduleFlush(true);
        return;
      }
      if (stream.sendCredit === 0) {
        if (!stream.blockedSent && !stream.detached) {
          stream.blockedSent = true;
          this.enqueue(stream.id, 'blocked', undefined);
        }
        return;
      }
      const size = Math.min(chunk.length - stream.pendingOffset, stream.sendCredit, MAX_FRAME_PAYLOAD);
      this.enqueue(stream.id, 'data', chunk.subarray(stream.pendingOffset, stream.pendingOffset + size));
      stream.sendCredit -= size;
      stream.pendingOffset += size;
      if (stream.pendingOffset === chunk.length) {
        const callback = stream.pendingCallback;
        stream.pending = undefined;
        stream.pendingCallback = undefined;
        callback?.(); // may re-enter pump() with the next chunk
        return;
      }
    }
  }

  sendClose(stream: WireStream): void {
    if (this.done || stream.detached || stream.sentEnd) return;
    stream.sentEnd = true;
    this.enqueue(stream.id, 'close', undefined);
    this.forgetIfFinished(stream);
  }

  readCalled(stream: WireStream): void {
    if (this.done || stream.detached || stream.receivedEnd) return;
    // Measured at flush time, after the read that called _read() has taken its bytes.
    this.creditDirty.add(stream);
    this.scheduleFlush(false);
  }

  destroyed(stream: WireStream, error: Error | null): void {
    this.sendWaiters.delete(stream);
    this.creditDirty.delete(stream);
    if (this.done || stream.detached || this.streams.get(stream.id) !== stream) return;
    this.forget(stream);
    if (stream.sentEnd && stream.receivedEnd) return;
    const wire = error === null ? { code: 'MUTAGEN_CANCELLED', message: 'stream reset by the remote' } : toWireError(error);
    this.enqueue(stream.id, 'reset', encodeValue(wire));
  }

  // ---- receiving ------------------------------------------------------------------------

  /** `transient`: `chunk` is reused once this returns, so whatever is kept of it is copied. */
  private onData(chunk: Buffer, transient: boolean): void {
    if (this.done) return;
    this.read += chunk.length;
    try {
      for (const frame of this.decoder.push(chunk)) {
        this.onFrame(frame, transient);
        if (this.done) return;
      }
      if (transient) this.decoder.detach();
    } catch (error) {
      const failure = error instanceof MutagenError ? error : new ProtocolError('invalid frame', { cause: error });
      this.logger.warn('closing the connection after a protocol error', { error: failure.message });
      this.shutdown(failure, 'destroy');
    }
  }

  private onFrame(frame: Frame, transient: boolean): void {
    const id = frame.stream;
    if (id === 0) throw new ProtocolError(`unexpected ${frame.type} frame on control stream 0`);
    if (frame.type === 'open') return this.onOpen(frame);
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (this.wasOpened(id)) return; // a frame racing our reset or full close: legal, ignored
      throw new ProtocolError(`${frame.type} frame for stream ${id}, which was never opened`);
    }
    switch (frame.type) {
      case 'data': return this.onStreamData(stream, transient ? copyIntoChunk(frame.payload) : frame.payload);
      case 'credit': return this.onCredit(stream, frame.payload);
      case 'close': return this.onClose(stream, frame.payload);
      case 'reset': return this.onReset(stream, frame.payload);
      case 'blocked': return this.onBlocked(stream, frame.payload);
    }
  }

  private onOpen(frame: Frame): void {
    const id = frame.stream;
    if (id % 2 === this.localParity) throw new ProtocolError(`the remote opened stream ${id}, whose id has the wrong parity`);
    if (id <= this.lastPeerId || this.streams.has(id)) throw new ProtocolError(`stream ${id} opened twice`);
    if (frame.payload.length !== 0) throw new ProtocolError(`malformed open frame for stream ${id}`);
    if (this.peerStreams >= this.maxStreams) throw new ProtocolError(`the remote opened more than ${this.maxStreams} streams`);
    this.lastPeerId = id;
    this.peerStreams++;
    const stream = new WireStream(this, id, { send: this.credit, receive: this.credit });
    this.streams.set(id, stream);
    this.incoming.push(stream);
  }

  private onStreamData(stream: WireStream, payload: Uint8Array): void {
    if (stream.receivedEnd) throw new ProtocolError(`data frame after close on stream ${stream.id}`);
    if (stream.received + payload.length > stream.receiveLimit) {
      throw new ProtocolError(`stream ${stream.id} received ${stream.received + payload.length - stream.receiveLimit} bytes beyond its credit`);
    }
    stream.received += payload.length;
    if (payload.length > 0) stream.push(payload);
  }

  private onCredit(stream: WireStream, payload: Uint8Array): void {
    if (payload.length !== 4) throw new ProtocolError(`malformed credit frame on stream ${stream.id}`);
    const grant = Buffer.from(payload.buffer, payload.byteOffset, 4).readUInt32BE(0);
    if (stream.sendCredit + grant > MAX_U32) throw new ProtocolError(`credit overflow on stream ${stream.id}`);
    stream.sendCredit += grant;
    stream.blockedSent = false;
    if (stream.pending !== undefined) this.pump(stream);
  }

  private onClose(stream: WireStream, payload: Uint8Array): void {
    if (payload.length !== 0) throw new ProtocolError(`malformed close frame for stream ${stream.id}`);
    if (stream.receivedEnd) throw new ProtocolError(`stream ${stream.id} closed twice`);
    stream.receivedEnd = true;
    this.creditDirty.delete(stream);
    stream.push(null);
    this.forgetIfFinished(stream);
  }

  /** The peer has data for `stream` but no credit: grow the window if our consumer keeps up. */
  private onBlocked(stream: WireStream, payload: Uint8Array): void {
    if (payload.length !== 0) throw new ProtocolError(`malformed blocked frame for stream ${stream.id}`);
    if (stream.receivedEnd || stream.destroyed) return;
    // Also settle what was read but not yet granted (the peer is waiting for it).
    this.creditDirty.add(stream);
    this.scheduleFlush(false);
    const growth = this.windows.takeGrowth(stream);
    if (growth > 0) this.enqueue(stream.id, 'credit', u32(growth));
  }

  private onReset(stream: WireStream, payload: Uint8Array): void {
    let value: unknown;
    try {
      value = decodeValue(payload);
    } catch {
      value = undefined;
    }
    const wire = parseWireError(value);
    if (wire === undefined) throw new ProtocolError(`malformed reset frame for stream ${stream.id}`);
    this.forget(stream);
    stream.detached = true;
    stream.destroy(fromWireError(wire));
  }

  private wasOpened(id: number): boolean {
    return id % 2 === this.localParity ? id < this.nextLocalId : id <= this.lastPeerId;
  }

  private forgetIfFinished(stream: WireStream): void {
    if (stream.sentEnd && stream.receivedEnd) this.forget(stream);
  }

  private forget(stream: WireStream): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    this.windows.release(stream);
    if (stream.id % 2 !== this.localParity) this.peerStreams--;
    this.incoming.remove(stream);
  }

  // ---- sending --------------------------------------------------------------------------

  private enqueue(stream: number, type: FrameType, payload: Uint8Array | undefined): void {
    this.batch.push(stream, type, payload);
    this.scheduleFlush(false);
  }

  /** Small writes wait for the end of the event-loop turn (coalescing); a full batch goes next tick. */
  private scheduleFlush(urgent: boolean): void {
    if (urgent) {
      if (this.urgentScheduled) return;
      this.urgentScheduled = true;
      process.nextTick(() => { this.urgentScheduled = false; this.flush(); });
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => { this.flushScheduled = false; this.flush(); });
    }
  }

  private flush(): void {
    if (this.done) return;
    for (const stream of this.creditDirty) this.grantCredit(stream);
    this.creditDirty.clear();
    const taken = this.batch.take();
    if (taken === undefined) return;
    const size = taken.bytes.length;
    this.written += size;
    this.backlog += size;
    const accepted = this.carrier.writable.write(taken.bytes, () => this.onWritten(size, taken.release));
    if (!accepted) this.awaitingDrain = true;
    this.resumeSendersIfRoom();
  }

  private grantCredit(stream: WireStream): void {
    const grant = this.windows.takeGrant(stream);
    if (grant > 0) this.batch.push(stream.id, 'credit', u32(grant));
  }

  private onDrain(): void {
    this.awaitingDrain = false;
    this.resumeSendersIfRoom();
  }

  /** A carrier write completed (or failed): its buffer is free, and senders may go on. */
  private onWritten(size: number, release: (() => void) | undefined): void {
    release?.();
    this.backlog -= size;
    this.resumeSendersIfRoom();
  }

  /** No frames may be added: the carrier wants 'drain', or the backlog is full. */
  private get blocked(): boolean {
    return this.awaitingDrain || this.backlog >= MAX_CARRIER_BACKLOG;
  }

  private resumeSendersIfRoom(): void {
    if (!this.blocked) this.resumeSenders();
  }

  private resumeSenders(): void {
    if (this.sendWaiters.size === 0) return;
    const waiting = [...this.sendWaiters];
    this.sendWaiters.clear();
    for (const stream of waiting) this.pump(stream);
  }

  // ---- closing --------------------------------------------------------------------------

  private streamError(): MutagenError {
    return this.finalError ?? new TransportError('connection closed');
  }

  private shutdown(error: MutagenError | undefined, how: 'end' | 'destroy'): void {
    if (this.done) return;
    if (how === 'end') this.flush();
    this.done = true;
    this.finalError = error;
    const streamError = this.streamError();
    this.logger.debug('connection closed', { error: error?.message, streams: this.streams.size });
    for (const stream of this.streams.values()) {
      stream.detached = true;
      stream.destroy(streamError);
    }
    this.streams.clear();
    this.incoming.fail(streamError);
    this.sendWaiters.clear();
    this.creditDirty.clear();
    this.batch.clear();
    const { readable, writable } = this.carrier;
    if (how === 'end') {
      if (!writable.writableEnded && !writable.destroyed) writable.end();
      readable.resume(); // discard whatever still arrives so the peer is never blocked on us
    } else {
      writable.destroy();
      readable.destroy();
    }
    this.resolveClosed(error);
  }
}

function u32(value: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(value, 0);
  return payload;
}
