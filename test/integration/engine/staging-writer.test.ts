import { lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StagingWriter, WRITER_FILE_LIMIT, type WriteResult, type WrittenName } from '../../../src/sync/local/staging-writer.js';

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

  it('fails a file it cannot create, leaving an existing file at that name (or on its path) alone and nothing elsewhere', async () => {
    const existing = path.join(base, 'existing');
    await writeFile(existing, 'keep me');
    const { result: clash } = await add(existing, 0o600, Buffer.from('replacement'));
    const { result: missing } = await add(path.join(base, 'existing', 'file'), 0o600, Buffer.from('x'));
    const { result: fine } = await add(path.join(base, 'fine'), 0o600, Buffer.from('fine'));
    await writer.drain();
    const clashed = await clash;
    expect(clashed instanceof Error ? clashed.message : 'written').toMatch(/EEXIST/);
    expect(await missing).toBeInstanceOf(Error);
    expect(await fine).not.toBeInstanceOf(Error);
    expect(await readFile(existing, 'utf8')).toBe('keep me');
    expect(await readFile(path.join(base, 'fine'), 'utf8')).toBe('fine');
  });

  it('makes missing parent directories (0700), and writes to the alternate name when the first one fails', async () => {
    const nested = path.join(base, 'a', 'b', 'file');
    const { result: made } = await add(nested, 0o600, Buffer.from('nested'));
    await writeFile(path.join(base, 'taken'), 'keep me');
    const results: [WriteResult, WrittenName][] = [];
    await writer.add(path.join(base, 'taken'), 0o600, Buffer.from('moved aside'), (result, name) => results.push([result, name]), path.join(base, 'alternate'));
    await writer.add(path.join(base, 'free'), 0o600, Buffer.from('free'), (result, name) => results.push([result, name]), path.join(base, 'unused'));
    await writer.drain();
    expect(await made).not.toBeInstanceOf(Error);
    expect(await readFile(nested, 'utf8')).toBe('nested');
    expect((await lstat(path.join(base, 'a', 'b'))).mode & 0o777).toBe(0o700);
    expect(results.map(([result, name]) => [result instanceof Error, name])).toEqual([[false, 'alternate'], [false, 'primary']]);
    expect(await readFile(path.join(base, 'taken'), 'utf8')).toBe('keep me');
    expect(await readFile(path.join(base, 'alternate'), 'utf8')).toBe('moved aside');
    expect(await readFile(path.join(base, 'free'), 'utf8')).toBe('free');
    await expect(lstat(path.join(base, 'unused'))).rejects.toThrow(/ENOENT/);
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
