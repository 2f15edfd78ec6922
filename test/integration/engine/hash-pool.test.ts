import { lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { errnoCode, MutagenError } from '../../../src/base/errors.js';
import type { Worker } from 'node:worker_threads';
import { HashPool } from '../../../src/sync/local/hash-pool.js';
import { createHasherFactory, hashPath, type PathHashResult } from '../../../src/sync/local/hasher.js';
import { useTempDirectories } from '../../helpers/temp.js';
import { digestAt, scanTree, sha1 } from './scan-helpers.js';

const temp = useTempDirectories();
const pool = new HashPool(2);

afterAll(async () => {
  await pool.close();
});

/** What the scanner's own hashPath() says of a file, for comparison. */
async function onLoop(file: string, expectedSize: number): Promise<PathHashResult> {
  const hasher = (await createHasherFactory('sha1'))();
  const yielder = { due: () => false, pause: async () => Promise.resolve() };
  return hashPath(file, expectedSize, hasher, Buffer.alloc(256 * 1024), yielder);
}

/** A result with the error of an open failure reduced to its code and message. */
function comparable(result: PathHashResult): unknown {
  if (result.kind === 'hashed') return { ...result, digest: Buffer.from(result.digest).toString('hex') };
  if (result.kind !== 'open-failed') return result;
  return { kind: result.kind, code: errnoCode(result.error), message: result.error instanceof Error ? result.error.message : String(result.error) };
}

describe('HashPool (sync-semantics §2.5 in worker threads)', () => {
  it('gives exactly what hashing on the loop gives: digests, vanished files, open failures, size mismatches', async () => {
    const base = await temp('mutagen-hash-pool-');
    const cases: [string, number][] = [];
    for (const size of [0, 1, 4096, 256 * 1024, 256 * 1024 + 1, 1024 * 1024 + 7]) {
      const file = path.join(base, `f${size}`);
      await writeFile(file, Buffer.alloc(size, size % 251));
      cases.push([file, size]);
    }
    await symlink('f1', path.join(base, 'link'));
    await mkdir(path.join(base, 'directory'));
    cases.push(
      [path.join(base, 'missing'), 3], // vanished
      [path.join(base, 'link'), 2], // O_NOFOLLOW: an open failure (ELOOP)
      [path.join(base, 'directory'), 0], // read fails (EISDIR): a problem
      [path.join(base, 'f4096'), 4000], // lstat said otherwise: a size mismatch
      [path.join(base, 'f1'), 5],
    );
    const pooled = await Promise.all(cases.map(async ([file, size]) => pool.hash(file, size, 'sha1')));
    const direct = await Promise.all(cases.map(async ([file, size]) => onLoop(file, size)));
    expect(pooled.map(comparable)).toEqual(direct.map(comparable));
    expect(pooled.map((result) => result.kind)).toEqual([
      'hashed', 'hashed', 'hashed', 'hashed', 'hashed', 'hashed', 'vanished', 'open-failed', 'problem', 'problem', 'problem',
    ]);
    const sha256 = await pool.hash(path.join(base, 'f1'), 1, 'sha256');
    expect(sha256.kind === 'hashed' ? sha256.digest.length : 0).toBe(32);
  });

  it('fails files in flight with MUTAGEN_SCAN_RETRY when its threads end, and starts again afterwards', async () => {
    const base = await temp('mutagen-hash-pool-');
    const file = path.join(base, 'file');
    await writeFile(file, Buffer.alloc(2 * 1024 * 1024, 1));
    const inFlight = Array.from({ length: 40 }, async () => pool.hash(file, 2 * 1024 * 1024, 'sha1'));
    const settled = Promise.allSettled(inFlight);
    await new Promise((resolve) => setImmediate(resolve)); // sent to a thread
    await pool.close();
    const outcomes = await settled;
    const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure.reason).toBeInstanceOf(MutagenError);
      expect((failure.reason as MutagenError).code).toBe('MUTAGEN_SCAN_RETRY');
    }
    const again = await pool.hash(file, 2 * 1024 * 1024, 'sha1');
    expect(again.kind).toBe('hashed');
  });
});

