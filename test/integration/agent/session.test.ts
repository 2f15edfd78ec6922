import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAgentConnector } from '../../../src/agent/connector.js';
import type { Transport } from '../../../src/agent/transport/transport.js';
import { SyncManager } from '../../../src/sync/manager.js';
import { describeState, flushAndState, localSpec, testLogger } from '../../helpers/engine.js';
import { eventually } from '../../helpers/eventually.js';
import { useTempDirectories } from '../../helpers/temp.js';
import { canonical, readTree, writeTree } from '../../helpers/tree.js';
import { agentTestLogger, useTestAgent, dialerFor, remoteAt } from './fixture.js';

const testAgent = useTestAgent();

const temp = useTempDirectories();

describe('a sync session whose beta is an agent (SyncManager → connector → ProcessTransport)', () => {
  it('syncs local → remote and back, and the agents exit with the session', async () => {
    const base = await temp('mt-agent-session-');
    const home = path.join(base, 'remote-home');
    const alpha = path.join(base, 'alpha');
    await writeTree(home, { 'placeholder': '' });
    await writeTree(alpha, { 'readme.md': '# hello', 'src/main.ts': 'export {};', 'src/run.sh': { type: 'file', content: '#!/bin/sh', executable: true } });
    const transports: Transport[] = [];
    const remote = remoteAt(home, testAgent());
    const connector = createAgentConnector({
      transportFor: (url) => {
        expect(url.host).toBe('remote.example');
        transports.push(remote.transport);
        return Promise.resolve(remote.transport);
      },
      dialer: dialerFor(testAgent(), path.join(base, 'data')),
      logger: agentTestLogger(),
    });
    const manager = new SyncManager({ dataDirectory: path.join(base, 'data'), logger: testLogger(), version: testAgent().version, remote: connector });
    await manager.initialize();
    try {
      const spec = { ...localSpec(alpha, '', { watchMode: 'no-watch' }), beta: { kind: 'sync' as const, protocol: 'ssh' as const, host: 'remote.example', path: '~/beta' } };
      const statuses: string[] = [];
      const id = await manager.create(spec, { paused: false, prompter: { prompt: () => Promise.reject(new Error('no prompts expected')), status: (m) => statuses.push(m) } }, AbortSignal.timeout(60_000));
      expect(statuses).toContain('Connecting to agent...');
      // no-watch: every cycle is a flush, so each step below is one known cycle.
      const synced = await flushAndState(manager, id);
      expect(synced.successfulCycles).toBe(1);
      expect(synced.lastError, describeState(synced)).toBeUndefined();
      expect(canonical(await readTree(path.join(home, 'beta')))).toEqual(canonical(await readTree(alpha)));

      await writeFile(path.join(home, 'beta', 'from-remote.txt'), 'written on the remote');
      const back = await flushAndState(manager, id);
      expect(back.successfulCycles).toBe(2);
      expect(back.lastError, describeState(back)).toBeUndefined();
      expect(await readFile(path.join(alpha, 'from-remote.txt'), 'utf8')).toBe('written on the remote');
      expect((await readTree(path.join(home, 'beta')))?.['src/run.sh']).toMatchObject({ executable: true });
    } finally {
      await manager.close();
    }
    const agents = remote.transport.inner.spawned().filter((_, index) => remote.transport.starts[index]?.includes('synchronizer') === true);
    expect(agents.length).toBeGreaterThan(0);
    for (const pid of agents) await eventually(() => { if (existsSync(`/proc/${pid}`)) throw new Error(`agent ${pid} still running`); });
    await Promise.all(transports.map((t) => t.close()));
  });
});
