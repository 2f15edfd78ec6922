import { createHash } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blockSizeFor, rollWeakHash, signatureOfBytes, signatureOfFile, weakHash } from '../../../src/sync/rsync/signature.js';
import { EMPTY_SIGNATURE } from '../../../src/sync/rsync/types.js';
import { seededBytes } from './bytes.js';

/** The §6.3 formula, computed directly with exact (non-wrapping) arithmetic. */
function directWeak(block: Uint8Array, blockSize: number): number {
  let r1 = 0;
  let r2 = 0;
  block.forEach((x, i) => {
    r1 += x;
    r2 += (blockSize - i) * x;
  });
  return (r1 % 65_536) + 65_536 * (r2 % 65_536);
}

function sha1(bytes: Uint8Array): Buffer {
  return createHash('sha1').update(bytes).digest();
}

describe('blockSizeFor', () => {
  it('follows floor(sqrt(24 × length)) clamped to [1024, 65536], 8192 when unknown', () => {
    expect(blockSizeFor(undefined)).toBe(8192);
    expect(blockSizeFor(0)).toBe(1024);
    expect(blockSizeFor(1)).toBe(1024);
    expect(blockSizeFor(43_690)).toBe(1024);
    expect(blockSizeFor(43_691)).toBe(1024);
    expect(blockSizeFor(1_000_000)).toBe(4898);
    expect(blockSizeFor(64 * 1024 * 1024)).toBe(40_132);
    expect(blockSizeFor(178_956_970)).toBe(65_535);
    expect(blockSizeFor(178_956_971)).toBe(65_536);
    expect(blockSizeFor(256 * 1024 * 1024)).toBe(65_536);
    expect(blockSizeFor(2 ** 40)).toBe(65_536);
  });
});

describe('weakHash', () => {
  it('matches the direct formula for random blocks, short blocks and extreme bytes', () => {
    for (const [seed, blockSize, length] of [[1, 1024, 1024], [2, 1024, 17], [3, 8192, 8192], [4, 65_536, 65_536], [5, 40_131, 40_000], [6, 4096, 1]]) {
      const block = seededBytes(seed!, length!);
      expect(weakHash(block, blockSize!)).toBe(directWeak(block, blockSize!));
    }
    const ones = Buffer.alloc(65_536, 0xff);
    expect(weakHash(ones, 65_536)).toBe(directWeak(ones, 65_536));
    expect(weakHash(new Uint8Array(0), 1024)).toBe(0);
  });

  it('matches the direct formula at every alignment and odd lengths', () => {
    const bytes = seededBytes(7, 5000);
    for (let offset = 0; offset < 8; offset++) {
      for (const length of [1, 3, 255, 256, 257, 1023, 4097]) {
        const block = bytes.subarray(offset, offset + length);
        expect(weakHash(block, 4097)).toBe(directWeak(block, 4097));
      }
    }
  });

  it('matches the direct formula on the WebAssembly path: every length around its threshold and 16-byte steps, large and saturated blocks', () => {
    const bytes = seededBytes(8, 400_000);
    for (let length = 1000; length <= 1100; length++) {
      const block = bytes.subarray(length % 5, (length % 5) + length);
      expect(weakHash(block, 65_536)).toBe(directWeak(block, 65_536));
    }
    // Past the module's first 64 KiB page (its memory grows), then back to a short block.
    for (const length of [65_535, 65_536, 65_537, 131_072 + 15, 399_990]) {
      const block = bytes.subarray(7, 7 + length);
      expect(weakHash(block, Math.max(length, 65_536))).toBe(directWeak(block, Math.max(length, 65_536)));
    }
    const saturated = Buffer.alloc(300_001, 0xff);
    expect(weakHash(saturated, 300_001)).toBe(directWeak(saturated, 300_001));
    expect(weakHash(bytes.subarray(3, 2003), 2000)).toBe(directWeak(bytes.subarray(3, 2003), 2000));
  });

  it('is an unsigned 32-bit value', () => {
    const block = Buffer.alloc(4096, 0xff);
    const value = weakHash(block, 4096);
    expect(Number.isInteger(value)).toBe(true);
    expect(value).toBeGreaterThanOrEqual(2 ** 31);
    expect(value).toBeLessThan(2 ** 32);
  });

  it('rolls to the recomputed hash at every offset', () => {
    for (const [seed, blockSize, length] of [[11, 1024, 6000], [12, 4096, 12_000]]) {
      const bytes = seededBytes(seed!, length!);
      // Bias part of the buffer to 0xff so the sums wrap around.
      bytes.fill(0xff, 2000, 3500);
      let rolling = weakHash(bytes.subarray(0, blockSize), blockSize!);
      for (let offset = 0; offset + blockSize! < bytes.length; offset++) {
        rolling = rollWeakHash(rolling, bytes[offset]!, bytes[offset + blockSize!]!, blockSize!);
        expect(rolling).toBe(weakHash(bytes.subarray(offset + 1, offset + 1 + blockSize!), blockSize!));
      }
    }
  });
});

