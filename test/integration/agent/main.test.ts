import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_MAGIC } from '../../../src/wire/handshake.js';
import { makeTempDirectory } from '../../helpers/temp.js';
import { useProcesses } from '../../helpers/processes.js';
import { buildTestAgent } from './fixture.js';

let build: string;
let agent: string;

beforeAll(async () => {
  build = await makeTempDirectory('mt-agent-build-');
  agent = (await buildTestAgent(build)).path;
});

afterAll(async () => {
  await rm(build, { recursive: true, force: true });
});

const processes = useProcesses();

describe('dist/agent.mjs as a process', () => {
  it('rejects a bad command line or environment with exit status 2 and a message on stderr only', async () => {
    const cases: [string[], Record<string, string>, string][] = [
      [[], {}, 'mutagen agent: usage: agent.mjs synchronizer|forwarder [--log-level=<level>] (got "")\n'],
      [['synchronizer', '--verbose'], {}, 'mutagen agent: unknown argument: "--verbose"\n'],
      [['synchronizer', '--log-level=loud'], {}, 'mutagen agent: unknown log level: loud\n'],
      [['forwarder', '--verbose'], {}, 'mutagen agent: unknown argument: "--verbose"\n'],
      [['synchronizer'], { MUTAGEN_DATA_DIRECTORY: 'relative/dir' }, 'mutagen agent: provided data directory path is not absolute: relative/dir\n'],
    ];
    for (const [args, env, message] of cases) {
      const result = await processes.run([process.execPath, agent, ...args], { env: { HOME: build, ...env } });
      expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ code: 2, stdout: '', stderr: message });
    }
  });

  it('speaks first with the magic bytes and exits (1, with a reason) when stdin ends before the handshake', async () => {
    const spawned = processes.spawn([process.execPath, agent, 'synchronizer'], { env: { HOME: build, MUTAGEN_DATA_DIRECTORY: path.join(build, 'data') } });
    const result = await spawned.exited;
    expect(result.code).toBe(1);
    // The magic is ASCII ("\0mutagea"): the helper's utf8 decoding keeps it intact.
    expect(result.stdout.startsWith(Buffer.from(AGENT_MAGIC).toString('utf8'))).toBe(true);
    expect(result.stderr).toBe('mutagen agent: connection closed before the handshake\n');
  });
});
