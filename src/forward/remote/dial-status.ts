import type { Duplex } from 'node:stream';
import { cancelledError } from '../../base/abort.js';
import { TransportError } from '../../base/errors.js';

/**
 * Reads the first byte of `stream` and puts back whatever arrived after it, leaving the stream
 * readable from the second byte. Resolves with the byte, or 'end' when the stream ended first;
 * rejects with the stream's error (a reset carries the peer's error), a MUTAGEN_TRANSPORT error
 * when it closed without one, or MUTAGEN_CANCELLED when `signal` aborts (the stream is left as is).
 */
export function readStatusByte(stream: Duplex, signal: AbortSignal): Promise<number | 'end'> {
  if (signal.aborted) return Promise.reject(cancelledError());
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
    };
    const onReadable = (): void => {
      const chunk: unknown = stream.read();
      if (!Buffer.isBuffer(chunk) || chunk.length === 0) return; // null: 'end' or more data follows
      cleanup();
      if (chunk.length > 1) stream.unshift(chunk.subarray(1));
      resolve(chunk[0] ?? 0);
    };
    const onEnd = (): void => {
      cleanup();
      resolve('end');
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => {
      cleanup();
      reject(new TransportError('stream closed before the dial status'));
    };
    const onAbort = (): void => {
      cleanup();
      reject(cancelledError());
    };
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
