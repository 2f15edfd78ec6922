/**
 * A FIFO of received byte chunks read from the front without concatenating the backlog: bytes
 * that lie inside one chunk are returned as views (no copy), only values spanning chunks are
 * copied once into a new buffer.
 */
export class ByteQueue {
  private readonly chunks: Buffer[] = [];
  private offset = 0;
  private size = 0;

  /** Bytes queued and not yet taken. */
  get length(): number {
    return this.size;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.size += chunk.length;
  }

  /** The byte at `index` (0 = front); the caller ensures `index < length`. */
  byteAt(index: number): number {
    let position = index + this.offset;
    for (const chunk of this.chunks) {
      if (position < chunk.length) return chunk[position] ?? 0;
      position -= chunk.length;
    }
    return 0;
  }

  /** Big-endian u32 at `index` without consuming; the caller ensures `index + 4 <= length`. */
  peekUInt32(index: number): number {
    const first = this.chunks[0];
    if (first !== undefined && this.offset + index + 4 <= first.length) return first.readUInt32BE(this.offset + index);
    return ((this.byteAt(index) << 24) | (this.byteAt(index + 1) << 16) | (this.byteAt(index + 2) << 8) | this.byteAt(index + 3)) >>> 0;
  }

  /** Removes and returns the first `count` bytes (a view when they lie in one chunk). */
  take(count: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && this.offset + count <= first.length) {
      const view = first.subarray(this.offset, this.offset + count);
      this.skip(count);
      return view;
    }
    const out = Buffer.allocUnsafe(count);
    let written = 0;
    while (written < count) {
      const chunk = this.chunks[0];
      if (chunk === undefined) throw new RangeError('byte queue underflow');
      const n = Math.min(count - written, chunk.length - this.offset);
      chunk.copy(out, written, this.offset, this.offset + n);
      written += n;
      this.skip(n);
    }
    return out;
  }

  /** Removes and returns up to `max` bytes from the front: a view of (part of) the first chunk. */
  takeFront(max: number): Buffer {
    const first = this.chunks[0];
    if (first === undefined || max <= 0) return Buffer.alloc(0);
    const view = first.subarray(this.offset, this.offset + Math.min(max, first.length - this.offset));
    this.skip(view.length);
    return view;
  }

  /** Discards the first `count` bytes. */
  skip(count: number): void {
    let remaining = count;
    this.size -= count;
    while (remaining > 0) {
      const chunk = this.chunks[0];
      if (chunk === undefined) break;
      const available = chunk.length - this.offset;
      if (remaining < available) {
        this.offset += remaining;
        return;
      }
      remaining -= available;
      this.chunks.shift();
      this.offset = 0;
    }
  }

  /** Replaces what is queued by a copy of its own, so the chunks pushed so far may be reused. */
  detach(): void {
    if (this.size === 0) return;
    const rest = Buffer.concat(this.drain());
    this.push(rest);
  }

  /** Removes and returns everything queued, as chunks (views, no copy). */
  drain(): Buffer[] {
    const out = this.chunks.splice(0);
    if (out.length > 0 && this.offset > 0) out[0] = (out[0] ?? Buffer.alloc(0)).subarray(this.offset);
    this.offset = 0;
    this.size = 0;
    return out;
  }
}
