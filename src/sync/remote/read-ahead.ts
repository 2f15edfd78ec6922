import { setImmediate as nextTurn } from 'node:timers/promises';
import { cancelledError } from '../../base/abort.js';
import type { MessageReader } from '../../wire/messages.js';

/** Decoded messages held ahead of the consumer (their approximate size); bounds memory. */
export const READ_AHEAD_BYTES = 1024 * 1024;
/** Longest run of consumer work before the event loop gets a turn (see next()). */
const SLICE_MS = 2;
/** What a message costs beyond its byte payloads (array, small fields). */
const MESSAGE_OVERHEAD = 64;

interface Queued {
  readonly value: unknown;
  readonly size: number;
}

/**
 * Reads the messages of a transfer stream ahead of their consumer, up to `limit` bytes. The
 * multiplexer grants a stream's credit back only for bytes read, so without this the sender
 * stops after one credit window (256 KiB) until the consumer, busy with synchronous file work,
 * catches up: both sides then take turns instead of working at once. next() also gives the event
 * loop a turn every couple of milliseconds of consumer work, so carrier data is read and credit
 * is sent while the consumer works through a backlog (awaiting resolved promises never does).
 */
export class ReadAhead {
  private readonly queue: Queued[] = [];
  private head = 0;
  private bytes = 0;
  private ended = false;
  private failure: { readonly error: unknown } | undefined;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;
  private lastTurn = performance.now();
  private readonly stop = new AbortController();
  /** Approximate bytes of the messages handed to the consumer so far. */
  consumed = 0;

  constructor(private readonly reader: MessageReader, signal: AbortSignal, private readonly limit = READ_AHEAD_BYTES) {
    const onAbort = (): void => this.stop.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    void this.run().finally(() => signal.removeEventListener('abort', onAbort));
  }

  /** The next message, or undefined at the stream's clean end; rejects with the read's failure. */
  async next(): Promise<unknown> {
    const now = performance.now();
    if (now - this.lastTurn >= SLICE_MS) {
      await nextTurn();
      this.lastTurn = performance.now();
    }
    for (;;) {
      const item = this.queue[this.head];
      if (item !== undefined) return this.take(item);
      if (this.failure !== undefined) throw this.failure.error;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => { this.wakeConsumer = resolve; });
      this.lastTurn = performance.now();
    }
  }

  /** Stops reading (the consumer failed or is done); what was read ahead is dropped. */
  close(): void {
    this.stop.abort(cancelledError());
    this.queue.length = 0;
    this.head = 0;
    this.bytes = 0;
    this.wake();
  }

  private take(item: Queued): unknown {
    this.head++;
    if (this.head === this.queue.length || this.head >= 1024) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.bytes -= item.size;
    this.consumed += item.size;
    if (this.bytes < this.limit) {
      const wake = this.wakeProducer;
      this.wakeProducer = undefined;
      wake?.();
    }
    return item.value;
  }

  private async run(): Promise<void> {
    const signal = this.stop.signal;
    try {
      for (;;) {
        while (this.bytes >= this.limit && !signal.aborted) await new Promise<void>((resolve) => { this.wakeProducer = resolve; });
        const value = await this.reader.read(signal);
        if (signal.aborted) return;
        if (value === undefined) {
          this.ended = true;
          break;
        }
        const size = messageSize(value);
        this.queue.push({ value, size });
        this.bytes += size;
        this.wakeConsumerNow();
      }
    } catch (error) {
      this.failure ??= { error };
    }
    this.wakeConsumerNow();
  }

  private wakeConsumerNow(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = undefined;
    wake?.();
  }

  private wake(): void {
    this.wakeConsumerNow();
    const wake = this.wakeProducer;
    this.wakeProducer = undefined;
    wake?.();
  }
}

/** Approximate memory of a decoded message: its byte arrays (one level deep) plus overhead. */
function messageSize(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength + MESSAGE_OVERHEAD;
  if (!Array.isArray(value)) return MESSAGE_OVERHEAD;
  const fields: readonly unknown[] = value;
  let size = MESSAGE_OVERHEAD;
  for (const field of fields) {
    if (field instanceof Uint8Array) size += field.byteLength;
    else if (Array.isArray(field)) size += messageSize(field);
  }
  return size;
}
