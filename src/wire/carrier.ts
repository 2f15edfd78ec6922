import type { Readable, Writable } from 'node:stream';
import { errnoCode, MutagenError, ProtocolError, TransportError } from '../base/errors.js';

/** The byte pipe under a multiplexer (stdio of an agent, an ssh exec channel, a duplexPair). */
export interface Carrier {
  readonly readable: Readable;
  readonly writable: Writable;
  /**
   * The writable is done with a chunk once that write's callback has run (it copies or sends
   * the bytes and keeps no reference, as sockets, pipes, ssh2 channels and zlib streams do, and
   * a PassThrough does not), so the writer may reuse the buffer then.
   */
  readonly reusableWrites?: boolean;
}

/** A carrier failure as a MutagenError (zlib errors mean corrupt compressed data). */
export function transportError(error: unknown): MutagenError {
  if (error instanceof MutagenError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = errnoCode(error);
  if (code !== undefined && code.startsWith('Z_')) return new ProtocolError(`corrupt compressed data: ${message}`, { cause: error });
  return new TransportError(`connection failed: ${message}`, { cause: error });
}

/** Resolves once the carrier's writable finished or either side closed or failed. */
export function carrierSettled(carrier: Carrier): Promise<void> {
  const { readable, writable } = carrier;
  if (writable.writableFinished || writable.destroyed || readable.destroyed || readable.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      for (const [emitter, event] of listeners) emitter.off(event, done);
      resolve();
    };
    const listeners = [
      [writable, 'finish'], [writable, 'close'], [writable, 'error'], [readable, 'end'], [readable, 'close'], [readable, 'error'],
    ] as const;
    for (const [emitter, event] of listeners) emitter.on(event, done);
  });
}
