import { hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { EMPTY_SIGNATURE, type BlockHash, type Signature } from './types.js';

/** Weak hash modulus M = 2^16 (sync-semantics §6.3); M divides 2^32, so uint32 wrap-around is harmless. */
const MODULUS_MASK = 0xffff;
const MINIMUM_BLOCK_SIZE = 1024;
const MAXIMUM_BLOCK_SIZE = 65_536;
const DEFAULT_BLOCK_SIZE = 8192;
/** Target size of one positional read while computing a signature. */
const SIGNATURE_READ_SIZE = 256 * 1024;

/** `floor(sqrt(24 × baseLength))` clamped to [1024, 65536]; 8192 when the length is unknown. */
export function blockSizeFor(baseLength: number | undefined): number {
  if (baseLength === undefined) return DEFAULT_BLOCK_SIZE;
  const optimal = baseLength > 0 ? Math.floor(Math.sqrt(24 * baseLength)) : 0;
  return Math.min(MAXIMUM_BLOCK_SIZE, Math.max(MINIMUM_BLOCK_SIZE, optimal));
}

/**
 * rsync weak checksum of `block` with block size `blockSize` (used even for a short last block):
 * `r1 = Σ x[i] mod M`, `r2 = Σ (B − i)·x[i] mod M`, value `r1 + M·r2` as an unsigned 32-bit number.
 */
export function weakHash(block: Uint8Array, blockSize: number): number {
  return weakHashRange(block, 0, block.length, blockSize);
}

/** {@link weakHash} of `buffer[start, end)` without making a view (hot path of the delta engine). */
export function weakHashRange(buffer: Uint8Array, start: number, end: number, blockSize: number): number {
  let r1 = 0;
  let r2 = 0;
  // Wrapping int32 arithmetic: only the low 16 bits of each sum matter.
  for (let i = start, weight = blockSize; i < end; i++, weight--) {
    const x = buffer[i]!;
    r1 = (r1 + x) | 0;
    r2 = (r2 + Math.imul(weight, x)) | 0;
  }
  return ((r1 & MODULUS_MASK) | ((r2 & MODULUS_MASK) << 16)) >>> 0;
}

/** Slides a weak hash by one byte: drops `out` at the front, appends `incoming` at the back. */
export function rollWeakHash(weak: number, out: number, incoming: number, blockSize: number): number {
  const r1 = ((weak & MODULUS_MASK) - out + incoming) & MODULUS_MASK;
  const r2 = ((weak >>> 16) - Math.imul(blockSize, out) + r1) & MODULUS_MASK;
  return (r1 | (r2 << 16)) >>> 0;
}

/** SHA-1 of a block: the strong hash is always SHA-1, whatever the session hash. */
export function strongHash(block: Uint8Array): Buffer {
  return hash('sha1', block, 'buffer');
}

function blockHash(block: Uint8Array, blockSize: number): BlockHash {
  return { weak: weakHash(block, blockSize), strong: strongHash(block) };
}

/** Signature of in-memory bytes (tests and small data such as encoded snapshots). */
export function signatureOfBytes(base: Uint8Array): Signature {
  if (base.length === 0) return EMPTY_SIGNATURE;
  const blockSize = blockSizeFor(base.length);
  const hashes: BlockHash[] = [];
  for (let offset = 0; offset < base.length; offset += blockSize) {
    hashes.push(blockHash(base.subarray(offset, Math.min(base.length, offset + blockSize)), blockSize));
  }
  const lastBlockSize = base.length - (hashes.length - 1) * blockSize;
  return { blockSize, lastBlockSize, hashes };
}

/**
 * Signature of the first `size` bytes of an open file, read with positional reads of about
 * 256 KiB into one reused buffer (the handle's file position is not used or moved). The block
 * size follows from `size`; if the file turns out shorter, the signature covers what was read.
 * The caller owns `handle`. Rejects with the signal's reason when `signal` aborts.
 */
export async function signatureOfFile(handle: FileHandle, size: number, signal?: AbortSignal): Promise<Signature> {
  signal?.throwIfAborted();
  if (size <= 0) return EMPTY_SIGNATURE;
  const blockSize = blockSizeFor(size);
  const buffer = Buffer.allocUnsafe(Math.max(1, Math.floor(SIGNATURE_READ_SIZE / blockSize)) * blockSize);
  const hashes: BlockHash[] = [];
  let position = 0;
  let lastBlockSize = 0;
  while (position < size) {
    signal?.throwIfAborted();
    const filled = await readFully(handle, buffer, Math.min(buffer.length, size - position), position);
    for (let offset = 0; offset < filled; offset += blockSize) {
      const end = Math.min(filled, offset + blockSize);
      hashes.push(blockHash(buffer.subarray(offset, end), blockSize));
      lastBlockSize = end - offset;
    }
    position += filled;
    if (filled < buffer.length) break; // end of file (or of `size`)
  }
  if (hashes.length === 0) return EMPTY_SIGNATURE;
  return { blockSize, lastBlockSize, hashes };
}

/** Reads up to `length` bytes at `position`, fewer only at end of file. */
async function readFully(handle: FileHandle, buffer: Buffer, length: number, position: number): Promise<number> {
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}
