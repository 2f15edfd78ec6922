import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir, scanTree } from './scan-helpers.js';

const FILES = 20_000;
const PER_DIRECTORY = 100;

/** 20,000 files of 1–5 KiB in 200 directories spread over 20 top-level ones. */
function writeLargeTree(root: string): number {
  let bytes = 0;
  for (let d = 0; d * PER_DIRECTORY < FILES; d++) {
    const directory = path.join(root, `top${d % 20}`, `dir${d}`);
    mkdirSync(directory, { recursive: true });
    for (let f = 0; f < PER_DIRECTORY; f++) {
      const size = 1024 + ((d * PER_DIRECTORY + f) % 4096);
      writeFileSync(path.join(directory, `file${f}.txt`), Buffer.alloc(size, (d + f) % 251));
      bytes += size;
    }
  }
  return bytes;
}

function elapsed(start: number): string {
  return `${(performance.now() - start).toFixed(0)} ms`;
}

describe('scanning a 20,000-file tree', () => {
  let dir = '';
  let bytes = 0;
  beforeAll(() => {
    dir = makeTempDir('scan-large-');
    bytes = writeLargeTree(dir);
  });
  afterAll(() => {
    removeTempDir(dir);
  });

  it('cold, warm and accelerated scans agree and only hash what changed', async ({ annotate }) => {
    let start = performance.now();
    const cold = await scanTree(dir);
    const coldTime = elapsed(start);
    expect(cold.snapshot).toMatchObject({ files: FILES, directories: 1 + 20 + FILES / PER_DIRECTORY, totalFileSize: bytes });
    expect(cold.hashedFiles).toBe(FILES);
    expect(cold.hashedBytes).toBe(bytes);

    start = performance.now();
    const warm = await scanTree(dir, { cache: cold.cache });
    const warmTime = elapsed(start);
    expect(warm.hashedFiles).toBe(0);
    expect(warm.cache).toBe(cold.cache);
    expect(warm.snapshot).toEqual(cold.snapshot);

    appendFileSync(path.join(dir, 'top3', 'dir3', 'file7.txt'), 'changed');
    start = performance.now();
    const accelerated = await scanTree(dir, {
      cache: warm.cache,
      baseline: { snapshot: warm.snapshot, cache: warm.cache, recheckPaths: new Set(['top3/dir3/file7.txt']) },
    });
    const acceleratedTime = elapsed(start);
    expect(accelerated.hashedFiles).toBe(1);
    const full = await scanTree(dir, { cache: warm.cache });
    expect(accelerated.snapshot).toEqual(full.snapshot);
    await annotate(`cold ${coldTime}, warm ${warmTime}, accelerated ${acceleratedTime} (timings are informational)`);
  });
});
