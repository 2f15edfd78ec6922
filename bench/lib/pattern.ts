/**
 * The byte stream of the forwarding throughput bench: a 1 MiB block of xorshift32 output
 * (incompressible), repeated. The sink checks every received byte against it with memcmp-speed
 * Buffer comparisons, so a fast wrong stream cannot pass and checking costs almost nothing.
 */
export const PATTERN_SIZE = 1 << 20;

export function makePattern(): Buffer {
  const words = new Uint32Array(PATTERN_SIZE / 4);
  let state = 0x9e3779b9;
  for (let index = 0; index < words.length; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    words[index] = state >>> 0;
  }
  return Buffer.from(words.buffer);
}

/** Checks a stream against the repeated pattern, chunk by chunk. */
export class PatternVerifier {
  private offset = 0;
  private mismatch = false;

  constructor(private readonly pattern: Buffer) {}

  get received(): number {
    return this.offset;
  }

  get intact(): boolean {
    return !this.mismatch;
  }

  push(chunk: Buffer): void {
    let position = 0;
    while (position < chunk.length) {
      const at = this.offset % this.pattern.length;
      const length = Math.min(chunk.length - position, this.pattern.length - at);
      if (!this.mismatch && !chunk.subarray(position, position + length).equals(this.pattern.subarray(at, at + length))) this.mismatch = true;
      position += length;
      this.offset += length;
    }
  }
}
