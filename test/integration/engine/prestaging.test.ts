import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Logger } from '../../../src/base/logger.js';
import { emptySyncConfiguration, resolveEndpointConfiguration } from '../../../src/model/configuration.js';
import { LocalEndpoint } from '../../../src/sync/local/endpoint.js';
import { HashPool } from '../../../src/sync/local/hash-pool.js';
import type { StagingReceiver } from '../../../src/sync/local/receiver.js';
import type { StagingStore } from '../../../src/sync/local/staging.js';
import { useTempDirectories } from '../../helpers/temp.js';

const temp = useTempDirectories();
const quiet = new Logger({ write: () => true }, 'error');
const pool = new HashPool(2);

afterAll(async () => {
  await pool.close();
});

function sha1(content: Buffer | string): Uint8Array {
  return new Uint8Array(createHash('sha1').update(content).digest());
}

describe('HashPool.statHash with a side copy (prestaging)', () => {
  it('writes exactly the bytes it hashes to the target, and reports the copy\'s stat', async () => {
    const base = await temp('mutagen-prestage-');
    const content = Buffer.alloc(700_000);
    for (let i = 0; i < content.length; i++) content[i] = (i * 7) % 251;
    await writeFile(path.join(base, 'source'), content);
    const target = path.join(base, 'copy');
    const result = await pool.statHash(path.join(base, 'source'), 'sha1', 4 << 20, { target, mode: 0o640, limit: 1 << 20 });
    const plain = await pool.statHash(path.join(base, 'source'), 'sha1', 4 << 20);
    if (result.kind !== 'hashed' || plain.kind !== 'hashed') throw new Error(`not hashed: ${result.kind}`);
    expect(Buffer.from(result.digest)).toEqual(Buffer.from(sha1(content)));
    expect(Buffer.from(plain.digest)).toEqual(Buffer.from(result.digest));
    expect(plain.copied).toBeUndefined();
    expect((await readFile(target)).equals(content)).toBe(true);
    const onDisk = await lstat(target, { bigint: true });
    expect(result.copied).toEqual({ ino: onDisk.ino, size: onDisk.size, mtimeNs: onDisk.mtimeNs, mode: onDisk.mode });
    expect(Number(onDisk.mode) & 0o777).toBe(0o640 & ~process.umask());
  });

  it('leaves the hash as it is and nothing at the target when the copy is not made: too large, target taken, unsuitable source', async () => {
    const base = await temp('mutagen-prestage-');
    await writeFile(path.join(base, 'source'), 'twelve bytes');
    const tooSmall = await pool.statHash(path.join(base, 'source'), 'sha1', 4 << 20, { target: path.join(base, 'small'), mode: 0o600, limit: 11 });
    expect(tooSmall).toMatchObject({ kind: 'hashed', stat: { size: 12n } });
    expect(tooSmall.kind === 'hashed' ? tooSmall.copied : 'n/a').toBeUndefined();
    await writeFile(path.join(base, 'taken'), 'someone else\'s');
    const taken = await pool.statHash(path.join(base, 'source'), 'sha1', 4 << 20, { target: path.join(base, 'taken'), mode: 0o600, limit: 100 });
    expect(taken.kind === 'hashed' ? Buffer.from(taken.digest) : undefined).toEqual(Buffer.from(sha1('twelve bytes')));
    expect(taken.kind === 'hashed' ? taken.copied : 'n/a').toBeUndefined();
    expect(await readFile(path.join(base, 'taken'), 'utf8')).toBe('someone else\'s');
    await mkdir(path.join(base, 'directory'));
    const unsuitable = await pool.statHash(path.join(base, 'directory'), 'sha1', 4 << 20, { target: path.join(base, 'never'), mode: 0o600, limit: 100 });
    expect(unsuitable.kind).toBe('unsuitable');
    expect((await readdir(base)).sort()).toEqual(['directory', 'source', 'taken']);
  });
});

async function connect(root: string, base: string, side: string): Promise<LocalEndpoint> {
  const configuration = resolveEndpointConfiguration(emptySyncConfiguration(), emptySyncConfiguration());
  return LocalEndpoint.connect({
    root, configuration: { ...configuration, watchMode: 'no-watch' }, readOnly: false,
    stagingRoot: path.join(base, `staging-${side}`), cacheFile: undefined, computeSignatures: false, logger: quiet,
  }, AbortSignal.timeout(10_000));
}

/** Alpha with `count` new files, scanned while beta (scanned first) accepts prestaging or not; beta's stage plan for them. */
async function stageAfterPrestaging(base: string, count: number, options: { enabled: boolean; betaFile?: string }): Promise<{ streamed: number; staged: number; contents: Map<string, string> }> {
  const alphaRoot = path.join(base, 'alpha');
  const betaRoot = path.join(base, 'beta');
  await mkdir(alphaRoot);
  if (options.betaFile !== undefined) {
    await mkdir(betaRoot);
    await writeFile(path.join(betaRoot, options.betaFile), 'already here');
  }
  const alpha = await connect(alphaRoot, base, 'alpha');
  const beta = await connect(betaRoot, base, 'beta');
  try {
    const signal = AbortSignal.timeout(30_000);
    await alpha.scan({ full: true }, signal);
    await beta.scan({ full: true }, signal);
    beta.acceptPrestaging(alpha, options.enabled);
    const files = new Map<string, Buffer>();
    for (let i = 0; i < count; i++) files.set(`d${i % 9}/f ${i}`, Buffer.from(`content of file ${i}\n`.repeat(i % 50)));
    for (const [relative, content] of files) {
      await mkdir(path.dirname(path.join(alphaRoot, relative)), { recursive: true });
      await writeFile(path.join(alphaRoot, relative), content);
    }
    await alpha.scan({ full: true }, signal);
    const requests = [...files].map(([relative, content]) => ({ path: relative, digest: sha1(content) }));
    const store = (beta as unknown as { staging: StagingStore }).staging;
    const contents = new Map<string, string>();
    let staged = 0;
    for (const request of requests) {
      const file = await store.stagedFile(request.path, request.digest);
      if (file === undefined) continue;
      staged++;
      contents.set(request.path, await readFile(file, 'utf8'));
    }
    const plan = await beta.stage(requests, signal);
    await (plan.receiver as StagingReceiver | undefined)?.abort();
    for (const [relative, content] of contents) expect(content, relative).toBe(files.get(relative)?.toString());
    return { streamed: plan.paths.length, staged, contents };
  } finally {
    await alpha.shutdown();
    await beta.shutdown();
  }
}

describe('prestaging between two local endpoints', () => {
  it('stages the new files of the other side from its scan: the stage phase finds them staged, byte for byte', async () => {
    const base = await temp('mutagen-prestage-');
    const { streamed, staged } = await stageAfterPrestaging(base, 400, { enabled: true });
    // The first files of a scan are hashed on the loop, not by a file thread: only those remain.
    expect(staged).toBeGreaterThanOrEqual(300);
    expect(streamed).toBe(400 - staged);
  });

  it('does nothing when not enabled, or once this side is not empty', async () => {
    const disabled = await stageAfterPrestaging(await temp('mutagen-prestage-'), 200, { enabled: false });
    expect(disabled).toMatchObject({ staged: 0, streamed: 200 });
    const populated = await stageAfterPrestaging(await temp('mutagen-prestage-'), 200, { enabled: true, betaFile: 'existing' });
    expect(populated).toMatchObject({ staged: 0, streamed: 200 });
  });
});
