import { mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMutagenError } from '../../../src/base/errors.js';
import { Patcher, patchBytes } from '../../../src/sync/rsync/patch.js';
import { signatureOfBytes } from '../../../src/sync/rsync/signature.js';
import { EMPTY_SIGNATURE, type Operation, type Signature } from '../../../src/sync/rsync/types.js';
import { validateSignature } from '../../../src/sync/rsync/validate.js';
import { collect, concat, seededBytes } from './bytes.js';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return isMutagenError(error) ? error.code : 'not a MutagenError';
  }
}

async function codeOfAsync(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return isMutagenError(error) ? error.code : 'not a MutagenError';
  }
}

const base = seededBytes(1, 1024 * 4 + 10); // five blocks, the last one 10 bytes
const signature = signatureOfBytes(base);

/** Operations a hostile or broken peer could send (cast where the type forbids them). */
const invalidOperations: readonly [string, Operation][] = [
  ['start past the end', { kind: 'blocks', start: 5, count: 1 }],
  ['run past the end', { kind: 'blocks', start: 3, count: 3 }],
  ['zero count', { kind: 'blocks', start: 0, count: 0 }],
  ['negative start', { kind: 'blocks', start: -1, count: 1 }],
  ['fractional start', { kind: 'blocks', start: 0.5, count: 1 }],
  ['huge count', { kind: 'blocks', start: 0, count: Number.MAX_SAFE_INTEGER }],
  ['empty data', { kind: 'data', data: new Uint8Array(0) }],
  ['oversized data', { kind: 'data', data: new Uint8Array(65_537) }],
  ['unknown kind', { kind: 'copy', start: 0, count: 1 } as unknown as Operation],
  ['data that is not bytes', { kind: 'data', data: 'text' } as unknown as Operation],
];

describe('patchBytes', () => {
  it('copies block runs, including the short last block, and writes data through', () => {
    const operations: Operation[] = [
      { kind: 'blocks', start: 4, count: 1 },
      { kind: 'data', data: Buffer.from('hello') },
      { kind: 'blocks', start: 1, count: 4 },
    ];
    const expected = concat(base.subarray(4096), Buffer.from('hello'), base.subarray(1024));
    expect(Buffer.from(patchBytes(base, signature, operations)).equals(expected)).toBe(true);
  });

  it('rejects every invalid operation with MUTAGEN_STAGING', () => {
    for (const [name, operation] of invalidOperations) {
      expect(codeOf(() => patchBytes(base, signature, [operation])), name).toBe('MUTAGEN_STAGING');
    }
    expect(codeOf(() => patchBytes(new Uint8Array(0), EMPTY_SIGNATURE, [{ kind: 'blocks', start: 0, count: 1 }]))).toBe('MUTAGEN_STAGING');
  });

  it('rejects a base shorter than its signature', () => {
    expect(codeOf(() => patchBytes(base.subarray(0, 3000), signature, [{ kind: 'blocks', start: 2, count: 1 }]))).toBe('MUTAGEN_STAGING');
  });
});

