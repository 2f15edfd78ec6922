import { lstatSync, readdirSync, statfsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import {
  probeBehavior, probeDecomposition, probeExecutability, type FilesystemBehavior,
} from '../../../src/sync/local/probe.js';
import { useTempDirectories } from '../../helpers/temp.js';

const EXT4_OR_NFS = new Set([0xef53, 0x6969]);

describe('probeBehavior (sync-semantics §2.2)', () => {
  let dir = '';
  const temp = useTempDirectories();
  beforeEach(async () => {
    dir = await temp('probe-');
  });

  it('assume mode answers POSIX defaults without touching the disk', async () => {
    const behavior = await probeBehavior(path.join(dir, 'does-not-exist'), true, 'assume');
    expect(behavior).toEqual({ preservesExecutability: true, decomposesUnicode: false });
  });

  it('probe mode answers for this filesystem and leaves no probe files behind', async () => {
    const cache = new Map<bigint, FilesystemBehavior>();
    const behavior = await probeBehavior(dir, true, 'probe', undefined, cache);
    // Linux filesystems used here preserve modes and keep names as written.
    expect(behavior).toEqual({ preservesExecutability: true, decomposesUnicode: false });
    expect(readdirSync(dir)).toEqual([]);
    // Only results obtained with probe files are cached (they would otherwise wake a watcher).
    const fastPath = EXT4_OR_NFS.has(statfsSync(dir).type);
    expect(cache.size).toBe(fastPath ? 0 : 1);
  });

  it('uses a cached answer for the root device before anything else', async () => {
    const device = lstatSync(dir, { bigint: true }).dev;
    const cache = new Map<bigint, FilesystemBehavior>([[device, { preservesExecutability: false, decomposesUnicode: true }]]);
    expect(await probeBehavior(dir, true, 'probe', undefined, cache)).toEqual({ preservesExecutability: false, decomposesUnicode: true });
    // A file root never reports decomposition.
    const file = path.join(dir, 'f');
    await writeFile(file, 'x');
    expect(await probeBehavior(file, false, 'probe', undefined, cache)).toEqual({ preservesExecutability: false, decomposesUnicode: false });
    // assume mode does not consult the cache.
    expect(await probeBehavior(dir, true, 'assume', undefined, cache)).toEqual({ preservesExecutability: true, decomposesUnicode: false });
  });

  it('probes with files directly: executability kept, names not decomposed, nothing left over', async () => {
    expect(await probeExecutability(dir)).toBe(true);
    expect(await probeDecomposition(dir)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fails with MUTAGEN_SCAN when probe files cannot be created', async () => {
    const missing = path.join(dir, 'missing');
    await expect(probeExecutability(missing)).rejects.toSatisfy((error: unknown) =>
      error instanceof MutagenError && error.code === 'MUTAGEN_SCAN'
      && error.message.startsWith('unable to probe root executability preservation behavior: ENOENT'));
    await expect(probeDecomposition(missing)).rejects.toSatisfy((error: unknown) =>
      error instanceof MutagenError && error.message.startsWith('unable to probe root Unicode decomposition behavior: ENOENT'));
  });

  it('stops on an aborted signal', async () => {
    await expect(probeExecutability(dir, AbortSignal.abort())).rejects.toThrow();
    expect(readdirSync(dir)).toEqual([]);
  });
});
