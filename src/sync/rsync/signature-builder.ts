import { blockSizeFor, strongHash, weakHashRange } from './signature.js';
import { EMPTY_SIGNATURE, type BlockHash, type Signature } from './types.js';

/**
 * Computes the signature of a file while it is patched, reusing the base's block hashes for
 * blocks copied whole to a block boundary of the output. After a small edit of a large file only
 * the few blocks around the edit are hashed, so the next delta needs no pass over the file to
 * compute its signature. Usable only when the output's block size (from its expected size) is
 * the base's: see {@link SignatureBuilder.create}.
 *
 * Call order per operation: `blocks()` before the bytes of a block run, then `feed()` with every
 * output byte in order (the bytes of reused blocks are skipped, the rest are hashed block by
 * block); `finish()` once at the end.
 *
 * Against an empty base (a whole file received) every block is hashed from its bytes, so a large
 * file's first delta after an initial sync needs no pass over it either.
 */
export class SignatureBuilder {
  private readonly hashes: BlockHash[] = [];
  private readonly pending: Buffer;
  private pendingLength = 0;
  /** Bytes still to come that belong to blocks whose hashes were reused. */
  private skip = 0;
  private size = 0;

  private constructor(private readonly base: Signature) {
    this.pending = Buffer.allocUnsafe(base.blockSize);
  }

  /**
   * A builder for an output of `expectedSize` bytes patched against `base` (or received whole when
   * `base` is empty); undefined when the output's block size is not the base's.
   */
  static create(base: Signature, expectedSize: number): SignatureBuilder | undefined {
    if (expectedSize <= 0) return undefined;
    if (base.hashes.length === 0) return new SignatureBuilder({ blockSize: blockSizeFor(expectedSize), lastBlockSize: 0, hashes: [] });
    if (blockSizeFor(expectedSize) !== base.blockSize) return undefined;
    return new SignatureBuilder(base);
  }

  /** Announces a block run (already validated against the base signature) about to be fed. */
  blocks(start: number, count: number): void {
    if (this.pendingLength !== 0 || this.skip !== 0) return; // not at a block boundary: hash the bytes
    const { blockSize, lastBlockSize, hashes } = this.base;
    for (let index = start; index < start + count; index++) {
      const full = index < hashes.length - 1 || lastBlockSize === blockSize;
      if (!full) return; // a short base block is hashed from its bytes
      this.hashes.push(hashes[index]!);
      this.skip += blockSize;
    }
  }

  /** The next output bytes. */
  feed(chunk: Uint8Array): void {
    this.size += chunk.byteLength;
    let offset = 0;
    if (this.skip > 0) {
      offset = Math.min(this.skip, chunk.byteLength);
      this.skip -= offset;
    }
    const blockSize = this.base.blockSize;
    // Whole blocks of the chunk are hashed where they are; only the pieces of blocks that
    // straddle chunks are gathered in `pending`.
    while (offset < chunk.byteLength) {
      if (this.pendingLength === 0 && chunk.byteLength - offset >= blockSize) {
        this.hashes.push(hashBlock(chunk.subarray(offset, offset + blockSize), blockSize, blockSize));
        offset += blockSize;
        continue;
      }
      const count = Math.min(blockSize - this.pendingLength, chunk.byteLength - offset);
      this.pending.set(chunk.subarray(offset, offset + count), this.pendingLength);
      this.pendingLength += count;
      offset += count;
      if (this.pendingLength === blockSize) {
        this.hashes.push(hashBlock(this.pending, blockSize, blockSize));
        this.pendingLength = 0;
      }
    }
  }

  /**
   * The signature of everything fed, or undefined when it would not be the one computed from
   * the file (its size calls for another block size, or fewer bytes came than announced).
   */
  finish(): Signature | undefined {
    if (this.skip !== 0) return undefined;
    if (this.size === 0) return EMPTY_SIGNATURE;
    const blockSize = this.base.blockSize;
    if (blockSizeFor(this.size) !== blockSize) return undefined;
    const hashes = this.hashes.slice();
    let lastBlockSize = blockSize;
    if (this.pendingLength > 0) {
      hashes.push(hashBlock(this.pending, this.pendingLength, blockSize));
      lastBlockSize = this.pendingLength;
    }
    return { blockSize, lastBlockSize, hashes };
  }
}

function hashBlock(buffer: Uint8Array, length: number, blockSize: number): BlockHash {
  const block = buffer.subarray(0, length);
  return { weak: weakHashRange(block, 0, length, blockSize), strong: strongHash(block) };
}
