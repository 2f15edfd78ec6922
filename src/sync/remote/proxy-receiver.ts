import type { Duplex } from 'node:stream';
import { Tripwire } from '../../base/abort.js';
import { MessageWriter } from '../../wire/messages.js';
import type { DeltaReceiver, Transmission } from '../endpoint.js';
import { TransmissionBatcher } from './transfer-batch.js';

/** Largest message on a transfer stream: a 64 KiB data operation plus framing. */
export const TRANSFER_MESSAGE_LIMIT = 128 * 1024;
/**
 * How far the receive window of a transfer stream may grow (from the initial 256 KiB) while the
 * receiver keeps up: credit then goes back every 256 KiB instead of every 64 KiB, and each credit
 * frame is a write to the transport, which on a busy machine hands the CPU to the SSH server.
 */
export const TRANSFER_WINDOW = 1024 * 1024;

export interface ProxyReceiverOptions {
  /** Opens the transfer stream. */
  open(): Duplex & { readonly id: number };
  /** The 'receive' request naming the stream; resolves when the agent's receiver finished. */
  request(stream: number): Promise<void>;
  /** Trips, with the failure, when the connection is gone. */
  readonly lost: Tripwire;
  /** Maps a failure to the endpoint's view of it (the connection failure, when there is one). */
  translate(error: unknown): Promise<unknown>;
  onFinish(): void;
}

interface Transfer {
  readonly stream: Duplex;
  readonly writer: TransmissionBatcher;
  readonly done: Promise<void>;
  /** Trips when the 'receive' request failed (writes and finish also race the connection's loss). */
  readonly failed: Tripwire;
  /** Why the agent's side failed, once it did (a better answer than "the stream closed"). */
  remoteError: unknown;
}

/**
 * The DeltaReceiver of a remote stage plan: forwards the Transmissions (small ones batched, see
 * TransmissionBatcher) on a stream of its own to the agent's receiver. Awaiting write() waits
 * for stream credit, so a slow agent slows the sender (end-to-end back-pressure). finish() ends the stream and waits
 * for the agent's receiver to finish; a failed 'receive' request rejects the next write.
 */
export class ProxyReceiver implements DeltaReceiver {
  private transfer: Transfer | undefined;

  constructor(private readonly options: ProxyReceiverOptions) {}

  async write(transmission: Transmission): Promise<void> {
    const transfer = this.transfer ?? this.start();
    // Taken into the batch at once: nothing to wait for, so nothing to race (a failure shows at
    // the next write that waits, or at finish()).
    if (!this.options.lost.tripped && !transfer.failed.tripped && transfer.writer.offer(transmission)) return;
    try {
      await this.options.lost.race(transfer.failed.race(transfer.writer.write(transmission)));
    } catch (error) {
      throw await this.failure(transfer, error);
    }
  }

  async finish(): Promise<void> {
    const transfer = this.transfer ?? this.start();
    try {
      await this.options.lost.race(transfer.failed.race(transfer.writer.finish()));
      await transfer.done;
    } catch (error) {
      throw await this.failure(transfer, error);
    } finally {
      this.options.onFinish();
    }
  }

  private start(): Transfer {
    const stream = this.options.open();
    const done = this.options.request(stream.id);
    const transfer: Transfer = { stream, writer: new TransmissionBatcher(new MessageWriter(stream)), done, failed: new Tripwire(), remoteError: undefined };
    done.catch((error: unknown) => { transfer.remoteError = error; });
    transfer.failed.tripOnRejection(done);
    this.transfer = transfer;
    return transfer;
  }

  /** The connection failure, else the agent's reason, else the local error. */
  private async failure(transfer: Transfer, error: unknown): Promise<unknown> {
    transfer.stream.destroy();
    const translated = await this.options.translate(error);
    return translated !== error ? translated : (transfer.remoteError ?? error);
  }
}
