import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentVersion, loadAgentBundle, locateAgentBundle, sha256Hex } from '../../../src/agent/bundle.js';
import packageJson from '../../../package.json' with { type: 'json' };

const created: string[] = [];
afterEach(async () => {
  await Promise.all(created.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('agent bundle', () => {
  it('is found through MUTAGEN_AGENT_BUNDLE and read once with its digest and version', async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'mt-bundle-'));
    created.push(directory);
    const file = path.join(directory, 'agent.mjs');
    await writeFile(file, 'export {};\n');
    expect(locateAgentBundle({ MUTAGEN_AGENT_BUNDLE: file })).toBe(file);
    const bundle = await loadAgentBundle({ path: file });
    expect(bundle).toEqual({ path: file, content: Buffer.from('export {};\n'), digest: sha256Hex(Buffer.from('export {};\n')), version: packageJson.version });
    expect(agentVersion()).toBe(packageJson.version);
    await expect(loadAgentBundle({ path: path.join(directory, 'missing.mjs') })).rejects.toMatchObject({ code: 'MUTAGEN_AGENT' });
  });
});
