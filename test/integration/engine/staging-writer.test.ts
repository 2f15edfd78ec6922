import { lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StagingWriter, WRITER_FILE_LIMIT, type WriteResult } from '../../../src/sync/local/staging-writer.js';

let base: string;
const writer = new StagingWriter();

beforeEach(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'mutagen-writer-'));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

afterAll(async () => {
  await writer.close();
});

/** Queues one file; its result settles once the writer is done with it (drain()). */
async function add(file: string, mode: number, data: Uint8Array): Promise<{ readonly result: Promise<WriteResult> }> {
  let settle: (result: WriteResult) => void = () => undefined;
  const result = new Promise<WriteResult>((resolve) => { settle = resolve; });
  await writer.add(file, mode, data, settle);
  return { result };
}

describe('StagingWriter', () => {
  it('creates every queued file with its bytes and mode, across many batches, and reports its stat', async () => {
    const sizes = [0, 1, 4096, 100_000, WRITER_FILE_LIMIT];
    const files: { file: string; data: Buffer; mode: number; result: Promise<WriteResult> }[] = [];
    for (let i = 0; i < 300; i++) {
      const data = Buffer.alloc(sizes[i % sizes.length] ?? 0, i % 251);
      const file = path.join(base, `f${i}`);
      const mode = i % 2 === 0 ? 0o600 : 0o700; // owner bits: no umask removes them
      files.push({ file, data, mode, ...(await add(file, mode, data)) });
    }
    await writer.drain();
    for (const { file, data, mode, result } of files) {
      const written = await result;
      if (written instanceof Error) throw written;
      const stat = await lstat(file, { bigint: true });
      expect(Buffer.compare(await readFile(file), data)).toBe(0);
      expect(Number(stat.mode) & 0o777).toBe(mode);
      expect([written.ino, written.size, written.mtimeNs, written.mode]).toEqual([stat.ino, stat.size, stat.mtimeNs, stat.mode]);
    }
  });

  it('fails a file it cannot create, leaving an existing file at that name alone and nothing elsewhere', async () => {
    const existing = path.join(base, 'existing');
    await writeFile(existing, 'keep me');
    const { result: clash } = await add(existing, 0o600, Buffer.from('replacement'));
    const { result: missing } = await add(path.join(base, 'no-such-directory', 'file'), 0o600, Buffer.from('x'));
    const { result: fine } = await add(path.join(base, 'fine'), 0o600, Buffer.from('fine'));
    await writer.drain();
    const clashed = await clash;
    expect(clashed instanceof Error ? clashed.message : 'written').toMatch(/EEXIST/);
    expect(await missing).toBeInstanceOf(Error);
    expect(await fine).not.toBeInstanceOf(Error);
    expect(await readFile(existing, 'utf8')).toBe('keep me');
    expect(await readFile(path.join(base, 'fine'), 'utf8')).toBe('fine');
  });

  it('refuses a file over its size limit, and works again after close()', async () => {
    await expect(writer.add(path.join(base, 'big'), 0o600, Buffer.alloc(WRITER_FILE_LIMIT + 1), () => undefined)).rejects.toThrow(/too large/);
    await writer.close();
    const { result } = await add(path.join(base, 'after-close'), 0o600, Buffer.from('again'));
    await writer.drain();
    expect(await result).not.toBeInstanceOf(Error);
    expect(await readFile(path.join(base, 'after-close'), 'utf8')).toBe('again');
  });
});