describe('HashPool hashing without a prior lstat (files new to a scan)', () => {
  it('gives the digest with the descriptor\'s stat, and leaves anything else to the scan\'s lstat', async () => {
    const base = await temp('mutagen-hash-pool-');
    await writeFile(path.join(base, 'file'), 'twelve bytes');
    await writeFile(path.join(base, 'large'), Buffer.alloc(2048, 1));
    await symlink('file', path.join(base, 'link'));
    await mkdir(path.join(base, 'directory'));
    execFileSync('mkfifo', [path.join(base, 'fifo')]);
    const hashed = await pool.statHash(path.join(base, 'file'), 'sha1', 1024);
    if (hashed.kind !== 'hashed') throw new Error(`not hashed: ${hashed.kind}`);
    expect(Buffer.from(hashed.digest).toString('hex')).toBe(sha1('twelve bytes'));
    expect(hashed.bytesRead).toBe(12);
    const stat = await lstat(path.join(base, 'file'), { bigint: true });
    expect(hashed.stat).toEqual({ ino: stat.ino, size: stat.size, mtimeNs: stat.mtimeNs, mode: stat.mode });
    const others = await Promise.all(['large', 'link', 'directory', 'fifo', 'missing'].map(async (name) => pool.statHash(path.join(base, name), 'sha1', 1024)));
    expect(others).toEqual([{ kind: 'unsuitable' }, { kind: 'unsuitable' }, { kind: 'unsuitable' }, { kind: 'unsuitable' }, { kind: 'vanished' }]);
  });
});

describe('HashPool copies (local↔local staging)', () => {
  it('copies a regular file to a new file with the mode asked, hashing the bytes it wrote, and reports the new stat', async () => {
    const base = await temp('mutagen-hash-pool-');
    for (const size of [0, 1, 256 * 1024, 256 * 1024 + 3, 1024 * 1024 + 7]) {
      const content = Buffer.alloc(size);
      for (let i = 0; i < size; i++) content[i] = (i * 7 + size) % 251;
      const source = path.join(base, `source-${size}`);
      const target = path.join(base, `target-${size}`);
      await writeFile(source, content);
      const result = await pool.copy(source, target, 0o640, 'sha1', 4 * 1024 * 1024);
      if (result.kind !== 'copied') throw new Error(`skipped: ${result.reason}`);
      expect(Buffer.from(result.digest).toString('hex')).toBe(sha1(content));
      expect(Buffer.compare(await readFile(target), content)).toBe(0);
      const written = await lstat(target, { bigint: true });
      expect(result.stat).toEqual({ ino: written.ino, size: written.size, mtimeNs: written.mtimeNs, mode: written.mode });
      expect(Number(written.mode) & 0o777).toBe(0o640);
    }
    const sha256 = await pool.copy(path.join(base, 'source-1'), path.join(base, 'sha256'), 0o600, 'sha256', 10);
    expect(sha256.kind === 'copied' ? sha256.digest.length : 0).toBe(32);
  });

  it('skips what it must not copy and leaves nothing at the target, nor touches one that exists', async () => {
    const base = await temp('mutagen-hash-pool-');
    await writeFile(path.join(base, 'file'), 'twelve bytes');
    await symlink('file', path.join(base, 'link'));
    await mkdir(path.join(base, 'directory'));
    await writeFile(path.join(base, 'existing'), 'keep me');
    const cases: [string, string, number][] = [
      ['missing', 'to-missing', 100],
      ['link', 'to-link', 100], // O_NOFOLLOW
      ['directory', 'to-directory', 100],
      ['file', 'to-small-limit', 11], // larger than the limit
      ['file', 'existing', 100], // the target exists: exclusive create fails
    ];
    for (const [source, target, limit] of cases) {
      const result = await pool.copy(path.join(base, source), path.join(base, target), 0o600, 'sha1', limit);
      expect(result.kind, source).toBe('skipped');
    }
    expect((await readdir(base)).sort()).toEqual(['directory', 'existing', 'file', 'link']);
    expect(await readFile(path.join(base, 'existing'), 'utf8')).toBe('keep me');
  });
});

/** A pool in a process that cannot start threads (a pids or memory limit), as Worker reports it. */
class ThreadlessPool extends HashPool {
  protected override createWorker(): Worker {
    throw Object.assign(new Error('Worker initialization failure: EAGAIN'), { code: 'ERR_WORKER_INIT_FAILED' });
  }
}