describe('signatureOfBytes', () => {
  it('is {0, 0, []} for an empty base', () => {
    expect(signatureOfBytes(new Uint8Array(0))).toEqual(EMPTY_SIGNATURE);
  });

  it('uses the full block size when the length is an exact multiple', () => {
    const base = seededBytes(21, 3 * 1024);
    const signature = signatureOfBytes(base);
    expect(signature.blockSize).toBe(1024);
    expect(signature.lastBlockSize).toBe(1024);
    expect(signature.hashes).toHaveLength(3);
    signature.hashes.forEach((h, i) => {
      const block = base.subarray(i * 1024, (i + 1) * 1024);
      expect(h.weak).toBe(directWeak(block, 1024));
      expect(Buffer.from(h.strong).equals(sha1(block))).toBe(true);
    });
  });

  it('hashes a short last block with the full block size in the weak hash', () => {
    const base = seededBytes(22, 2 * 1024 + 100);
    const signature = signatureOfBytes(base);
    expect(signature.lastBlockSize).toBe(100);
    expect(signature.hashes).toHaveLength(3);
    const last = base.subarray(2048);
    expect(signature.hashes[2]!.weak).toBe(directWeak(last, 1024));
    expect(Buffer.from(signature.hashes[2]!.strong).equals(sha1(last))).toBe(true);
  });

  it('covers a base smaller than one block with a single short block', () => {
    const signature = signatureOfBytes(seededBytes(23, 10));
    expect(signature).toMatchObject({ blockSize: 1024, lastBlockSize: 10 });
    expect(signature.hashes).toHaveLength(1);
  });
});

describe('signatureOfFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rsync-signature-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function fileSignature(bytes: Uint8Array, size = bytes.length, signal?: AbortSignal): Promise<ReturnType<typeof signatureOfBytes>> {
    const path = join(dir, 'base');
    await writeFile(path, bytes);
    const handle = await open(path, 'r');
    try {
      return await signatureOfFile(handle, size, signal);
    } finally {
      await handle.close();
    }
  }

  it('equals the in-memory signature for many sizes', async () => {
    for (const length of [0, 1, 1023, 1024, 1025, 5000, 262_144, 300_000, (1 << 20) + 7, 3 * 1024 * 1024]) {
      const bytes = seededBytes(length + 1, length);
      expect(await fileSignature(bytes), `length ${length}`).toEqual(signatureOfBytes(bytes));
    }
  });

  it('covers only the first `size` bytes of a longer file', async () => {
    const bytes = seededBytes(31, 100_000);
    expect(await fileSignature(bytes, 60_000)).toEqual(signatureOfBytes(bytes.subarray(0, 60_000)));
  });

  it('covers what exists when the file is shorter than `size`', async () => {
    const bytes = seededBytes(32, 50_000);
    const signature = await fileSignature(bytes, 80_000);
    expect(signature.blockSize).toBe(blockSizeFor(80_000));
    const covered = (signature.hashes.length - 1) * signature.blockSize + signature.lastBlockSize;
    expect(covered).toBe(50_000);
  });

  it('rejects when the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(fileSignature(seededBytes(33, 10_000), 10_000, controller.signal)).rejects.toThrow('stop');
  });
});
