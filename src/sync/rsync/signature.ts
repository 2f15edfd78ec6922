import type { FileHandle } from 'node:fs/promises';
import { digestOnce } from '../../base/digest.js';
import { EMPTY_SIGNATURE, type BlockHash, type Signature } from './types.js';
import { WEAK_HASH_WASM } from './weak-hash-wasm.js';

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

/** {@link weakHash} of `buffer[start, end)` without making a copy in JavaScript (hot path of the delta engine). */
export function weakHashRange(buffer: Uint8Array, start: number, end: number, blockSize: number): number {
  const length = end - start;
  const sums = (length >= WASM_MINIMUM ? wasmSums(buffer, start, end) : undefined) ?? scalarSums(buffer, start, end);
  const s1 = sums & MODULUS_MASK;
  // The sums weight x[i] by (n − i); the block's weights B − i add (B − n)·s1.
  const r2 = ((sums >>> 16) + Math.imul(blockSize - length, s1)) | 0;
  return (s1 | ((r2 & MODULUS_MASK) << 16)) >>> 0;
}

/** True when a Uint32Array reads bytes little-endian (the word path of scalarSums). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Below this many bytes a word view costs more than it saves. */
const WORD_PATH_MINIMUM = 256;
/** From this many bytes the WebAssembly sums (copy included) beat the word path. */
const WASM_MINIMUM = 1024;

/**
 * The packed sums `(s1 mod 2^16) | (s2 mod 2^16) << 16` with s1 = Σ x[i] and s2 = Σ (n − i)·x[i]
 * over `buffer[start, end)` (n bytes), in wrapping int32: only the low 16 bits count.
 */
function scalarSums(buffer: Uint8Array, start: number, end: number): number {
  // With prefix sums S_k = x[0] + … + x[k]: Σ (n − i)·x[i] = Σ S_k.
  let s1 = 0;
  let s2 = 0;
  let i = start;
  if (LITTLE_ENDIAN && end - start >= WORD_PATH_MINIMUM) {
    // Bytes up to a 4-byte boundary, then four bytes per aligned 32-bit load.
    for (; (buffer.byteOffset + i) % 4 !== 0; i++) {
      s1 = (s1 + buffer[i]!) | 0;
      s2 = (s2 + s1) | 0;
    }
    const words = new Uint32Array(buffer.buffer, buffer.byteOffset + i, (end - i) >>> 2);
    for (let k = 0; k < words.length; k++) {
      const word = words[k]!;
      const a = word & 0xff;
      const b = (word >>> 8) & 0xff;
      const c = (word >>> 16) & 0xff;
      const d = word >>> 24;
      s2 = (s2 + 4 * s1 + 4 * a + 3 * b + 2 * c + d) | 0;
      s1 = (s1 + a + b + c + d) | 0;
    }
    i += words.length * 4;
  }
  for (; i < end; i++) {
    s1 = (s1 + buffer[i]!) | 0;
    s2 = (s2 + s1) | 0;
  }
  return ((s1 & MODULUS_MASK) | (s2 << 16)) >>> 0;
}

/** The part of the WebAssembly API used here (the project's lib settings carry no WebAssembly types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: Record<string, unknown> };
}

interface WeakHashModule {
  readonly memory: WasmMemory;
  readonly weak: (pointer: number, length: number) => number;
  view: Uint8Array;
}

/** weak-hash.wat instantiated on first use; null when this runtime cannot (no WebAssembly SIMD). */
let wasmModule: WeakHashModule | null | undefined;

function loadWasm(): WeakHashModule | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) return null;
  try {
    const { exports } = new api.Instance(new api.Module(WEAK_HASH_WASM));
    const memory = exports['memory'] as WasmMemory | undefined;
    const weak = exports['weak'];
    if (memory === undefined || !(memory.buffer instanceof ArrayBuffer) || typeof weak !== 'function') return null;
    return { memory, weak: weak as WeakHashModule['weak'], view: new Uint8Array(memory.buffer) };
  } catch {
    return null;
  }
}

/**
 * {@link scalarSums} computed by weak-hash.wat (16 bytes per SIMD step; with the copy into its
 * memory about 2-3× the word path: 256 MiB in 85 ms instead of 160-250 ms), or undefined when
 * WebAssembly is unavailable.
 */
function wasmSums(buffer: Uint8Array, start: number, end: number): number | undefined {
  if (wasmModule === undefined) wasmModule = loadWasm();
  if (wasmModule === null) return undefined;
  const length = end - start;
  if (wasmModule.view.byteLength < length) {
    wasmModule.memory.grow(Math.ceil((length - wasmModule.view.byteLength) / WASM_PAGE));
    wasmModule.view = new Uint8Array(wasmModule.memory.buffer);
  }
  wasmModule.view.set(buffer.subarray(start, end));
  return wasmModule.weak(0, length) >>> 0;
}

const WASM_PAGE = 65_536;

/** Slides a weak hash by one byte: drops `out` at the front, appends `incoming` at the back. */
export function rollWeakHash(weak: number, out: number, incoming: number, blockSize: number): number {
  const r1 = ((weak & MODULUS_MASK) - out + incoming) & MODULUS_MASK;
  const r2 = ((weak >>> 16) - Math.imul(blockSize, out) + r1) & MODULUS_MASK;
  return (r1 | (r2 << 16)) >>> 0;
}

/** SHA-1 of a block: the strong hash is always SHA-1, whatever the session hash. */
export function strongHash(block: Uint8Array): Buffer {
  return digestOnce('sha1', block);
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
 * 256 KiB into two reused buffers (the next read runs while the current chunk is hashed; the
 * handle's file position is not used or moved). The block size follows from `size`; if the
 * file turns out shorter, the signature covers what was read. The caller owns `handle`.
 * Rejects with the signal's reason when `signal` aborts.
 */
export async function signatureOfFile(handle: FileHandle, size: number, signal?: AbortSignal): Promise<Signature> {
  signal?.throwIfAborted();
  if (size <= 0) return EMPTY_SIGNATURE;
  const blockSize = blockSizeFor(size);
  const chunkSize = Math.max(1, Math.floor(SIGNATURE_READ_SIZE / blockSize)) * blockSize;
  const buffers = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)] as const;
  const hashes: BlockHash[] = [];
  let lastBlockSize = 0;
  let position = 0;
  let turn = 0;
  let pending: Promise<number> | undefined = readFully(handle, buffers[0], Math.min(chunkSize, size), 0);
  while (pending !== undefined) {
    const filled: number = await pending;
    const buffer = buffers[turn]!;
    position += filled;
    signal?.throwIfAborted();
    turn = 1 - turn;
    // Start the next read before hashing this chunk; a short chunk means end of file.
    pending = filled === chunkSize && position < size
      ? readFully(handle, buffers[turn]!, Math.min(chunkSize, size - position), position)
      : undefined;
    for (let offset = 0; offset < filled; offset += blockSize) {
      const end = Math.min(filled, offset + blockSize);
      hashes.push(blockHash(buffer.subarray(offset, end), blockSize));
      lastBlockSize = end - offset;
    }
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
