/**
 * Pulls bytes from an async iterable of chunks of any size into caller-provided buffers, so the
 * delta engine reads in its own block-friendly sizes. Keeps at most one pending input chunk.
 * Not safe for concurrent use; `close()` returns the underlying iterator early if unfinished.
 */
export class ChunkReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array | undefined;
  private offset = 0;
  private ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Copies up to `length` bytes into `target` at `start`; fewer only when the source has ended. */
  async readInto(target: Uint8Array, start: number, length: number): Promise<number> {
    let copied = 0;
    while (copied < length) {
      const chunk = this.chunk ?? (await this.next());
      if (chunk === undefined) break;
      const count = Math.min(length - copied, chunk.length - this.offset);
      target.set(chunk.subarray(this.offset, this.offset + count), start + copied);
      copied += count;
      this.offset += count;
      if (this.offset === chunk.length) this.chunk = undefined;
    }
    return copied;
  }

  /** Releases the source if it was not read to its end. Idempotent. */
  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.chunk = undefined;
    await this.iterator.return?.();
  }

  private async next(): Promise<Uint8Array | undefined> {
    while (!this.ended) {
      const result = await this.iterator.next();
      if (result.done === true) {
        this.ended = true;
        return undefined;
      }
      if (result.value.length === 0) continue;
      this.chunk = result.value;
      this.offset = 0;
      return result.value;
    }
    return undefined;
  }
}