describe('Patcher', () => {
  let dir: string;
  let handle: FileHandle | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rsync-patch-'));
  });
  afterEach(async () => {
    await handle?.close();
    handle = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function openBase(bytes: Uint8Array): Promise<FileHandle> {
    await writeFile(join(dir, 'base'), bytes);
    handle = await open(join(dir, 'base'), 'r');
    return handle;
  }

  function collector(): { chunks: Uint8Array[]; sink: (chunk: Uint8Array) => Promise<void> } {
    const chunks: Uint8Array[] = [];
    // Chunks are valid only until the sink's promise resolves: keep copies.
    return { chunks, sink: (chunk) => Promise.resolve(void chunks.push(Buffer.from(chunk))) };
  }

  it('reconstructs an edited file from a base on disk, in bounded reads', async () => {
    const original = seededBytes(2, 3_000_000);
    const target = concat(original.subarray(0, 1_000_000), seededBytes(3, 777), original.subarray(1_000_100));
    const fileSignature = signatureOfBytes(original);
    const { chunks, sink } = collector();
    const patcher = new Patcher(await openBase(original), fileSignature, sink);
    for (const operation of await collect(target, fileSignature)) await patcher.apply(operation);
    expect(Buffer.concat(chunks).equals(target)).toBe(true);
    expect(patcher.bytesWritten).toBe(target.length);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(1024 * 1024);
  });

  it('works without a base for an empty signature', async () => {
    const { chunks, sink } = collector();
    const patcher = new Patcher(undefined, EMPTY_SIGNATURE, sink);
    const target = seededBytes(4, 150_000);
    for (const operation of await collect(target, EMPTY_SIGNATURE)) await patcher.apply(operation);
    expect(Buffer.concat(chunks).equals(target)).toBe(true);
  });

  it('rejects every invalid operation with MUTAGEN_STAGING and writes nothing', async () => {
    const { chunks, sink } = collector();
    const patcher = new Patcher(await openBase(base), signature, sink);
    for (const [name, operation] of invalidOperations) {
      expect(await codeOfAsync(() => patcher.apply(operation)), name).toBe('MUTAGEN_STAGING');
    }
    expect(chunks).toHaveLength(0);
    const empty = new Patcher(undefined, EMPTY_SIGNATURE, sink);
    expect(await codeOfAsync(() => empty.apply({ kind: 'blocks', start: 0, count: 1 }))).toBe('MUTAGEN_STAGING');
  });

  it('rejects a block run when the base file shrank', async () => {
    const { sink } = collector();
    const patcher = new Patcher(await openBase(base.subarray(0, 2000)), signature, sink);
    expect(await codeOfAsync(() => patcher.apply({ kind: 'blocks', start: 0, count: 3 }))).toBe('MUTAGEN_STAGING');
  });

  it('rejects a block run without a base file', async () => {
    const patcher = new Patcher(undefined, signature, collector().sink);
    expect(await codeOfAsync(() => patcher.apply({ kind: 'blocks', start: 0, count: 1 }))).toBe('MUTAGEN_STAGING');
  });

  it('rejects operations against an invalid signature', async () => {
    const bad: Signature = { ...signature, blockSize: 512 };
    const patcher = new Patcher(undefined, bad, collector().sink);
    expect(await codeOfAsync(() => patcher.apply({ kind: 'data', data: Buffer.from('x') }))).toBe('MUTAGEN_STAGING');
  });

  it('stops copying a long run when the signal aborts', async () => {
    const large = seededBytes(5, 2_000_000);
    const largeSignature = signatureOfBytes(large);
    const controller = new AbortController();
    let writes = 0;
    const patcher = new Patcher(await openBase(large), largeSignature, () => {
      writes += 1;
      controller.abort(new Error('stopped'));
      return Promise.resolve();
    });
    const run = patcher.apply({ kind: 'blocks', start: 0, count: largeSignature.hashes.length }, controller.signal);
    await expect(run).rejects.toThrow('stopped');
    expect(writes).toBe(1);
  });
});

describe('validateSignature', () => {
  const strong = new Uint8Array(20);
  const good: Signature = { blockSize: 1024, lastBlockSize: 10, hashes: [{ weak: 1, strong }, { weak: 2, strong }] };

  it('accepts valid signatures and checks the size when known', () => {
    expect(() => validateSignature(good)).not.toThrow();
    expect(() => validateSignature(good, 1034)).not.toThrow();
    expect(() => validateSignature(EMPTY_SIGNATURE, 0)).not.toThrow();
    expect(() => validateSignature(signature, base.length)).not.toThrow();
    expect(codeOf(() => validateSignature(good, 1035))).toBe('MUTAGEN_PROTOCOL');
    expect(codeOf(() => validateSignature(EMPTY_SIGNATURE, 5))).toBe('MUTAGEN_PROTOCOL');
  });

  it('rejects malformed signatures with MUTAGEN_PROTOCOL', () => {
    const cases: Signature[] = [
      { ...good, blockSize: 1023 },
      { ...good, blockSize: 65_537, lastBlockSize: 10 },
      { ...good, lastBlockSize: 0 },
      { ...good, lastBlockSize: 1025 },
      { ...good, blockSize: 1024.5 },
      { ...good, hashes: [] },
      { ...good, hashes: [{ weak: -1, strong }] },
      { ...good, hashes: [{ weak: 2 ** 32, strong }] },
      { ...good, hashes: [{ weak: 1, strong: new Uint8Array(16) }] },
      { blockSize: 0, lastBlockSize: 0, hashes: [{ weak: 1, strong }] },
      { blockSize: 0, lastBlockSize: 3, hashes: [] },
    ];
    for (const bad of cases) expect(codeOf(() => validateSignature(bad)), JSON.stringify({ ...bad, hashes: bad.hashes.length })).toBe('MUTAGEN_PROTOCOL');
  });
});