describe('HashPool without threads', () => {
  it('hashes on the loop instead, with the same results', async () => {
    const base = await temp('mutagen-hash-pool-');
    const file = path.join(base, 'file');
    await writeFile(file, 'content');
    const threadless = new ThreadlessPool(2);
    const results = await Promise.all([threadless.hash(file, 7, 'sha1'), threadless.hash(path.join(base, 'gone'), 1, 'sha1'), threadless.hash(file, 3, 'sha1')]);
    expect(results.map(comparable)).toEqual([
      comparable(await onLoop(file, 7)), { kind: 'vanished' }, { kind: 'problem', problem: 'hashed size mismatch: 7 != 3' },
    ]);
    expect(results[0]?.kind === 'hashed' ? Buffer.from(results[0].digest).toString('hex') : '').toBe(sha1('content'));
    expect(await threadless.statHash(file, 'sha1', 100)).toEqual({ kind: 'unsuitable' });
    // copies are left to the caller (it streams the file instead)
    expect(await threadless.copy(file, path.join(base, 'copy'), 0o600, 'sha1', 100)).toMatchObject({ kind: 'skipped' });
    expect(await readdir(base)).toEqual(['file']);
    await threadless.close();
  });
});

describe('full scans with the pool', () => {
  it('record every file with its digest and count it, as without it', async () => {
    const root = await temp('mutagen-hash-pool-');
    const expected = new Map<string, string>();
    for (let d = 0; d < 12; d++) {
      const directory = path.join(root, `d${d}`, 'inner');
      await mkdir(directory, { recursive: true });
      for (let f = 0; f < 25; f++) {
        const content = `directory ${d} file ${f} `.repeat(f * 37);
        await writeFile(path.join(directory, `f${f}`), content);
        expected.set(`d${d}/inner/f${f}`, sha1(content));
      }
      await symlink('inner/f0', path.join(root, `d${d}`, 'link'));
    }
    // past the pool's limit: the thread leaves it to the loop, which hashes it after an lstat
    const large = Buffer.alloc(5 * 1024 * 1024, 3);
    await writeFile(path.join(root, 'd11', 'inner', 'large'), large);
    expected.set('d11/inner/large', sha1(large));
    const result = await scanTree(root);
    expect(result.hashedFiles).toBe(expected.size);
    for (const [relative, digest] of expected) expect(digestAt(result.snapshot.content, relative)).toBe(digest);
    expect([...result.cache.keys()].sort()).toEqual([...expected.keys()].sort());
    expect(result.snapshot.content?.kind === 'directory' ? [...result.snapshot.content.contents.keys()].sort() : []).toEqual(
      Array.from({ length: 12 }, (_, d) => `d${d}`).sort(),
    );
    // the entry limit is still enforced when files finish in the pool
    await expect(scanTree(root, { maxEntryCount: 100 })).rejects.toMatchObject({ code: 'MUTAGEN_SCAN_RETRY' });
  });

  it('complete a tree with far more new files than the pool may hold at once (the walk waits and goes on)', async () => {
    const root = await temp('mutagen-hash-pool-');
    const expected = new Map<string, string>();
    // One directory alone holds more than POOLED_IN_FLIGHT files: the walk pauses inside it.
    for (const [directory, count] of [['wide', 700], ['a', 150], ['a/b', 150], ['c', 150]] as const) {
      await mkdir(path.join(root, directory), { recursive: true });
      for (let f = 0; f < count; f++) {
        const content = `${directory} ${f}`;
        await writeFile(path.join(root, directory, `f${f}`), content);
        expected.set(`${directory}/f${f}`, sha1(content));
      }
    }
    const result = await scanTree(root);
    expect(result.hashedFiles).toBe(expected.size);
    expect(result.snapshot.files).toBe(expected.size);
    for (const [relative, digest] of expected) expect(digestAt(result.snapshot.content, relative)).toBe(digest);
  });
});

describe('HashPool.removeTree', () => {
  it('removes a staging root: its files, its shards and anything deeper; a missing root is already removed', async () => {
    const base = await temp('mutagen-hash-pool-remove-');
    const root = path.join(base, 'staging');
    for (const shard of ['0', '1', 'f']) {
      await mkdir(path.join(root, shard), { recursive: true });
      for (let i = 0; i < 20; i++) await writeFile(path.join(root, shard, `abc-${i}`), `${shard}${i}`);
    }
    await writeFile(path.join(root, 'journal'), 'x');
    await mkdir(path.join(root, '1', 'deeper', 'still'), { recursive: true });
    await writeFile(path.join(root, '1', 'deeper', 'still', 'file'), 'deep');
    await symlink('/nonexistent', path.join(root, '0', 'link'));
    expect(await pool.removeTree(root)).toBe(true);
    expect(await readdir(base)).toEqual([]);
    expect(await pool.removeTree(root)).toBe(true);
  });
});
