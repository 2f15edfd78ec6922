import { describe, expect, it } from 'vitest';
import { isMutagenError } from '../../../src/base/errors.js';
import { deltaOperations } from '../../../src/sync/rsync/delta.js';
import { patchBytes } from '../../../src/sync/rsync/patch.js';
import { signatureOfBytes } from '../../../src/sync/rsync/signature.js';
import { EMPTY_SIGNATURE, MAX_DATA_OPERATION_SIZE, type Operation, type Signature } from '../../../src/sync/rsync/types.js';
import { chunksOf, collect, concat, dataBytes, seededBytes, shape } from './bytes.js';
import { referenceShapes } from './reference.js';

function checkOperations(operations: readonly Operation[], signature: Signature): void {
  let previous: Operation | undefined;
  for (const op of operations) {
    if (op.kind === 'data') {
      expect(op.data.length).toBeGreaterThan(0);
      expect(op.data.length).toBeLessThanOrEqual(MAX_DATA_OPERATION_SIZE);
    } else {
      expect(op.count).toBeGreaterThanOrEqual(1);
      expect(op.start + op.count).toBeLessThanOrEqual(signature.hashes.length);
      if (previous?.kind === 'blocks') expect(previous.start + previous.count).not.toBe(op.start); // coalesced
    }
    previous = op;
  }
}

/** Delta + patch must reproduce the target, with the same operations as the §6.3 reference. */
async function roundTrip(base: Uint8Array, target: Uint8Array, chunkSize = 65_536): Promise<Operation[]> {
  const signature = signatureOfBytes(base);
  const operations = await collect(target, signature, chunkSize);
  checkOperations(operations, signature);
  expect(Buffer.from(patchBytes(base, signature, operations)).equals(Buffer.from(target))).toBe(true);
  expect(shape(operations)).toEqual(referenceShapes(target, signature));
  return operations;
}

/** Seeded random edits: insertions, deletions and overwrites. */
function mutate(seed: number, base: Buffer, edits: number): Buffer {
  const random = seededBytes(seed, edits * 12);
  let result = base;
  for (let e = 0; e < edits; e++) {
    const at = random.readUInt32LE(e * 12) % (result.length + 1);
    const length = 1 + (random.readUInt32LE(e * 12 + 4) % 3000);
    const kind = random.readUInt32LE(e * 12 + 8) % 3;
    const fresh = seededBytes(seed * 31 + e, length);
    if (kind === 0) result = concat(result.subarray(0, at), fresh, result.subarray(at));
    else if (kind === 1) result = concat(result.subarray(0, at), result.subarray(at + length));
    else result = concat(result.subarray(0, at), fresh, result.subarray(at + length));
  }
  return result;
}

describe('deltaOperations round trips', () => {
  const base = seededBytes(1, 200_000); // block size 2190, short last block

  it('sends one block run for an identical target', async () => {
    const signature = signatureOfBytes(base);
    expect(shape(await roundTrip(base, base))).toEqual([`blocks:0+${signature.hashes.length}`]);
  });

  it('handles an insertion in the middle with data between two runs', async () => {
    const B = signatureOfBytes(base).blockSize;
    const target = concat(base.subarray(0, 10 * B), seededBytes(2, 500), base.subarray(10 * B));
    expect(shape(await roundTrip(base, target))).toEqual(['blocks:0+10', 'data:500', 'blocks:10+82']);
  });

  it('handles a deletion inside a block', async () => {
    const B = signatureOfBytes(base).blockSize;
    const target = concat(base.subarray(0, 5 * B + 7), base.subarray(5 * B + 107));
    const operations = await roundTrip(base, target);
    expect(shape(operations)).toEqual(['blocks:0+5', `data:${B - 100}`, 'blocks:6+86']);
  });

  it('handles appended and truncated targets', async () => {
    await roundTrip(base, concat(base, seededBytes(3, 70_000)));
    const truncated = await roundTrip(base, base.subarray(0, 150_001));
    expect(dataBytes(truncated)).toBeLessThan(signatureOfBytes(base).blockSize);
    await roundTrip(base, base.subarray(1234));
  });

  it('handles many random edits, with chunk sizes from 1 byte to whole buffers', async () => {
    for (let seed = 10; seed < 22; seed++) {
      const original = seededBytes(seed, 5_000 + ((seed * 7919) % 150_000));
      const edited = mutate(seed, original, 1 + (seed % 6));
      await roundTrip(original, edited, [1, 7, 4096, 65_536, 1 << 20][seed % 5]);
    }
  });

  it('finds the base at every kind of offset inside the stream', async () => {
    const small = seededBytes(4, 20_000); // block size 1024, short last block of 544
    for (const shift of [1, 2, 100, 1023, 1024, 1025, 4000, 65_536, 65_537, 70_000]) {
      const operations = await roundTrip(small, concat(seededBytes(shift, shift), small), 3000);
      expect(shape(operations)).toEqual([...splitData(shift), 'blocks:0+20']);
    }
  });

  it('sends only data for an empty base, split at 64 KiB', async () => {
    const target = seededBytes(5, 200_000);
    const operations = await roundTrip(new Uint8Array(0), target, 1000);
    expect(shape(operations)).toEqual(['data:65536', 'data:65536', 'data:65536', 'data:3392']);
  });

  it('sends nothing for an empty target', async () => {
    expect(await roundTrip(base, new Uint8Array(0))).toEqual([]);
    expect(await roundTrip(new Uint8Array(0), new Uint8Array(0))).toEqual([]);
  });

  it('matches every block when the size is an exact multiple of the block size', async () => {
    const exact = seededBytes(6, 1024 * 40);
    expect(signatureOfBytes(exact).lastBlockSize).toBe(1024);
    expect(shape(await roundTrip(exact, exact, 999))).toEqual(['blocks:0+40']);
    expect(shape(await roundTrip(exact, concat(exact.subarray(0, 1024 * 39), seededBytes(7, 10))))).toEqual(['blocks:0+39', 'data:10']);
  });

  it('matches a short last block only at the end of the target', async () => {
    const shortTail = seededBytes(8, 1024 * 3 + 300);
    expect(shape(await roundTrip(shortTail, shortTail))).toEqual(['blocks:0+4']);
    const tail = shortTail.subarray(3072);
    // The short block in the middle of the target is data; at the end it is a block.
    expect(shape(await roundTrip(shortTail, concat(tail, seededBytes(9, 2000), tail)))).toEqual(['data:2300', 'blocks:3+1']);
  });

  it('handles a target shorter than one block', async () => {
    expect(shape(await roundTrip(base, base.subarray(0, 100)))).toEqual(['data:100']);
    const tiny = seededBytes(10, 500);
    expect(shape(await roundTrip(tiny, tiny))).toEqual(['blocks:0+1']);
    expect(shape(await roundTrip(tiny, tiny.subarray(1)))).toEqual(['data:499']);
  });

  it('splits unmatched data at 64 KiB for unrelated content', async () => {
    const operations = await roundTrip(base, seededBytes(11, 300_000), 50_000);
    expect(operations.every((op) => op.kind === 'data')).toBe(true);
    expect(shape(operations)).toEqual(['data:65536', 'data:65536', 'data:65536', 'data:65536', 'data:37856']);
  });
});

