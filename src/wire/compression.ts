import { Writable } from 'node:stream';
import { constants, createDeflateRaw, createInflateRaw } from 'node:zlib';
import type { Carrier } from './carrier.js';

export type Compression = 'none' | 'deflate';

/**
 * Wraps a carrier in raw deflate (both directions). Written bytes are compressed as they come and
 * flushed with Z_SYNC_FLUSH once per event-loop turn, so a lone small message is never stuck in
 * the compressor and bulk data is not flushed per write. Inflate output is bounded by the
 * readable's back-pressure (node's zlib stops inflating while its output buffer is full). Corrupt
 * input makes the readable fail with a zlib error (code `Z_*`).
 */
export function compressCarrier(carrier: Carrier, compression: Compression): Carrier {
  if (compression === 'none') return carrier;
  const inflate = createInflateRaw();
  carrier.readable.on('error', (error) => inflate.destroy(error));
  carrier.readable.pipe(inflate);
  return { readable: inflate, writable: deflateWriter(carrier.writable) };
}

function deflateWriter(target: Writable): Writable {
  const deflate = createDeflateRaw();
  deflate.pipe(target);
  let flushScheduled = false;
  const scheduleFlush = (): void => {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      if (!deflate.writableEnded && !deflate.destroyed) deflate.flush(constants.Z_SYNC_FLUSH);
    });
  };
  const writer = new Writable({
    highWaterMark: 65_536,
    write(chunk: Buffer, _encoding, callback) {
      scheduleFlush();
      if (deflate.write(chunk)) callback();
      else deflate.once('drain', () => callback());
    },
    final(callback) {
      const done = (): void => {
        target.off('finish', done);
        target.off('close', done);
        callback();
      };
      target.on('finish', done);
      target.on('close', done);
      deflate.end();
    },
    destroy(error, callback) {
      deflate.destroy();
      if (!target.destroyed) target.destroy();
      callback(error);
    },
  });
  const fail = (error: Error): void => { writer.destroy(error); };
  deflate.on('error', fail);
  target.on('error', fail);
  target.on('close', () => { if (!writer.destroyed && !writer.writableFinished) writer.destroy(); });
  return writer;
}
