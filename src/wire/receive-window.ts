import type { WireStream } from './wire-stream.js';

/** Largest receive window one stream grows to. */
export const MAX_STREAM_WINDOW = 4 * 1024 * 1024;
/** Growth beyond the initial credit that all streams of one connection may hold together. */
export const MAX_CONNECTION_GROWTH = 32 * 1024 * 1024;
/** Credit goes back once a window / GRANT_FRACTION was read (or the peer has none left). */
const GRANT_FRACTION = 4;

/**
 * Receive-side credit of one connection's streams.
 *
 * Grants: what the consumer read goes back in steps of a quarter window (fewer, larger credit
 * frames), or all at once when the peer has no credit left. That exception keeps it live: the
 * multiplexer evaluates grants after _read(), which runs again after every push, and the push
 * that uses up the peer's credit is followed by an evaluation that sees it exhausted.
 *
 * Auto-tuning (only streams that asked for it with WireStream#tuneReceiveWindow): a stream
 * starts with the initial credit; each time its sender reports being blocked on credit while the
 * consumer keeps up (at most a quarter of the window waits unread), the window is the
 * bottleneck, so it doubles, up to the stream's maximum (at most MAX_STREAM_WINDOW) and
 * MAX_CONNECTION_GROWTH over all streams of the connection. A consumer that stops reading never
 * grows its window, so memory stays bounded by streams × initial credit + the growth budget.
 */
export class ReceiveWindows {
  private used = 0;

  constructor(
    private readonly initial: number,
    private readonly budget = MAX_CONNECTION_GROWTH,
    private readonly maxWindow = MAX_STREAM_WINDOW,
  ) {}

  /** Credit to grant `stream` now for what its consumer read (0: nothing yet); counted as sent. */
  takeGrant(stream: WireStream): number {
    if (stream.detached || stream.receivedEnd || stream.destroyed) return 0;
    const consumed = stream.received - stream.readableLength;
    const grant = consumed - stream.granted;
    if (grant <= 0) return 0;
    if (grant < stream.receiveWindow / GRANT_FRACTION && stream.received < stream.receiveLimit) return 0;
    stream.granted += grant;
    stream.receiveLimit += grant;
    return grant;
  }

  /** Extra credit for `stream` whose sender is blocked (0: none); counted as sent. */
  takeGrowth(stream: WireStream): number {
    if (stream.readableLength > stream.receiveWindow / GRANT_FRACTION) return 0;
    const limit = Math.min(this.maxWindow, stream.maxReceiveWindow);
    const growth = Math.min(stream.receiveWindow, limit - stream.receiveWindow, this.budget - this.used);
    if (growth <= 0) return 0;
    this.used += growth;
    stream.receiveWindow += growth;
    stream.receiveLimit += growth;
    return growth;
  }

  /** Returns a finished stream's growth to the budget. */
  release(stream: WireStream): void {
    this.used = Math.max(0, this.used - (stream.receiveWindow - this.initial));
  }

  /** Growth currently held by open streams. */
  get reserved(): number {
    return this.used;
  }
}
