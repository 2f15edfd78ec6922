import { describe, expect, it } from 'vitest';
import { deltaOperations } from '../../../src/sync/rsync/delta.js';
import { SignatureBuilder } from '../../../src/sync/rsync/signature-builder.js';
import { blockSizeFor, signatureOfBytes } from '../../../src/sync/rsync/signature.js';
import type { Operation, Signature } from '../../../src/sync/rsync/types.js';
import { operationRange } from '../../../src/sync/rsync/validate.js';
import { chunksOf, concat, seededBytes } from './bytes.js';

/** Patches `target` from `base` the way the receiver does, feeding a builder; returns its signature. */
async function build(base: Uint8Array, target: Uint8Array, feedSize = 256 * 1024): Promise<{ signature: Signature | undefined; hashed: number }> {
  const baseSignature = signatureOfBytes(base);
  const builder = SignatureBuilder.create(baseSignature, target.length);
  if (builder === undefined) return { signature: undefined, hashed: -1 };
  const operations: Operation[] = [];
  for await (const operation of deltaOperations(chunksOf(target, 65_536), baseSignature)) operations.push(operation);
  for (const operation of operations) {
    const range = operationRange(operation, baseSignature);
    let bytes: Uint8Array;
    if (operation.kind === 'blocks' && range !== undefined) {
      builder.blocks(operation.start, operation.count);
      bytes = base.subarray(range.offset, range.offset + range.length);
    } else if (operation.kind === 'data') {
      bytes = operation.data;
    } else {
      throw new Error('unexpected operation');
    }
    for (let offset = 0; offset < bytes.length; offset += feedSize) builder.feed(bytes.subarray(offset, offset + feedSize));
  }
  const signature = builder.finish();
  const reused = signature === undefined ? 0 : signature.hashes.filter((h) => baseSignature.hashes.includes(h)).length;
  return { signature, hashed: signature === undefined ? -1 : signature.hashes.length - reused };
}

describe('SignatureBuilder', () => {
  it('gives the signature of the patched file, hashing only the blocks around a one-byte change', async () => {
    const base = seededBytes(1, 200_000);
    const blockSize = blockSizeFor(base.length);
    const target = Buffer.from(base);
    target[100_000]! ^= 0xff;
    const { signature, hashed } = await build(base, target);
    expect(signature).toEqual(signatureOfBytes(target));
    expect(hashed).toBe(2); // the changed block and the short last block (copied from the base's own)
    expect(signature?.blockSize).toBe(blockSize);
  });

  it('equals signatureOfBytes after insertions, deletions and appends of every size, fed in any chunking', async () => {
    const base = seededBytes(2, 300_000);
    const random = seededBytes(3, 2048);
    for (let trial = 0; trial < 25; trial++) {
      const at = random.readUInt32LE(trial * 8) % base.length;
      const length = 1 + (random.readUInt32LE(trial * 8 + 4) % 5000);
      const kind = trial % 3;
      const target = kind === 0
        ? concat(base.subarray(0, at), seededBytes(trial + 10, length), base.subarray(at))
        : kind === 1 ? concat(base.subarray(0, at), base.subarray(Math.min(base.length, at + length)))
          : concat(base, seededBytes(trial + 10, length));
      const { signature } = await build(base, target, 1 + ((trial * 7919) % 70_000));
      if (blockSizeFor(target.length) !== blockSizeFor(base.length)) expect(signature).toBeUndefined();
      else expect(signature).toEqual(signatureOfBytes(target));
    }
  });

  it('is not created when the block size would change or nothing is expected', () => {
    const base = signatureOfBytes(seededBytes(4, 100_000));
    expect(SignatureBuilder.create(base, 10_000_000)).toBeUndefined();
    expect(SignatureBuilder.create(base, 0)).toBeUndefined();
    expect(SignatureBuilder.create(base, 100_000)).toBeDefined();
  });

  it('hashes every block of a file received whole (empty base), fed in any chunking', () => {
    const empty = signatureOfBytes(new Uint8Array(0));
    for (const [size, feedSize] of [[1, 1], [100_000, 7], [300_001, 65_536], [5_000_003, 1_000_003]] as const) {
      const bytes = seededBytes(size, size);
      const builder = SignatureBuilder.create(empty, bytes.length)!;
      for (let offset = 0; offset < bytes.length; offset += feedSize) builder.feed(bytes.subarray(offset, offset + feedSize));
      expect(builder.finish()).toEqual(signatureOfBytes(bytes));
    }
    const short = SignatureBuilder.create(empty, 10_000_000)!;
    short.feed(seededBytes(6, 1000));
    expect(short.finish()).toBeUndefined(); // fewer bytes than announced call for another block size
  });

  it('gives nothing when the bytes fed fall short of an announced run or need another block size', () => {
    const bytes = seededBytes(5, 100_000);
    const base = signatureOfBytes(bytes);
    const short = SignatureBuilder.create(base, bytes.length)!;
    short.blocks(0, 3);
    short.feed(bytes.subarray(0, base.blockSize));
    expect(short.finish()).toBeUndefined();
    const shrunk = SignatureBuilder.create(base, bytes.length)!;
    shrunk.feed(bytes.subarray(0, 1000));
    expect(shrunk.finish()).toBeUndefined(); // 1000 bytes call for the minimum block size
  });
});
