/**
 * Block format of the 'deflate' carrier: a sequence of `u8 kind | u32 BE length | bytes`, where
 * kind 0 = stored (the bytes as written) and kind 1 = deflated (a piece of ONE raw-deflate stream
 * that runs across all deflated blocks, each ending on a Z_SYNC_FLUSH boundary). Incompressible
 * data is stored, so it costs 5 bytes per block instead of a trip through zlib.
 */

export const BLOCK_KIND_STORED = 0;
export const BLOCK_KIND_DEFLATED = 1;
export const BLOCK_HEADER_SIZE = 5;
/** Most payload bytes the writer puts in one block. */
export const MAX_BLOCK_PAYLOAD = 64 * 1024;
/** Most bytes the reader accepts in one block: the payload cap plus deflate's worst-case growth. */
export const MAX_BLOCK_WIRE_SIZE = MAX_BLOCK_PAYLOAD + 16 * 1024;

/** Blocks shorter than this are stored: deflate could save a few bytes at most, and a trip
 *  through zlib's thread pool would delay the (latency-bound) credit and control frames. */
const MIN_DEFLATE_SIZE = 128;
/** Blocks shorter than this (and not tiny) are always deflated: a sample this small says little
 *  about entropy, and small messages gain most from the shared dictionary. */
const MIN_PROBE_SIZE = 1024;
const SAMPLE_SLICES = 16;
const SAMPLE_SLICE_SIZE = 256;
/** Order-0 entropy (bits per byte) above which a block is sent stored. Random data samples at
 *  about 7.8-7.95 with 1-4 KiB samples; source text at 4.5-5.5; executables at 6-7. */
const INCOMPRESSIBLE_BITS = 7.5;

export function blockHeader(kind: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(BLOCK_HEADER_SIZE);
  header[0] = kind;
  header.writeUInt32BE(length, 1);
  return header;
}

/**
 * Cheap guess whether deflating `block` is not worth it: true for tiny blocks, and for blocks
 * whose order-0 entropy, from up to 4 KiB sampled in 16 slices spread over them, is near
 * 8 bits per byte. `histogram` is scratch space of 256 counters.
 */
export function shouldStore(block: Uint8Array, histogram: Uint32Array): boolean {
  if (block.length < MIN_DEFLATE_SIZE) return true;
  if (block.length < MIN_PROBE_SIZE) return false;
  histogram.fill(0);
  let sampled = 0;
  if (block.length <= SAMPLE_SLICES * SAMPLE_SLICE_SIZE) {
    sampled = countBytes(block, 0, block.length, histogram);
  } else {
    const stride = Math.floor((block.length - SAMPLE_SLICE_SIZE) / (SAMPLE_SLICES - 1));
    for (let slice = 0; slice < SAMPLE_SLICES; slice++) {
      const start = slice * stride;
      sampled += countBytes(block, start, start + SAMPLE_SLICE_SIZE, histogram);
    }
  }
  return entropyBits(histogram, sampled) > INCOMPRESSIBLE_BITS;
}

function countBytes(block: Uint8Array, start: number, end: number, histogram: Uint32Array): number {
  for (let index = start; index < end; index++) {
    const byte = block[index] ?? 0;
    histogram[byte] = (histogram[byte] ?? 0) + 1;
  }
  return end - start;
}

function entropyBits(histogram: Uint32Array, total: number): number {
  let bits = 0;
  for (const count of histogram) {
    if (count === 0) continue;
    const p = count / total;
    bits -= p * Math.log2(p);
  }
  return bits;
}
