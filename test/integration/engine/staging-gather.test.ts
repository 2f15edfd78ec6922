import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StagingStore } from '../../../src/sync/local/staging.js';

/**
 * Past 1 MiB a staged file's bytes are copied into two reused buffers, each written in the
 * thread pool while the other fills; smaller files are written synchronously.
 */
let base: string;
let root: string;

beforeEach(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'mutagen-gather-'));
  root = path.join(base, 'staging');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

function bytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

const sha1 = (content: Uint8Array): string => createHash('sha1').update(content).digest('hex');

describe('StagingSink past 1 MiB', () => {
  it('writes interleaved small and large chunks in order and commits the digest of all of them', async () => {
    const store = new StagingStore({ root, hash: 'sha1', maxFileSize: Number.MAX_SAFE_INTEGER });
    await store.initialize();
    const sizes = [100, 65_536, 65_536, 7, 300_000, 1_048_576, 1, 2, 65_535, 70_000, 2_500_000, 10, 65_536];
    const chunks = sizes.map((size, index) => bytes(size, index + 1));
    const content = Buffer.concat(chunks);
    const sink = await store.createSink('big');
    for (const chunk of chunks) {
      await sink.write(chunk);
      chunk.fill(0xee); // the caller may reuse its memory once write() resolved
    }
    const digest = await sink.commit();
    expect(Buffer.from(digest).toString('hex')).toBe(sha1(content));
    const staged = store.lookup('big', digest);
    expect(staged?.stat?.size).toBe(BigInt(content.length));
    expect((await readFile(staged?.file ?? '')).equals(content)).toBe(true);
  });

  it('removes the partial file when aborted while a batch is being written', async () => {
    const store = new StagingStore({ root, hash: 'sha1', maxFileSize: Number.MAX_SAFE_INTEGER });
    await store.initialize();
    const sink = await store.createSink('aborted');
    for (let i = 0; i < 40; i++) await sink.write(bytes(100_000, i));
    await sink.abort();
    expect((await readdir(root, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile() && entry.name !== 'journal')).toEqual([]);
    await expect(sink.write(bytes(10, 1))).rejects.toThrow('sink already failed');
  });

  it('fails at the size limit with large chunks too, and stages nothing', async () => {
    const store = new StagingStore({ root, hash: 'sha1', maxFileSize: 3_000_000 });
    await store.initialize();
    const sink = await store.createSink('limited');
    await sink.write(bytes(2_000_000, 1));
    await expect(sink.write(bytes(1_500_000, 2))).rejects.toThrow('maximum staging file size');
    await expect(sink.commit()).rejects.toThrow();
    expect((await readdir(root, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile() && entry.name !== 'journal')).toEqual([]);
  });

  it('stages a file whose large chunks are the only content, with sinks used one after the other', async () => {
    const store = new StagingStore({ root, hash: 'sha1', maxFileSize: Number.MAX_SAFE_INTEGER });
    await store.initialize();
    for (let file = 0; file < 3; file++) {
      const content = bytes(3 * 1_048_576 + file, file + 7);
      const sink = await store.createSink(`f${file}`);
      for (let offset = 0; offset < content.length; offset += 65_536) await sink.write(content.subarray(offset, offset + 65_536));
      const digest = await sink.commit();
      expect(Buffer.from(digest).toString('hex')).toBe(sha1(content));
      expect((await readFile(store.lookup(`f${file}`, digest)?.file ?? '')).equals(content)).toBe(true);
    }
  });
});
