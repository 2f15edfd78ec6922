import { closeSync, openSync, statSync, type BigIntStats } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { SignatureMemory, signatureAt, supplyOne } from '../../../src/sync/local/file-content.js';
import { readAhead } from '../../../src/sync/local/positional-reads.js';
import { StagingReceiver } from '../../../src/sync/local/receiver.js';
import { cacheEntryFromStat } from '../../../src/sync/local/scan-cache.js';
import { StagingStore } from '../../../src/sync/local/staging.js';
import { signatureOfBytes } from '../../../src/sync/rsync/signature.js';
import type { Signature } from '../../../src/sync/rsync/types.js';
import type { DeltaReceiver, Transmission } from '../../../src/sync/endpoint.js';
import { seededBytes } from '../rsync/bytes.js';
import { useTempDirectories } from '../../helpers/temp.js';

const MIB = 1024 * 1024;

/** Streams the file at `file` into `receiver` against `signature` (supplyOne on a descriptor of it). */
async function supplyFile(file: string, signature: Signature, receiver: DeltaReceiver, scannedSize?: number): Promise<void> {
  const fd = openSync(file, 'r');
  try {
    await supplyOne(fd, signature, receiver, () => Promise.resolve(), AbortSignal.timeout(10_000), scannedSize);
  } finally {
    closeSync(fd);
  }
}

describe('readAhead', () => {
  let dir = '';
  const temp = useTempDirectories();
  beforeEach(async () => {
    dir = await temp('read-ahead-');
  });

  it('yields the whole file in two alternating buffers, and settles its read when the consumer stops early', async () => {
    const content = seededBytes(1, 3 * MIB + 17);
    const file = path.join(dir, 'f');
    await writeFile(file, content);
    const fd = openSync(file, 'r');
    try {
      const chunks: Buffer[] = [];
      const memory = new Set<ArrayBufferLike>();
      // A chunk is valid until the next one is asked for: keep copies.
      for await (const chunk of readAhead(fd, MIB)) {
        chunks.push(Buffer.from(chunk));
        memory.add(chunk.buffer);
      }
      expect(chunks.map((c) => c.length)).toEqual([MIB, MIB, MIB, 17]);
      expect(memory.size).toBeLessThanOrEqual(2);
      expect(Buffer.concat(chunks).equals(content)).toBe(true);
      for await (const chunk of readAhead(fd, MIB)) {
        expect(chunk.length).toBe(MIB);
        break;
      }
    } finally {
      closeSync(fd);
    }
  });
});

describe('SignatureMemory', () => {
  const signature = signatureOfBytes(seededBytes(2, 100_000));
  const stat = { ino: 7n, size: 100_000n, mtimeNs: 123n, mode: 0o100644n } as unknown as BigIntStats;
  const digest = new Uint8Array(20).fill(1);

  it('gives a signature back only for the very file it was computed for', () => {
    const memory = new SignatureMemory();
    memory.remember('a', stat, digest, signature);
    const scanned = { mode: 0o100644, mtimeNs: 123n, size: 100_000, ino: 7, digest: new Uint8Array(20).fill(1) };
    expect(memory.lookup('a', scanned)).toBe(signature);
    expect(memory.lookup('b', scanned)).toBeUndefined();
    expect(memory.lookup('a', undefined)).toBeUndefined();
    expect(memory.lookup('a', { ...scanned, mtimeNs: 124n })).toBeUndefined();
    expect(memory.lookup('a', { ...scanned, ino: 8 })).toBeUndefined();
    expect(memory.lookup('a', { ...scanned, size: 99_999 })).toBeUndefined();
    expect(memory.lookup('a', { ...scanned, digest: new Uint8Array(20).fill(2) })).toBeUndefined();
    memory.forget('a');
    expect(memory.lookup('a', scanned)).toBeUndefined();
  });

  it('forgets the oldest signatures beyond its block limit', () => {
    const memory = new SignatureMemory();
    const large: Signature = { blockSize: 1024, lastBlockSize: 1024, hashes: Array.from({ length: 30_000 }, () => signature.hashes[0]!) };
    const scanned = { mode: 0o100644, mtimeNs: 123n, size: 100_000, ino: 7, digest };
    for (const name of ['a', 'b', 'c']) memory.remember(name, stat, digest, large);
    expect(memory.lookup('a', scanned)).toBeUndefined();
    expect(memory.lookup('b', scanned)).toBe(large);
    expect(memory.lookup('c', scanned)).toBe(large);
    // One signature above the whole limit is not kept (and replaces nothing else).
    const huge: Signature = { ...large, hashes: Array.from({ length: 70_000 }, () => signature.hashes[0]!) };
    memory.remember('d', stat, digest, huge);
    expect(memory.lookup('d', scanned)).toBeUndefined();
    expect(memory.lookup('c', scanned)).toBe(large);
  });
});

