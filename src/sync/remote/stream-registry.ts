import { anySignal } from '../../base/abort.js';
import { MutagenError } from '../../base/errors.js';
import type { WireStream } from '../../wire/multiplexer.js';

/** How long a request may wait for the stream it names (the open frame precedes it on the wire). */
const STREAM_WAIT_MS = 30_000;
/** Streams opened by the peer but not yet claimed by a request; more is misbehaviour. */
const MAX_UNCLAIMED = 64;

/**
 * Streams the peer opened, by id, until a request claims them. The stream and the request that
 * names it travel separately, so either may be seen first.
 */
export class StreamRegistry {
  private readonly ready = new Map<number, WireStream>();
  private readonly waiters = new Map<number, { resolve: (stream: WireStream) => void; reject: (error: Error) => void }>();
  private error: Error | undefined;

  put(stream: WireStream): void {
    const waiter = this.waiters.get(stream.id);
    if (waiter !== undefined) {
      this.waiters.delete(stream.id);
      waiter.resolve(stream);
      return;
    }
    if (this.error !== undefined || this.ready.size >= MAX_UNCLAIMED) {
      stream.destroy(new MutagenError('MUTAGEN_PROTOCOL', 'too many unclaimed streams'));
      return;
    }
    this.ready.set(stream.id, stream);
  }

  take(id: number, signal: AbortSignal): Promise<WireStream> {
    const stream = this.ready.get(id);
    if (stream !== undefined) {
      this.ready.delete(id);
      return Promise.resolve(stream);
    }
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.waiters.has(id)) return Promise.reject(new MutagenError('MUTAGEN_PROTOCOL', `stream ${id} claimed twice`));
    const stop = anySignal([signal, AbortSignal.timeout(STREAM_WAIT_MS)]);
    return new Promise<WireStream>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(id);
        reject(signal.aborted ? (signal.reason as Error) : new MutagenError('MUTAGEN_PROTOCOL', `stream ${id} never opened`));
      };
      if (stop.aborted) {
        onAbort();
        return;
      }
      stop.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(id, {
        resolve: (s) => { stop.removeEventListener('abort', onAbort); resolve(s); },
        reject: (e) => { stop.removeEventListener('abort', onAbort); reject(e); },
      });
    });
  }

  /** Rejects every waiter and destroys unclaimed streams. */
  close(error: Error): void {
    this.error ??= error;
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
    for (const stream of this.ready.values()) stream.destroy();
    this.ready.clear();
  }
}
