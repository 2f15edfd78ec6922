import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { SyncSessionState } from '../../../src/model/session.js';
import { describeDocker, useContainers } from '../../helpers/docker.js';
import { describeState, waitForState } from '../../helpers/engine.js';
import { sha256In, temporariesIn, treeIn, useDockerSessions } from './session-fixture.js';
import { temporaries } from '../../helpers/tree.js';

const MIB = 1024 * 1024;

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}


describeDocker('sync sessions into a container under faults', (docker) => {
  const containers = useContainers(docker);
  const sessions = useDockerSessions(docker);

  it('recovers when the container is restarted in the middle of a 64 MiB transfer to it', async () => {
    const { ws, manager } = sessions;
    const container = await containers.start(docker.images.node);
    const content = randomBytes(64 * MIB);
    await mkdir(ws.alpha, { recursive: true });
    await writeFile(path.join(ws.alpha, 'big'), content);
    await writeFile(path.join(ws.alpha, 'small.txt'), 'small\n');
    const id = await sessions.create(sessions.spec(ws.alpha, container, '/root/beta'));
    const received = (s: SyncSessionState): number => s.beta.stagingProgress?.totalReceivedSize ?? 0;
    await waitForState(manager, id, (s) => s.status === 'staging-beta' && received(s) > 0 && received(s) < 64 * MIB, 60_000);

    // Stopping kills PID 1 and with it the agent's exec; the reconnect then meets a stopped container.
    await container.stop();
    const down = await waitForState(manager, id, (s) => s.status === 'disconnected' && /not running/.test(s.lastError ?? ''), 60_000);
    // `(status exited)` from inspect, or the engine's own words if the probe's exec raced the stop.
    expect(down.lastError).toMatch(new RegExp(`^unable to connect to beta: unable to probe container ${container.name}: container not running( \\(status exited\\)|: .*is not running)`));
    expect(down.beta.connected).toBe(false);

    await container.start();
    const converged = await waitForState(manager, id, (s) => s.successfulCycles > 0 && s.status === 'watching', 120_000);
    expect(converged.lastError, describeState(converged)).toBeUndefined();
    expect(converged.beta.transitionProblems).toEqual([]);
    expect(await sha256In(container, '/root/beta/big')).toBe(sha256(content));
    expect((await container.readFile('/root/beta/small.txt')).toString('utf8')).toBe('small\n');
    expect(sha256(await readFile(path.join(ws.alpha, 'big')))).toBe(sha256(content));
    expect(await temporariesIn(container, '/root/beta')).toEqual([]);
    expect(await temporaries(ws.alpha)).toEqual([]);
    // The interrupted transfer left nothing behind in the agent's staging area either.
    expect((await treeIn(container, '/root/.mutagen-ts/staging')).filter((entry) => entry.type !== 'directory')).toEqual([]);
  }, 240_000);

  it('reports a read-only target as problems, loses nothing on alpha and keeps the manager working', async () => {
    const { ws, manager } = sessions;
    const shared = ws.at('ro');
    await mkdir(path.join(shared, 'x'), { recursive: true });
    await writeFile(path.join(shared, 'x', 'keep.txt'), 'from the container\n');
    const container = await containers.start(docker.images.node, { binds: [`${shared}:/ro:ro`] });
    await mkdir(ws.alpha, { recursive: true });
    await writeFile(path.join(ws.alpha, 'a.txt'), 'a\n');
    await mkdir(path.join(ws.alpha, 'dir'));
    await writeFile(path.join(ws.alpha, 'dir', 'b.txt'), 'b\n');
    const id = await sessions.create(sessions.spec(ws.alpha, container, '/ro/x'));
    const state = await waitForState(manager, id, (s) => s.successfulCycles > 0 && s.beta.transitionProblems.length > 0, 60_000);
    // Per-path problems (sync-semantics §5.8), not a failed cycle: the other direction still flows.
    expect(state.lastError, describeState(state)).toBeUndefined();
    expect(state.beta.transitionProblems.map((problem) => problem.path).sort()).toEqual(['a.txt', 'dir']);
    for (const problem of state.beta.transitionProblems) expect(problem.error).toMatch(/^unable to create (file|directory): .*EROFS: read-only file system/);
    expect(await readFile(path.join(ws.alpha, 'keep.txt'), 'utf8')).toBe('from the container\n');
    expect(await readFile(path.join(ws.alpha, 'a.txt'), 'utf8')).toBe('a\n');
    expect(await readFile(path.join(ws.alpha, 'dir', 'b.txt'), 'utf8')).toBe('b\n');
    expect(await readdir(path.join(shared, 'x'), { recursive: true })).toEqual(['keep.txt']);
    expect(await temporaries(ws.alpha)).toEqual([]);

    // Later cycles keep reporting the same problems; the manager serves other sessions meanwhile.
    await manager.flush({ specifications: [id] }, false, AbortSignal.timeout(60_000));
    const again = await waitForState(manager, id, (s) => s.status === 'watching', 30_000);
    expect(again.beta.transitionProblems.map((problem) => problem.path).sort()).toEqual(['a.txt', 'dir']);
    // A missing root on the read-only filesystem cannot be created: one problem, at the root.
    const missing = await sessions.create(sessions.spec(ws.alpha, container, '/ro/new'));
    const refused = await waitForState(manager, missing, (s) => s.successfulCycles > 0 && s.status === 'watching', 60_000);
    expect(refused.lastError, describeState(refused)).toBeUndefined();
    expect(refused.beta.transitionProblems.map((problem) => problem.path)).toEqual(['']);
    expect(refused.beta.transitionProblems[0]?.error).toMatch(/EROFS: read-only file system/);
    expect((await readdir(shared)).sort()).toEqual(['x']);
    const other = await sessions.create(sessions.spec(ws.alpha, container, '/root/ok'));
    const converged = await waitForState(manager, other, (s) => s.successfulCycles > 0 && s.status === 'watching', 60_000);
    expect(converged.beta.transitionProblems, describeState(converged)).toEqual([]);
    expect((await treeIn(container, '/root/ok')).map((entry) => entry.path)).toEqual(['a.txt', 'dir', 'dir/b.txt', 'keep.txt']);
  }, 120_000);
});