describe('StagingReceiver with a signature memory', () => {
  let dir = '';
  const temp = useTempDirectories();
  beforeEach(async () => {
    dir = await temp('receiver-memory-');
  });

  /** Transfers `target` to `root/big`, patched against `base` there (none: received whole). */
  async function transfer(base: Buffer | undefined, target: Buffer, memory: SignatureMemory | undefined): Promise<{ digest: Uint8Array | undefined; store: StagingStore; signature: Signature }> {
    const root = path.join(dir, 'root');
    await rm(root, { recursive: true, force: true });
    await writeFile(path.join(dir, 'source'), target);
    await mkdir(root, { recursive: true });
    if (base !== undefined) await writeFile(path.join(root, 'big'), base);
    const signature = await signatureAt(path.join(root, 'big'), AbortSignal.timeout(10_000));
    const store = new StagingStore({ root: path.join(dir, `staging-${Math.random()}`), hash: 'sha1', maxFileSize: Number.MAX_SAFE_INTEGER });
    await store.initialize();
    const receiver = new StagingReceiver(root, ['big'], [signature], store, memory);
    await supplyFile(path.join(dir, 'source'), signature, receiver);
    await receiver.finish();
    const digest = createHash('sha1').update(target).digest();
    return { digest: store.lookup('big', digest) === undefined ? undefined : digest, store, signature };
  }

  it('remembers the signature of a large file patched against its base, equal to one read from the file', async () => {
    const base = seededBytes(3, 12 * MIB + 5);
    const target = Buffer.from(base);
    target[6 * MIB + 3]! ^= 0x40;
    const memory = new SignatureMemory();
    const { digest, store } = await transfer(base, target, memory);
    expect(digest).toBeDefined();
    const staged = store.lookup('big', digest!);
    expect((await readFile(staged!.file)).equals(target)).toBe(true);
    const remembered = memory.lookup('big', cacheEntryFromStat(staged!.stat!, digest!));
    expect(remembered).toEqual(signatureOfBytes(target));
    // The staged file's identity: a file with another inode or mtime does not get it.
    const other = statSync(path.join(dir, 'source'), { bigint: true });
    expect(memory.lookup('big', cacheEntryFromStat(other, digest!))).toBeUndefined();
  });

  it('remembers the signature of a large file received whole (no base), equal to one read from the file', async () => {
    const target = seededBytes(9, 9 * MIB + 77);
    const memory = new SignatureMemory();
    const { digest, store, signature } = await transfer(undefined, target, memory);
    expect(signature.hashes).toHaveLength(0);
    const staged = store.lookup('big', digest!);
    expect((await readFile(staged!.file)).equals(target)).toBe(true);
    expect(memory.lookup('big', cacheEntryFromStat(staged!.stat!, digest!))).toEqual(signatureOfBytes(target));
  });

  it('remembers nothing for a small file or a size that changes the block size', async () => {
    const memory = new SignatureMemory();
    const small = seededBytes(4, 100_000);
    const { digest: smallDigest, store: smallStore } = await transfer(small, Buffer.concat([small, Buffer.from('x')]), memory);
    expect(memory.lookup('big', cacheEntryFromStat(smallStore.lookup('big', smallDigest!)!.stat!, smallDigest!))).toBeUndefined();
    const base = seededBytes(5, 9 * MIB);
    const grown = Buffer.concat([base, seededBytes(6, 8 * MIB)]);
    const { digest, store } = await transfer(base, grown, memory);
    expect(memory.lookup('big', cacheEntryFromStat(store.lookup('big', digest!)!.stat!, digest!))).toBeUndefined();
  });

  it('still stages correctly with a wrong remembered signature: the digest check rejects the result', async () => {
    // A base that changed behind a remembered signature: blocks copied from it give other bytes.
    const base = seededBytes(7, 10 * MIB);
    const target = Buffer.from(base);
    target[MIB]! ^= 1;
    const root = path.join(dir, 'root');
    await mkdir(root, { recursive: true });
    const stale = signatureOfBytes(base);
    const changedBase = Buffer.from(base);
    changedBase[5 * MIB]! ^= 1;
    await writeFile(path.join(root, 'big'), changedBase);
    await writeFile(path.join(dir, 'source'), target);
    const store = new StagingStore({ root: path.join(dir, 'staging'), hash: 'sha1', maxFileSize: Number.MAX_SAFE_INTEGER });
    const receiver = new StagingReceiver(root, ['big'], [stale], store, new SignatureMemory());
    await supplyFile(path.join(dir, 'source'), stale, receiver);
    await receiver.finish();
    const expected = createHash('sha1').update(target).digest();
    expect(store.lookup('big', expected)).toBeUndefined();
  });
});

