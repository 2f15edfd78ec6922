import { strongHash, weakHashRange } from './signature.js';
import { ChunkReader } from './chunk-reader.js';
import { MAX_DATA_OPERATION_SIZE, type BlockHash, type Operation, type Signature } from './types.js';
import { validateSignature } from './validate.js';

/** Target bytes read ahead of the search window between two input refills. */
const LOOKAHEAD_SIZE = 256 * 1024;
/** Refill (after compacting) once less than this much room is left at the end of the buffer. */
const REFILL_THRESHOLD = 64 * 1024;
/**
 * A run of consecutive blocks is sent as soon as it covers this many bytes (then a new run
 * starts): a long unchanged stretch reaches the receiver in parts it can copy while the rest is
 * searched, instead of as one operation at the end of the stretch.
 */
export const MAX_RUN_BYTES = 8 * 1024 * 1024;
/** Multiplicative hashing constant for the weak-hash prefilter. */
const FILTER_MULTIPLIER = 0x9e37_79b1;
/** Prefilter size: about 512 bits per block (0.2% false positives), 8 KiB to 1 MiB. */
const FILTER_BITS_PER_BLOCK = 512;
const MINIMUM_FILTER_BITS = 16;
const MAXIMUM_FILTER_BITS = 23;

/**
 * Streams the operations that turn the base (known only by `signature`) into the bytes of
 * `target` (sync-semantics §6.3). Memory stays bounded (about 64 KiB + block size + 256 KiB of
 * target, plus the block index) whatever the target length. Every yielded data operation owns
 * a fresh buffer. Consecutive blocks are coalesced into runs of at most MAX_RUN_BYTES ([ts]
 * deviation from §6.3, which coalesces whole runs). The signature may come from an untrusted
 * peer: it is validated first
 * (MutagenError 'MUTAGEN_PROTOCOL'). Checks `signal` between input chunks; closing the
 * generator early closes the target iterator.
 */
export async function* deltaOperations(target: AsyncIterable<Uint8Array>, signature: Signature, signal?: AbortSignal): AsyncGenerator<Operation> {
  validateSignature(signature);
  const reader = new ChunkReader(target);
  try {
    if (signature.hashes.length === 0) {
      yield* chunkAll(reader, signal);
      return;
    }
    const engine = new DeltaEngine(signature);
    for (;;) {
      signal?.throwIfAborted();
      const ended = await engine.refill(reader);
      engine.search();
      if (ended) engine.finish();
      yield* engine.drain();
      if (ended) return;
    }
  } finally {
    await reader.close();
  }
}

/** Empty base: the whole target as data operations of exactly 64 KiB (the last one shorter). */
async function* chunkAll(reader: ChunkReader, signal: AbortSignal | undefined): AsyncGenerator<Operation> {
  for (;;) {
    signal?.throwIfAborted();
    const buffer = Buffer.allocUnsafe(MAX_DATA_OPERATION_SIZE);
    const filled = await reader.readInto(buffer, 0, buffer.length);
    if (filled > 0) yield { kind: 'data', data: filled === buffer.length ? buffer : buffer.subarray(0, filled) };
    if (filled < buffer.length) return;
  }
}

/** Full-size blocks by weak hash, behind a bitset prefilter probed for every byte. */
interface BlockIndex {
  /** Blocks in the index: all but a short last block. */
  readonly fullBlocks: number;
  readonly filter: Int32Array;
  readonly filterShift: number;
  /** Keyed by the weak hash as an int32 (`weak | 0`), a small integer to the engine. */
  readonly byWeak: Map<number, number[]>;
}

function buildIndex(hashes: readonly BlockHash[], fullBlocks: number): BlockIndex {
  let bits = MINIMUM_FILTER_BITS;
  while (bits < MAXIMUM_FILTER_BITS && 2 ** bits < fullBlocks * FILTER_BITS_PER_BLOCK) bits++;
  const filter = new Int32Array(2 ** (bits - 5));
  const filterShift = 32 - bits;
  const byWeak = new Map<number, number[]>();
  for (let index = 0; index < fullBlocks; index++) {
    const weak = hashes[index]!.weak;
    const slot = Math.imul(weak, FILTER_MULTIPLIER) >>> filterShift;
    filter[slot >>> 5] = filter[slot >>> 5]! | (1 << (slot & 31));
    const list = byWeak.get(weak | 0);
    if (list === undefined) byWeak.set(weak | 0, [index]);
    else list.push(index);
  }
  return { fullBlocks, filter, filterShift, byWeak };
}

