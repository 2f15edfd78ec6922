import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonClient } from '../../../src/daemon/client.js';
import { daemonPaths } from '../../../src/daemon/paths.js';
import { eventually } from '../../helpers/eventually.js';
import { tsxCommand, useProcesses, type Spawned } from '../../helpers/processes.js';
import { useTempDirectories } from '../../helpers/temp.js';
import { connectError, endpointOf, forwardSpec, freePort, roundTrip, signal, useForwardTest, type Address } from './fixture.js';

const test = useForwardTest();
const processes = useProcesses();
const tempDirectory = useTempDirectories();

async function startDaemon(dataDirectory: string): Promise<{ daemon: Spawned; client: DaemonClient }> {
  const daemon = processes.spawn([...tsxCommand('test/integration/forward/daemon-entry.ts'), dataDirectory]);
  const client = await eventually(() => DaemonClient.dial(daemonPaths(dataDirectory).socket, signal, 1_000), { timeoutMs: 60_000, intervalMs: 100 });
  return { daemon, client };
}

describe('forward sessions in a daemon process', () => {
  it('creates a forward over RPC and listens again after the daemon is killed and restarted', async () => {
    const dataDirectory = path.join(await tempDirectory('mtd-'), 'data');
    processes.watchDataDirectory(dataDirectory);
    const target = await test.server({});
    const listen: Address = { port: await freePort() };
    const first = await startDaemon(dataDirectory);
    const statuses: string[] = [];
    const { id } = await first.client.call('forward.create', { spec: forwardSpec(endpointOf(listen), endpointOf(target.address), { name: 'db' }), paused: false }, {
      signal, onStatus: (message) => statuses.push(message),
    });
    expect(id).toMatch(/^fwrd_/);
    expect(statuses).toEqual(['Connecting to source...', 'Connecting to destination...']);
    expect((await roundTrip(listen, 'through the daemon')).toString()).toBe('through the daemon');
    const { sessions } = await first.client.call('forward.list', { selection: { specifications: ['db'] } }, { signal });
    expect(sessions[0]).toMatchObject({ status: 'forwarding', totalConnections: 1, session: { id, name: 'db' } });
    first.client.close();

    process.kill(first.daemon.pid, 'SIGKILL');
    await first.daemon.exited;
    expect(await connectError(listen)).toBe('ECONNREFUSED');

    const second = await startDaemon(dataDirectory);
    // The daemon answers RPC before it has resumed its sessions: their listeners come up just after.
    expect((await eventually(() => roundTrip(listen, 'after a crash'))).toString()).toBe('after a crash');
    const after = await second.client.call('forward.list', { selection: {} }, { signal });
    expect(after.sessions.map((s) => s.session.id)).toEqual([id]);

    // An orderly stop removes a Unix listener's socket; the next daemon creates it again.
    const socketPath = path.join(path.dirname(dataDirectory), 'd.sock');
    await second.client.call('forward.create', { spec: forwardSpec(`unix:${socketPath}`, endpointOf(target.address)), paused: false }, { signal });
    await second.client.call('daemon.terminate', {}, { signal });
    second.client.close();
    expect((await second.daemon.exited).code).toBe(0);
    expect(existsSync(socketPath)).toBe(false);

    const third = await startDaemon(dataDirectory);
    expect((await eventually(() => roundTrip({ path: socketPath }, 'unix, third life'))).toString()).toBe('unix, third life');
    expect((await eventually(() => roundTrip(listen, 'tcp, third life'))).toString()).toBe('tcp, third life');
    const terminated = await third.client.call('forward.terminate', { selection: { all: true } }, { signal });
    expect(terminated.affected).toHaveLength(2);
    expect(existsSync(socketPath)).toBe(false);
    await third.client.call('daemon.terminate', {}, { signal });
    third.client.close();
    expect((await third.daemon.exited).code).toBe(0);
  });
});
