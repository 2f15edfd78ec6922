import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Logger } from '../../../src/base/logger.js';
import { emptySyncConfiguration, resolveEndpointConfiguration } from '../../../src/model/configuration.js';
import { LocalEndpoint } from '../../../src/sync/local/endpoint.js';
import { useTempDirectories } from '../../helpers/temp.js';

const temp = useTempDirectories();
const quiet = new Logger({ write: () => true }, 'error');

async function scannedEndpoint(base: string): Promise<{ endpoint: LocalEndpoint; cacheFile: string }> {
  const root = path.join(base, 'root');
  await mkdir(root);
  await writeFile(path.join(root, 'file'), 'content');
  const cacheFile = path.join(base, 'caches', 'cache');
  const configuration = resolveEndpointConfiguration(emptySyncConfiguration(), emptySyncConfiguration());
  const endpoint = await LocalEndpoint.connect({
    root, configuration: { ...configuration, watchMode: 'no-watch' }, readOnly: false,
    stagingRoot: path.join(base, 'staging'), cacheFile, computeSignatures: false, logger: quiet,
  }, AbortSignal.timeout(10_000));
  await endpoint.scan({ full: true }, AbortSignal.timeout(10_000));
  return { endpoint, cacheFile };
}

describe('closing a local endpoint', () => {
  it('saves the scan cache on shutdown, but not when the session is terminated (discard)', async () => {
    const kept = await scannedEndpoint(await temp('mutagen-close-'));
    await kept.endpoint.shutdown();
    await expect(access(kept.cacheFile)).resolves.toBeUndefined();

    const discarded = await scannedEndpoint(await temp('mutagen-close-'));
    await discarded.endpoint.discard();
    await expect(access(discarded.cacheFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