/**
 * The search state over one buffer: `[dataStart, windowEnd − B)` is pending literal data,
 * `[windowEnd − B, windowEnd)` the search window (when `haveWindow`), `[windowEnd, filled)` read
 * but not yet searched. Pending data never exceeds 64 KiB, so the buffer holds at most
 * 64 KiB + B of history plus the lookahead.
 */
class DeltaEngine {
  private readonly blockSize: number;
  private readonly hashes: readonly BlockHash[];
  private readonly index: BlockIndex;
  /** The short last block, searched for only at the end of the target. */
  private readonly shortLast: BlockHash | undefined;
  private readonly lastBlockSize: number;
  private readonly buffer: Buffer;
  private dataStart = 0;
  private windowEnd = 0;
  private filled = 0;
  private haveWindow = false;
  private r1 = 0;
  private r2 = 0;
  private runStart = 0;
  private runCount = 0;
  /** The block after the last one emitted, while no data followed it; else -1. */
  private expected = -1;
  /** Longer runs are sent in parts, so the receiver starts copying while the search goes on. */
  private readonly maxRunBlocks: number;
  /** True once any operation was emitted (block 0 is predicted only at the very start). */
  private emittedAny = false;
  /** SHA-1 of the window ending at `windowStrongEnd` (buffer offset), computed by predict(). */
  private windowStrong: Buffer | undefined;
  private windowStrongEnd = -1;
  private output: Operation[] = [];

  constructor(signature: Signature) {
    this.blockSize = signature.blockSize;
    this.hashes = signature.hashes;
    this.lastBlockSize = signature.lastBlockSize;
    const short = signature.lastBlockSize !== signature.blockSize;
    this.shortLast = short ? signature.hashes[signature.hashes.length - 1] : undefined;
    this.index = buildIndex(signature.hashes, signature.hashes.length - (short ? 1 : 0));
    this.buffer = Buffer.allocUnsafe(MAX_DATA_OPERATION_SIZE + this.blockSize + LOOKAHEAD_SIZE);
    this.maxRunBlocks = Math.max(1, Math.floor(MAX_RUN_BYTES / this.blockSize));
  }

  /** Compacts if needed and reads as much target as fits; true once the target has ended. */
  async refill(reader: ChunkReader): Promise<boolean> {
    if (this.buffer.length - this.filled < REFILL_THRESHOLD) {
      const shift = this.dataStart;
      this.buffer.copyWithin(0, shift, this.filled);
      this.dataStart = 0;
      this.windowEnd -= shift;
      this.filled -= shift;
      this.windowStrongEnd = -1;
    }
    const room = this.buffer.length - this.filled;
    const read = await reader.readInto(this.buffer, this.filled, room);
    this.filled += read;
    return read < room;
  }

  /** Searches everything buffered; stops when more target bytes are needed. */
  search(): void {
    const blockSize = this.blockSize;
    for (;;) {
      if (!this.haveWindow) {
        if (this.filled - this.dataStart < blockSize) return;
        this.windowEnd = this.dataStart + blockSize;
        if (this.predict()) continue;
        const weak = weakHashRange(this.buffer, this.dataStart, this.windowEnd, blockSize);
        this.r1 = weak & 0xffff;
        this.r2 = weak >>> 16;
        this.haveWindow = true;
        if (this.probe(weak)) continue;
      }
      if (this.slide()) continue;
      if (this.windowEnd - blockSize - this.dataStart === MAX_DATA_OPERATION_SIZE) {
        // The buffer (64 KiB + B) is full without a match: send all but the window.
        this.emitData(this.dataStart, this.windowEnd - blockSize);
        this.dataStart = this.windowEnd - blockSize;
        continue;
      }
      return;
    }
  }

  /**
   * The hot loop: rolls the window one byte at a time until a match (true), 64 KiB of pending
   * data, or the end of buffered input (false). Integer arithmetic only, no allocation.
   */
  private slide(): boolean {
    const { buffer, blockSize } = this;
    const { filter, filterShift } = this.index;
    const end = Math.min(this.filled, this.dataStart + MAX_DATA_OPERATION_SIZE + blockSize);
    let r1 = this.r1;
    let r2 = this.r2;
    let i = this.windowEnd;
    while (i < end) {
      const out = buffer[i - blockSize]!;
      r1 = (r1 - out + buffer[i]!) & 0xffff;
      r2 = (r2 - blockSize * out + r1) & 0xffff;
      i++;
      const weak = r1 | (r2 << 16);
      const slot = Math.imul(weak, FILTER_MULTIPLIER) >>> filterShift;
      if ((filter[slot >>> 5]! & (1 << (slot & 31))) !== 0) {
        this.windowEnd = i;
        this.r1 = r1;
        this.r2 = r2;
        if (this.probe(weak)) return true;
      }
    }
    this.windowEnd = i;
    this.r1 = r1;
    this.r2 = r2;
    return false;
  }

