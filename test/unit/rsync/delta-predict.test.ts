import { describe, expect, it } from 'vitest';
import { deltaOperations, MAX_RUN_BYTES } from '../../../src/sync/rsync/delta.js';
import { patchBytes } from '../../../src/sync/rsync/patch.js';
import { signatureOfBytes } from '../../../src/sync/rsync/signature.js';
import { chunksOf, collect, concat, seededBytes, shape } from './bytes.js';
import { referenceShapes } from './reference.js';

/**
 * The delta engine checks a fresh window against the block after the current run (or block 0
 * at the start) by SHA-1 before computing the weak hash. These cases aim at that shortcut: it
 * must choose exactly what the engine chose without it (the oracle above).
 */
async function sameAsReference(base: Uint8Array, target: Uint8Array, chunkSize = 65_536): Promise<string[]> {
  const signature = signatureOfBytes(base);
  const operations = await collect(target, signature, chunkSize);
  expect(Buffer.from(patchBytes(base, signature, operations)).equals(Buffer.from(target))).toBe(true);
  const shapes = shape(operations);
  expect(shapes).toEqual(referenceShapes(target, signature, { preferNext: true }));
  return shapes;
}

describe('deltaOperations next-block shortcut', () => {
  it('sends one run for an unchanged file and two runs around a one-byte change', async () => {
    const base = seededBytes(1, 1024 * 1024);
    const { blockSize, hashes } = signatureOfBytes(base);
    expect(await sameAsReference(base, base)).toEqual([`blocks:0+${hashes.length}`]);
    const target = Buffer.from(base);
    target[blockSize * 20 + 7]! ^= 1;
    expect(await sameAsReference(base, target)).toEqual(['blocks:0+20', `data:${blockSize}`, `blocks:21+${hashes.length - 21}`]);
  });

  it('coalesces runs of identical blocks as before', async () => {
    const zeros = new Uint8Array(1024 * 10);
    expect(await sameAsReference(zeros, zeros)).toEqual(['blocks:0+10']);
    expect(await sameAsReference(zeros, concat(zeros, seededBytes(10, 100), zeros))).toEqual(['blocks:0+10', 'data:100', 'blocks:0+10']);
  });

  it('prefers the lowest block at the start and the run-extending block later, with duplicates', async () => {
    const a = seededBytes(2, 1024);
    const b = seededBytes(3, 1024);
    // Blocks: a b a a b; the target repeats and reorders them.
    const base = concat(a, b, a, a, b);
    await sameAsReference(base, concat(a, a, b, b, a, b, a));
    await sameAsReference(base, concat(b, a, a, b));
    await sameAsReference(base, concat(a, b, a, a, b, a, b));
  });

  it('does not predict the short last block in the middle of the target', async () => {
    const base = seededBytes(4, 1024 * 8 + 300);
    const tail = base.subarray(1024 * 8);
    await sameAsReference(base, concat(base.subarray(0, 1024 * 8), tail, base.subarray(0, 2048)));
    await sameAsReference(base, concat(base, base));
  });

  it('matches the reference for a target that starts with another block than block 0', async () => {
    const base = seededBytes(5, 1024 * 16);
    await sameAsReference(base, base.subarray(1024 * 3));
    await sameAsReference(base, concat(seededBytes(6, 1500), base));
    await sameAsReference(base, concat(base.subarray(0, 1024 * 4), seededBytes(7, 1024), base.subarray(1024 * 4)));
  });

  it('matches the reference on random insertions and deletions at and between block boundaries', async () => {
    const base = seededBytes(8, 1024 * 40 + 123);
    const random = seededBytes(9, 4096);
    for (let trial = 0; trial < 30; trial++) {
      let target: Buffer = base;
      for (let edit = 0; edit < 4; edit++) {
        const word = random.readUInt32LE((trial * 4 + edit) * 8);
        const onBoundary = (word & 1) === 0;
        const at = onBoundary ? 1024 * ((word >>> 1) % 40) : (word >>> 1) % target.length;
        const length = 1 + (random.readUInt32LE((trial * 4 + edit) * 8 + 4) % 2048);
        target = (word & 2) === 0
          ? concat(target.subarray(0, at), seededBytes(trial * 10 + edit, length), target.subarray(at))
          : concat(target.subarray(0, at), target.subarray(Math.min(target.length, at + length)));
      }
      await sameAsReference(base, target, 1 + (trial * 997) % 70_000);
    }
  });

  it('sends long runs in parts of at most MAX_RUN_BYTES, which join up to the whole runs', async () => {
    const base = seededBytes(11, 20 * 1024 * 1024 + 5000);
    const target = Buffer.from(base);
    target[9 * 1024 * 1024]! ^= 1;
    const signature = signatureOfBytes(base);
    const shapes: string[] = [];
    for await (const operation of deltaOperations(chunksOf(target, 1024 * 1024), signature)) {
      if (operation.kind === 'blocks') expect(operation.count * signature.blockSize).toBeLessThanOrEqual(MAX_RUN_BYTES);
      shapes.push(...shape([operation]));
    }
    expect(shapes.length).toBeGreaterThan(4);
    // Adjacent consecutive runs joined give the whole runs of the engine without the cap.
    const joined: string[] = [];
    for (const item of shapes) {
      const previous = joined[joined.length - 1];
      const [, start, count] = /^blocks:(\d+)\+(\d+)$/.exec(item) ?? [];
      const [, previousStart, previousCount] = /^blocks:(\d+)\+(\d+)$/.exec(previous ?? '') ?? [];
      if (start !== undefined && previousStart !== undefined && Number(previousStart) + Number(previousCount) === Number(start)) {
        joined[joined.length - 1] = `blocks:${previousStart}+${Number(previousCount) + Number(count)}`;
      } else joined.push(item);
    }
    expect(joined).toEqual(referenceShapes(target, signature, { preferNext: true }));
  });
});
