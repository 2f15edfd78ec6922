import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Logger } from '../../../src/base/logger.js';
import { emptySyncConfiguration, resolveEndpointConfiguration, type WatchMode } from '../../../src/model/configuration.js';
import type { Entry } from '../../../src/model/entry.js';
import { LocalEndpoint } from '../../../src/sync/local/endpoint.js';
import { eventually } from '../../helpers/eventually.js';
import { useTempDirectories } from '../../helpers/temp.js';

const temp = useTempDirectories();

/** The `scanned` debug lines an endpoint logs, as their hashedFiles counts. */
class ScanLog {
  readonly hashed: number[] = [];
  readonly logger = new Logger({
    write: (line: string | Uint8Array) => {
      const match = /scanned .*hashedFiles=(\d+)/.exec(String(line));
      if (match !== null) this.hashed.push(Number(match[1]));
      return true;
    },
  }, 'debug');
}

async function connect(base: string, watchMode: WatchMode, log: ScanLog): Promise<{ endpoint: LocalEndpoint; root: string }> {
  const root = path.join(base, 'root');
  const configuration = resolveEndpointConfiguration(emptySyncConfiguration(), emptySyncConfiguration());
  const endpoint = await LocalEndpoint.connect({
    root, configuration: { ...configuration, watchMode }, readOnly: false,
    stagingRoot: path.join(base, 'staging'), cacheFile: path.join(base, 'cache'), computeSignatures: false, logger: log.logger,
  }, AbortSignal.timeout(10_000));
  return { endpoint, root };
}

async function writeFiles(root: string, count: number): Promise<void> {
  await mkdir(path.join(root, 'dir'), { recursive: true });
  for (let i = 0; i < count; i++) await writeFile(path.join(root, 'dir', `f${i}`), `content ${i}`);
}

function names(entry: Entry | undefined, prefix = ''): string[] {
  if (entry === undefined || !('contents' in entry)) return [];
  return [...entry.contents].flatMap(([name, child]) => [`${prefix}${name}`, ...names(child, `${prefix}${name}/`)]).sort();
}

describe('the scan a local endpoint starts when it connects', () => {
  for (const watchMode of ['portable', 'no-watch'] as const) {
    it(`does the hashing, and the first scan asked for still sees every later change (watch mode ${watchMode})`, async () => {
      const base = await temp('mutagen-scan-ahead-');
      await writeFiles(path.join(base, 'root'), 20);
      const log = new ScanLog();
      const { endpoint, root } = await connect(base, watchMode, log);
      try {
        // The scan at connect ran by itself and hashed the tree.
        await eventually(() => expect(log.hashed).toEqual([20]));
        await writeFile(path.join(root, 'dir', 'f0'), 'changed, and longer than before');
        await writeFile(path.join(root, 'added'), 'new');
        await rm(path.join(root, 'dir', 'f1'));
        const result = await endpoint.scan({ full: false }, AbortSignal.timeout(10_000));
        if (result.kind !== 'snapshot') throw new Error(`scan asked for a retry: ${result.reason}`);
        const listed = names(result.snapshot.content);
        expect(listed).toContain('added');
        expect(listed).not.toContain('dir/f1');
        expect(listed).toHaveLength(2 + 19);
        // Only the changed file was read again.
        expect(log.hashed).toEqual([20, 2]);
      } finally {
        await endpoint.shutdown();
      }
    });
  }

  it('ends when the endpoint shuts down before it is done', async () => {
    const base = await temp('mutagen-scan-ahead-');
    await writeFiles(path.join(base, 'root'), 400);
    const log = new ScanLog();
    const { endpoint } = await connect(base, 'portable', log);
    await endpoint.shutdown();
    const seen = log.hashed.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Nothing of it runs on after shutdown resolved: no scan completes later.
    expect(log.hashed).toHaveLength(seen);
  });
});