describe('supplyOne without a base', () => {
  const temp = useTempDirectories();

  it('sends a large file as data operations of 64 KiB with the size on the first', async () => {
    const dir = await temp('supply-');
    const content = seededBytes(8, 2 * MIB + 100);
    await writeFile(path.join(dir, 'f'), content);
    const received: Transmission[] = [];
    // Receivers are done with the data once write() resolved: keep copies.
    const copy = (t: Transmission): Transmission => (t.kind === 'operation' && t.operation.kind === 'data'
      ? { ...t, operation: { kind: 'data', data: Buffer.from(t.operation.data) } }
      : t);
    const receiver: DeltaReceiver = { write: (t) => Promise.resolve(void received.push(copy(t))), finish: () => Promise.resolve() };
    await supplyFile(path.join(dir, 'f'), { blockSize: 0, lastBlockSize: 0, hashes: [] }, receiver);
    const data = received.flatMap((t) => (t.kind === 'operation' && t.operation.kind === 'data' ? [t.operation.data] : []));
    expect(data.every((d) => d.length <= 65_536)).toBe(true);
    expect(Buffer.concat(data).equals(content)).toBe(true);
    expect(received[0]).toMatchObject({ kind: 'operation', expectedSize: content.length });
    expect(received[received.length - 1]).toEqual({ kind: 'done' });
  });

  it('sends files of every size around the operation size whole, and reads on when a file grows while sent', async () => {
    const dir = await temp('supply-sizes-');
    const copies = (into: Buffer[]): DeltaReceiver => ({
      write: (t) => Promise.resolve(void (t.kind === 'operation' && t.operation.kind === 'data' && into.push(Buffer.from(t.operation.data)))),
      finish: () => Promise.resolve(),
    });
    for (const size of [0, 1, 4095, 65_535, 65_536, 65_537, 131_072, 200_003]) {
      const content = seededBytes(size + 3, size);
      const file = path.join(dir, `f${size}`);
      await writeFile(file, content);
      const data: Buffer[] = [];
      await supplyFile(file, { blockSize: 0, lastBlockSize: 0, hashes: [] }, copies(data));
      expect(Buffer.concat(data).equals(content), `size ${size}`).toBe(true);
      expect(data.every((d) => d.length > 0 && d.length <= 65_536)).toBe(true);
    }
    // A scanned size that is no longer true (the file changed since the scan): still read whole.
    const changed = seededBytes(7, 70_000);
    await writeFile(path.join(dir, 'changed'), changed);
    for (const scanned of [0, 1, 69_990, 70_010, 200_000]) {
      const data: Buffer[] = [];
      await supplyFile(path.join(dir, 'changed'), { blockSize: 0, lastBlockSize: 0, hashes: [] }, copies(data), scanned);
      expect(Buffer.concat(data).equals(changed), `scanned ${scanned}`).toBe(true);
    }
    // Growth after the first operation (the size was taken before): the rest is read to its end.
    const file = path.join(dir, 'growing');
    const first = seededBytes(9, 70_000);
    const more = seededBytes(10, 100_000);
    await writeFile(file, first);
    const data: Buffer[] = [];
    const inner = copies(data);
    let grown = false;
    const growing: DeltaReceiver = {
      write: async (t) => {
        await inner.write(t);
        if (!grown) {
          grown = true;
          await writeFile(file, more, { flag: 'a' });
        }
      },
      finish: () => inner.finish(),
    };
    await supplyFile(file, { blockSize: 0, lastBlockSize: 0, hashes: [] }, growing);
    expect(Buffer.concat(data).equals(Buffer.concat([first, more]))).toBe(true);
  });
});
