import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Logger } from '../../../src/base/logger.js';
import { emptySyncConfiguration, resolveEndpointConfiguration, type SyncConfiguration } from '../../../src/model/configuration.js';
import type { Transmission } from '../../../src/sync/endpoint.js';
import { LocalEndpoint } from '../../../src/sync/local/endpoint.js';
import { createHasherFactory } from '../../../src/sync/local/hasher.js';
import type { StagingStore } from '../../../src/sync/local/staging.js';
import { useTempDirectories } from '../../helpers/temp.js';

const temp = useTempDirectories();
const quiet = new Logger({ write: () => true }, 'error');

async function endpoint(root: string, base: string, side: string, overrides: Partial<SyncConfiguration> = {}): Promise<LocalEndpoint> {
  const configuration = resolveEndpointConfiguration({ ...emptySyncConfiguration(), ...overrides }, emptySyncConfiguration());
  return LocalEndpoint.connect({
    root,
    configuration: { ...configuration, watchMode: 'no-watch' },
    readOnly: false,
    stagingRoot: path.join(base, `staging-${side}`),
    cacheFile: undefined,
    computeSignatures: false,
    logger: quiet,
  }, AbortSignal.timeout(10_000));
}

/** Stages `files` (path → content on alpha) on beta, the way the controller does: beta.stage(), then alpha.supply(). */
async function stageFromAlpha(base: string, files: Map<string, Buffer>, overrides: Partial<SyncConfiguration> = {}): Promise<{ streamedFiles: number; staged: Map<string, string | undefined> }> {
  const hasher = await createHasherFactory(overrides.hash ?? 'sha1');
  const digestOf = (content: Buffer): Uint8Array => {
    const hash = hasher();
    hash.update(content);
    return hash.digest();
  };
  const alphaRoot = path.join(base, 'alpha');
  const betaRoot = path.join(base, 'beta');
  await mkdir(betaRoot);
  for (const [relative, content] of files) {
    await mkdir(path.dirname(path.join(alphaRoot, relative)), { recursive: true });
    await writeFile(path.join(alphaRoot, relative), content);
  }
  const alpha = await endpoint(alphaRoot, base, 'alpha', overrides);
  const beta = await endpoint(betaRoot, base, 'beta', overrides);
  try {
    const signal = AbortSignal.timeout(30_000);
    await alpha.scan({ full: true }, signal);
    await beta.scan({ full: true }, signal);
    const requests = [...files].map(([relative, content]) => ({ path: relative, digest: digestOf(content) }));
    const plan = await beta.stage(requests, signal);
    const receiver = plan.receiver;
    if (receiver === undefined) throw new Error('nothing to transfer');
    let streamedFiles = 0;
    const write = receiver.write.bind(receiver);
    vi.spyOn(receiver, 'write').mockImplementation(async (transmission: Transmission) => {
      if (transmission.kind === 'done') streamedFiles += 1;
      return write(transmission);
    });
    await alpha.supply({ paths: plan.paths, signatures: plan.signatures }, receiver, signal);
    // The staging store is private: the test reads what it holds.
    const store = (beta as unknown as { staging: StagingStore }).staging;
    const staged = new Map<string, string | undefined>();
    for (const request of requests) {
      const file = await store.stagedFile(request.path, request.digest);
      staged.set(request.path, file === undefined ? undefined : (await readFile(file)).toString('hex'));
    }
    return { streamedFiles, staged };
  } finally {
    await alpha.shutdown();
    await beta.shutdown();
  }
}

describe('local↔local staging: new files are copied by the file threads', () => {
  it('stages small files through copies and streams only the large ones, every byte in place', async () => {
    const base = await temp('mutagen-local-copies-');
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 300; i++) files.set(`d${i % 7}/f${i}`, Buffer.from(`file ${i} `.repeat(i)));
    const large = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < large.length; i += 4096) large[i] = i % 253;
    files.set('large', large);
    const { streamedFiles, staged } = await stageFromAlpha(base, files);
    expect(streamedFiles).toBe(1); // only the file above the copy limit went through the stream
    for (const [relative, content] of files) expect(staged.get(relative), relative).toBe(content.toString('hex'));
  });

  it('streams a file that cannot be copied (replaced by a symbolic link after the scan): it is not staged, and nothing breaks', async () => {
    const base = await temp('mutagen-local-copies-');
    const files = new Map([['kept', Buffer.from('kept')], ['swapped', Buffer.from('original')]]);
    const alphaRoot = path.join(base, 'alpha');
    // the scan happens inside stageFromAlpha; a symbolic link placed before it would be scanned
    // as one, so the swap is simulated with a link that only appears after the scan
    const swap = vi.spyOn(LocalEndpoint.prototype, 'supply');
    swap.mockImplementationOnce(async function (this: LocalEndpoint, ...args) {
      await writeFile(path.join(base, 'elsewhere'), 'not under the root');
      const target = path.join(alphaRoot, 'swapped');
      await rm(target);
      await symlink(path.join(base, 'elsewhere'), target);
      swap.mockRestore();
      return LocalEndpoint.prototype.supply.apply(this, args);
    });
    const { streamedFiles, staged } = await stageFromAlpha(base, files);
    expect(streamedFiles).toBe(1);
    expect(staged.get('kept')).toBe(Buffer.from('kept').toString('hex'));
    expect(staged.get('swapped')).toBeUndefined();
  });

  it('streams everything when the hash has no thread implementation (xxh128)', async () => {
    const base = await temp('mutagen-local-copies-');
    const files = new Map([['a', Buffer.from('alpha')], ['b', Buffer.from('beta')]]);
    const { streamedFiles, staged } = await stageFromAlpha(base, files, { hash: 'xxh128' });
    expect(streamedFiles).toBe(2);
    for (const [relative, content] of files) expect(staged.get(relative), relative).toBe(content.toString('hex'));
  });
});
