import { setImmediate as nextTurn } from 'node:timers/promises';
import { asError } from '../../base/errors.js';
import type { MessageWriter } from '../../wire/messages.js';
import type { DeltaReceiver, Transmission } from '../endpoint.js';
import { encodeTransmissionMessage, MAX_BATCH_ITEMS } from './transmission.js';

/** A batch is sent once it holds this many bytes. */
const BATCH_BYTES = 64 * 1024;
/**
 * A transmission that would take the batch past this many bytes starts the next one instead: a
 * message stays well inside TRANSFER_MESSAGE_LIMIT (128 KiB) with data operations of up to 64 KiB.
 */
const MAX_BATCH_BYTES = 96 * 1024;
/** What a transmission costs in a batch beyond its data. */
const ITEM_OVERHEAD = 16;

/**
 * The sending side of a transfer stream as a DeltaReceiver: transmissions (a small file is a data
 * operation and a `done`) are gathered into batch messages of 64 to 96 KiB, so a tree of small
 * files costs a few thousand messages instead of two per file, and a file of up to 64 KiB travels
 * with its `done` (the receiver stages it in one call). A batch goes out when full,
 * at the end of the event-loop turn in which it was started (so a lone change is not held), or at
 * finish(). write() waits while the stream is above its mark (back-pressure), including for a
 * batch sent at the end of a turn; a failure to send rejects the next write() or finish().
 */
export class TransmissionBatcher implements DeltaReceiver {
  private items: Transmission[] = [];
  private bytes = 0;
  private scheduled = false;
  /** A batch sent at the end of a turn, not awaited yet. */
  private backlog: Promise<void> | undefined;

  constructor(private readonly writer: MessageWriter) {}

  /**
   * Takes a small transmission at once when that needs no waiting (no batch sent at the end of a
   * turn is unsettled, and it does not fill the batch): true, and it is as written. False: use
   * write(), which then sends, waits and reports failures as always. Most transmissions of a tree
   * of small files go this way, without a promise of their own.
   */
  offer(transmission: Transmission): boolean {
    if (this.backlog !== undefined) return false;
    const size = dataSize(transmission);
    if (this.overflows(size) || this.fillsBatch(size)) return false;
    this.gather(transmission, size);
    this.schedule();
    return true;
  }

  async write(transmission: Transmission): Promise<void> {
    await this.settleBacklog();
    const size = dataSize(transmission);
    const previous = this.overflows(size) ? this.flush() : undefined;
    const full = this.fillsBatch(size);
    this.gather(transmission, size);
    if (full) {
      await Promise.all([previous, this.flush()]);
      return;
    }
    if (previous !== undefined) await previous;
    this.schedule();
  }

  /** Whether a transmission with `size` bytes of data makes the gathered batch due. */
  private fillsBatch(size: number): boolean {
    return this.bytes + size + ITEM_OVERHEAD >= BATCH_BYTES || this.items.length + 1 >= MAX_BATCH_ITEMS;
  }

  /** Whether a transmission with `size` bytes of data must start a new batch (MAX_BATCH_BYTES). */
  private overflows(size: number): boolean {
    return this.items.length > 0 && this.bytes + size + ITEM_OVERHEAD > MAX_BATCH_BYTES;
  }

  private gather(transmission: Transmission, size: number): void {
    this.items.push(transmission);
    this.bytes += size + ITEM_OVERHEAD;
  }

  /** Sends what is gathered and ends the stream once everything is flushed. */
  async finish(): Promise<void> {
    await this.settleBacklog();
    await this.flush();
    await this.writer.end();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    void nextTurn().then(() => {
      this.scheduled = false;
      if (this.items.length === 0) return;
      const previous = this.backlog;
      const sent = this.flush();
      const backlog = previous === undefined ? sent : Promise.all([previous, sent]).then(() => undefined);
      backlog.catch(() => undefined); // surfaced by the next write() or finish()
      this.backlog = backlog;
    });
  }

  private async settleBacklog(): Promise<void> {
    const backlog = this.backlog;
    if (backlog === undefined) return;
    this.backlog = undefined;
    await backlog;
  }

  /** Writes the gathered transmissions: one alone as itself, several as a batch. */
  private flush(): Promise<void> {
    const items = this.items;
    if (items.length === 0) return Promise.resolve();
    this.items = [];
    this.bytes = 0;
    let message: Buffer;
    try {
      message = encodeTransmissionMessage(items);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    return this.writer.writeEncoded(message);
  }
}

function dataSize(transmission: Transmission): number {
  const op = transmission.kind === 'operation' ? transmission.operation : undefined;
  return op?.kind === 'data' ? op.data.byteLength : 0;
}
