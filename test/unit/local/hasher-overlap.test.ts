import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { HASH_CHUNK_SIZE, OVERLAP_MINIMUM, createHasher, hashPath, type Yielder } from '../../../src/sync/local/hasher.js';
import { useTempDirectories } from '../../helpers/temp.js';

/** Files of OVERLAP_MINIMUM bytes and more are hashed with reads running ahead in the thread pool. */
describe('hashPath on large files', () => {
  let dir = '';
  const temp = useTempDirectories();
  beforeEach(async () => {
    dir = await temp('hasher-overlap-');
  });

  const content = Buffer.alloc(OVERLAP_MINIMUM + 3 * 1024 * 1024 + 123);
  for (let i = 0; i < content.length; i += 4096) content[i] = (i / 4096) & 0xff;

  it('hashes the whole file, pausing when the yielder asks', async () => {
    const file = path.join(dir, 'large');
    await writeFile(file, content);
    let pauses = 0;
    const alwaysDue: Yielder = { due: () => true, pause: () => { pauses++; return Promise.resolve(); } };
    const result = await hashPath(file, content.length, await createHasher('sha1'), new Uint8Array(HASH_CHUNK_SIZE), alwaysDue);
    expect(result).toMatchObject({ kind: 'hashed', bytesRead: content.length });
    if (result.kind === 'hashed') expect(Buffer.from(result.digest).toString('hex')).toBe(createHash('sha1').update(content).digest('hex'));
    expect(pauses).toBeGreaterThan(3);
  });

  it('reports a size that differs from the expected one', async () => {
    const file = path.join(dir, 'large');
    await writeFile(file, content);
    expect(await hashPath(file, content.length + 10, await createHasher('sha1'), new Uint8Array(HASH_CHUNK_SIZE), { due: () => false, pause: () => Promise.resolve() }))
      .toEqual({ kind: 'problem', problem: `hashed size mismatch: ${content.length} != ${content.length + 10}` });
    expect(await hashPath(file, OVERLAP_MINIMUM, await createHasher('sha1'), new Uint8Array(HASH_CHUNK_SIZE), { due: () => false, pause: () => Promise.resolve() }))
      .toEqual({ kind: 'problem', problem: `hashed size mismatch: ${content.length} != ${OVERLAP_MINIMUM}` });
  });

  it('rejects with the pause error (cancellation) after the read in flight settled', async () => {
    const file = path.join(dir, 'large');
    await writeFile(file, content);
    const failing: Yielder = { due: () => true, pause: () => Promise.reject(new Error('cancelled')) };
    await expect(hashPath(file, content.length, await createHasher('sha1'), new Uint8Array(HASH_CHUNK_SIZE), failing)).rejects.toThrow('cancelled');
  });
});