function splitData(length: number): string[] {
  const parts: string[] = [];
  for (let left = length; left > 0; left -= MAX_DATA_OPERATION_SIZE) parts.push(`data:${Math.min(left, MAX_DATA_OPERATION_SIZE)}`);
  return parts;
}

describe('deltaOperations coalescing', () => {
  it('coalesces consecutive blocks and prefers the block that extends a run', async () => {
    const zeros = new Uint8Array(1024 * 10); // ten identical blocks
    const operations = await collect(zeros, signatureOfBytes(zeros));
    expect(shape(operations)).toEqual(['blocks:0+10']);
  });

  it('emits separate runs for reordered blocks', async () => {
    const base = seededBytes(12, 1024 * 6);
    const target = concat(base.subarray(3072), base.subarray(0, 3072));
    expect(shape(await collect(target, signatureOfBytes(base)))).toEqual(['blocks:3+3', 'blocks:0+3']);
  });

  it('uses a repeated block twice', async () => {
    const base = seededBytes(13, 1024 * 4);
    const target = concat(base, base.subarray(1024, 2048));
    expect(shape(await collect(target, signatureOfBytes(base)))).toEqual(['blocks:0+4', 'blocks:1+1']);
  });
});

describe('deltaOperations inputs', () => {
  it('rejects an invalid signature from a peer', async () => {
    const bad: Signature = { blockSize: 100, lastBlockSize: 100, hashes: [{ weak: 1, strong: new Uint8Array(20) }] };
    const error: unknown = await collect(seededBytes(14, 1000), bad).catch((e: unknown) => e);
    expect(isMutagenError(error) && error.code).toBe('MUTAGEN_PROTOCOL');
  });

  it('stops on abort and closes the target iterator', async () => {
    let closed = false;
    async function* target(): AsyncGenerator<Uint8Array> {
      try {
        for (let i = 0; i < 100; i++) yield await Promise.resolve(seededBytes(i, 65_536));
      } finally {
        closed = true;
      }
    }
    const controller = new AbortController();
    const seen: Operation[] = [];
    const run = async (): Promise<void> => {
      for await (const op of deltaOperations(target(), EMPTY_SIGNATURE, controller.signal)) {
        seen.push(op);
        controller.abort(new Error('stopped'));
      }
    };
    await expect(run()).rejects.toThrow('stopped');
    expect(seen).toHaveLength(1);
    expect(closed).toBe(true);
  });

  it('closes the target iterator when the consumer stops early', async () => {
    let closed = false;
    async function* target(): AsyncGenerator<Uint8Array> {
      try {
        yield* chunksOf(seededBytes(15, 500_000), 10_000);
      } finally {
        closed = true;
      }
    }
    const base = seededBytes(16, 100_000);
    for await (const op of deltaOperations(target(), signatureOfBytes(base))) {
      expect(op.kind).toBe('data');
      break;
    }
    expect(closed).toBe(true);
  });

  it('yields data buffers that stay valid after later operations', async () => {
    const target = seededBytes(17, 400_000);
    const operations = await collect(target, signatureOfBytes(seededBytes(18, 100_000)), 4096);
    expect(Buffer.concat(operations.map((op) => (op.kind === 'data' ? op.data : new Uint8Array(0)))).equals(target)).toBe(true);
  });
});