  /**
   * A fresh window right after a match (or at the start) is most likely the next block of the
   * base (unchanged regions): compare its SHA-1 with that block's first and skip the weak hash
   * and the index. Chooses exactly what probe() would (it prefers the block that extends the
   * run, and equal SHA-1 means equal bytes, hence an equal weak hash); on a miss the SHA-1 is
   * kept for probe() on the same window.
   */
  private predict(): boolean {
    const next = this.expected >= 0 ? this.expected : this.emittedAny ? -1 : 0;
    if (next < 0 || next >= this.index.fullBlocks) return false;
    const windowStart = this.windowEnd - this.blockSize;
    const strong = strongHash(this.buffer.subarray(windowStart, this.windowEnd));
    if (!strong.equals(this.hashes[next]!.strong)) {
      this.windowStrong = strong;
      this.windowStrongEnd = this.windowEnd;
      return false;
    }
    this.emitBlock(next);
    this.dataStart = this.windowEnd;
    return true;
  }

  /** On a weak and strong match of the window: send the data before it, then the block. */
  private probe(weak: number): boolean {
    const candidates = this.index.byWeak.get(weak | 0);
    if (candidates === undefined) return false;
    const windowStart = this.windowEnd - this.blockSize;
    const known = this.windowStrongEnd === this.windowEnd ? this.windowStrong : undefined;
    const strong = known ?? strongHash(this.buffer.subarray(windowStart, this.windowEnd));
    const next = this.expected;
    let match = -1;
    for (const candidate of candidates) {
      if (!strong.equals(this.hashes[candidate]!.strong)) continue;
      if (match < 0) match = candidate;
      if (candidate === next) {
        match = candidate; // identical blocks: prefer the one that extends the current run
        break;
      }
    }
    if (match < 0) return false;
    this.emitData(this.dataStart, windowStart);
    this.emitBlock(match);
    this.dataStart = this.windowEnd;
    this.haveWindow = false;
    return true;
  }

  /** End of target: try the short last block against the tail, then send what is left. */
  finish(): void {
    const last = this.shortLast;
    const tailLength = this.lastBlockSize;
    if (last !== undefined && this.filled - this.dataStart >= tailLength) {
      const tailStart = this.filled - tailLength;
      if (weakHashRange(this.buffer, tailStart, this.filled, this.blockSize) === last.weak
        && strongHash(this.buffer.subarray(tailStart, this.filled)).equals(last.strong)) {
        this.emitData(this.dataStart, tailStart);
        this.emitBlock(this.hashes.length - 1);
        this.dataStart = this.filled;
      }
    }
    this.emitData(this.dataStart, this.filled);
    this.dataStart = this.filled;
    this.flushRun();
  }

  /** Operations produced since the last drain (bounded by one buffer's worth). */
  drain(): Operation[] {
    const operations = this.output;
    this.output = [];
    return operations;
  }

  private emitData(start: number, end: number): void {
    if (end <= start) return;
    this.emittedAny = true;
    this.expected = -1;
    this.flushRun();
    for (let offset = start; offset < end; offset += MAX_DATA_OPERATION_SIZE) {
      const stop = Math.min(end, offset + MAX_DATA_OPERATION_SIZE);
      const data = Buffer.allocUnsafe(stop - offset);
      this.buffer.copy(data, 0, offset, stop);
      this.output.push({ kind: 'data', data });
    }
  }

  private emitBlock(index: number): void {
    this.emittedAny = true;
    this.expected = index + 1;
    if (this.runCount > 0 && this.runStart + this.runCount === index && this.runCount < this.maxRunBlocks) {
      this.runCount++;
      return;
    }
    this.flushRun();
    this.runStart = index;
    this.runCount = 1;
  }

  private flushRun(): void {
    if (this.runCount === 0) return;
    this.output.push({ kind: 'blocks', start: this.runStart, count: this.runCount });
    this.runCount = 0;
  }
}
