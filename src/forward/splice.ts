import net from 'node:net';
import type { Duplex } from 'node:stream';
import { MAX_STREAM_WINDOW } from '../wire/receive-window.js';
import { WireStream } from '../wire/wire-stream.js';
import { consumeReads, copyIntoChunk, releaseChunk } from '../wire/pooled-reads.js';

type Chunk = Buffer | Uint8Array | string;

function chunkBytes(chunk: Chunk): number {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
}

/** Tears a stream down abnormally: TCP sockets send a reset, other duplexes get destroy(error). */
function abort(stream: Duplex, error: Error | undefined): void {
  if (stream.destroyed) return;
  // resetAndDestroy() works on TCP handles only (it throws for a Unix socket's pipe handle).
  if (stream instanceof net.Socket && stream.remoteFamily !== undefined && !stream.connecting) {
    try {
      stream.resetAndDestroy();
      return;
    } catch {
      // Not a TCP handle after all: close it plainly below.
    }
  }
  stream.destroy(error);
}

/** True when `stream` is done with a written chunk once the write's callback ran. */
function releasesAfterWrite(stream: Duplex): boolean {
  return stream instanceof net.Socket || stream instanceof WireStream;
}

/**
 * One direction: each read → write(); when write() asks to wait, pause the reader until 'drain'
 * (so at most one socket buffer plus one chunk sits here). EOF half-closes the writer. A socket
 * with shared-buffer reads (wire/pooled-reads.ts) has each read copied into a pooled chunk, which
 * goes back to the pool once written.
 */
function forward(from: Duplex, to: Duplex, count: ((bytes: number) => void) | undefined): void {
  let waiting = false;
  const release = releasesAfterWrite(to);
  const write = (chunk: Chunk): boolean => {
    count?.(chunkBytes(chunk));
    if (to.destroyed || to.writableEnded) {
      if (typeof chunk !== 'string') releaseChunk(chunk);
      return true;
    }
    const more = release && typeof chunk !== 'string' ? to.write(chunk, () => releaseChunk(chunk)) : to.write(chunk);
    if (!more && !waiting) {
      waiting = true;
      from.pause();
    }
    return more;
  };
  to.on('drain', () => {
    if (!waiting) return;
    waiting = false;
    from.resume();
  });
  if (!consumeReads(from, (bytes) => write(copyIntoChunk(bytes)))) from.on('data', write);
  const endWriter = (): void => {
    if (!to.destroyed && !to.writableEnded) to.end();
  };
  if (from.readableEnded) endWriter();
  else from.on('end', endWriter);
}

/**
 * Copies both ways until both directions ended; EOF one way half-closes the other side's write
 * direction. An error or a premature close on either stream tears the other one down (a TCP
 * socket gets a reset, a wire stream a reset carrying the error). Back-pressure both ways: a
 * slow reader pauses the other side, so memory stays bounded by the streams' high-water marks.
 * Resolves (never rejects) once both streams are closed; `signal` abort destroys both.
 * `onOutbound` counts bytes source→destination and `onInbound` the way back, per chunk read.
 * The caller hands both streams over: it should not read, write or end them afterwards.
 */
export function splice(
  source: Duplex,
  destination: Duplex,
  options: { readonly onOutbound?: (bytes: number) => void; readonly onInbound?: (bytes: number) => void },
  signal: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve) => {
    let open = 2;
    const onAbort = (): void => {
      source.destroy();
      destination.destroy();
    };
    const closed = (): void => {
      open -= 1;
      if (open > 0) return;
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    // Forwarded connections are bulk byte streams: let multiplexed ones auto-tune their window.
    for (const stream of [source, destination]) if (stream instanceof WireStream) stream.tuneReceiveWindow(MAX_STREAM_WINDOW);
    watch(source, destination, closed);
    watch(destination, source, closed);
    forward(source, destination, options.onOutbound);
    forward(destination, source, options.onInbound);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Calls `closed` once `stream` is closed; an error or unclean close of it aborts `other`. */
function watch(stream: Duplex, other: Duplex, closed: () => void): void {
  let readEnded = stream.readableEnded;
  let writeFinished = stream.writableFinished;
  // A duplex that does not destroy itself once both halves are done is closed here.
  const settle = (): void => {
    if (readEnded && writeFinished && !stream.destroyed) stream.destroy();
  };
  stream.on('end', () => { readEnded = true; settle(); });
  stream.on('finish', () => { writeFinished = true; settle(); });
  stream.on('error', (error: Error) => abort(other, error));
  if (stream.closed) {
    if (!(readEnded && writeFinished)) abort(other, undefined);
    closed();
    return;
  }
  stream.once('close', () => {
    if (!(readEnded && writeFinished)) abort(other, undefined);
    closed();
  });
}
