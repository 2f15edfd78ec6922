import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeDocker, useContainers, type TestContainer } from '../../helpers/docker.js';
import { describeState, waitForState } from '../../helpers/engine.js';
import { nodeIn, statIn, treeIn, useDockerSessions } from './session-fixture.js';

async function writeIn(container: TestContainer, file: string, content: string): Promise<void> {
  await nodeIn(container, "require('fs').writeFileSync(process.argv[1], process.argv[2])", [file, content]);
}

async function readIn(container: TestContainer, file: string): Promise<string> {
  return (await container.readFile(file)).toString('utf8');
}

/**
 * Where files land in a container and whose they are: the agent runs as the URL's user (or the
 * container's), `~` is that user's home, and roots follow sync-semantics §2.1 / cli spec §12
 * row 14: a missing root is created when content arrives, a file root syncs one file.
 */
describeDocker('sync roots inside a container', (docker) => {
  const containers = useContainers(docker);
  const sessions = useDockerSessions(docker);

  async function tree(): Promise<void> {
    const { ws } = sessions;
    await mkdir(path.join(ws.alpha, 'sub', 'deeper'), { recursive: true });
    await writeFile(path.join(ws.alpha, 'a.txt'), 'a\n');
    await writeFile(path.join(ws.alpha, 'sub', 'deeper', 'b.txt'), 'b\n');
    await writeFile(path.join(ws.alpha, 'run.sh'), '#!/bin/sh\n');
    await chmod(path.join(ws.alpha, 'run.sh'), 0o755);
  }

  async function converge(id: string): Promise<void> {
    const state = await waitForState(sessions.manager, id, (s) => s.successfulCycles > 0 && s.status === 'watching', 60_000);
    expect(state.lastError, describeState(state)).toBeUndefined();
    expect(state.beta.transitionProblems, describeState(state)).toEqual([]);
  }

  const appTree = [
    { path: 'a.txt', type: 'file' }, { path: 'run.sh', type: 'file' }, { path: 'sub', type: 'directory' },
    { path: 'sub/deeper', type: 'directory' }, { path: 'sub/deeper/b.txt', type: 'file' },
  ].map((entry) => ({ ...entry, uid: 1000, gid: 1000 }));

  it('user app (URL user): files synced into ~/x belong to 1000:1000', async () => {
    const container = await containers.start(docker.images.node);
    await tree();
    const id = await sessions.create(sessions.spec(sessions.ws.alpha, container, '~/x', { user: 'app' }));
    await converge(id);
    expect(await statIn(container, '/home/app/x')).toEqual({ type: 'directory', uid: 1000, gid: 1000 });
    expect(await treeIn(container, '/home/app/x')).toEqual(appTree);
    expect(await readIn(container, '/home/app/x/sub/deeper/b.txt')).toBe('b\n');
    const mode = await nodeIn(container, "process.stdout.write((require('fs').statSync(process.argv[1]).mode & 0o777).toString(8))", ['/home/app/x/run.sh']);
    expect(Number.parseInt(mode, 8) & 0o111).not.toBe(0);
    // The agent itself lives in app's home, not root's.
    expect(await statIn(container, '/home/app/.mutagen-ts')).toEqual({ type: 'directory', uid: 1000, gid: 1000 });
    expect(await statIn(container, '/root/.mutagen-ts')).toBeUndefined();
  });

  it('container running as uid 1000 (no URL user): ~/x is app\'s home and files are 1000:1000', async () => {
    const container = await containers.start(docker.images.node, { user: '1000:1000' });
    await tree();
    const id = await sessions.create(sessions.spec(sessions.ws.alpha, container, '~/x'));
    await converge(id);
    expect(await treeIn(container, '/home/app/x')).toEqual(appTree);
  });

  it('a missing root is created when content arrives, not before', async () => {
    const { ws, manager } = sessions;
    const container = await containers.start(docker.images.node);
    const id = await sessions.create(sessions.spec(ws.alpha, container, '/root/new'));
    await converge(id);
    expect(await statIn(container, '/root/new')).toBeUndefined();
    await tree();
    await manager.flush({ specifications: [id] }, false, AbortSignal.timeout(60_000));
    expect(await statIn(container, '/root/new')).toEqual({ type: 'directory', uid: 0, gid: 0 });
    expect((await treeIn(container, '/root/new')).map((entry) => entry.path)).toEqual(appTree.map((entry) => entry.path));
  });

  it('a root whose parent is missing is a problem at the root, not a failure', async () => {
    const { ws, manager } = sessions;
    const container = await containers.start(docker.images.node);
    await tree();
    const id = await sessions.create(sessions.spec(ws.alpha, container, '/root/no/such/x'));
    const state = await waitForState(manager, id, (s) => s.successfulCycles > 0 && s.status === 'watching', 60_000);
    expect(state.lastError, describeState(state)).toBeUndefined();
    expect(state.beta.transitionProblems.map((problem) => problem.path)).toEqual(['']);
    expect(state.beta.transitionProblems[0]?.error).toBe('unable to walk to transition root: parent path does not exist or has incorrect casing');
    expect(await statIn(container, '/root/no')).toBeUndefined();
    expect(await readFile(path.join(ws.alpha, 'a.txt'), 'utf8')).toBe('a\n');
  });

  it('a file root syncs that one file, both ways', async () => {
    const { ws, manager } = sessions;
    const container = await containers.start(docker.images.node);
    await writeIn(container, '/root/notes.txt', 'from the container\n');
    const alpha = ws.at('notes.txt');
    const id = await sessions.create(sessions.spec(alpha, container, '/root/notes.txt'));
    await converge(id);
    expect((await stat(alpha)).isFile()).toBe(true);
    expect(await readFile(alpha, 'utf8')).toBe('from the container\n');
    await writeFile(alpha, 'edited on alpha\n');
    await manager.flush({ specifications: [id] }, false, AbortSignal.timeout(60_000));
    expect(await readIn(container, '/root/notes.txt')).toBe('edited on alpha\n');
    await writeIn(container, '/root/notes.txt', 'edited in the container\n');
    await manager.flush({ specifications: [id] }, false, AbortSignal.timeout(60_000));
    expect(await readFile(alpha, 'utf8')).toBe('edited in the container\n');
    const state = await waitForState(manager, id, (s) => s.status === 'watching');
    expect(state.beta.files, describeState(state)).toBe(1);
    expect(state.conflicts).toEqual([]);
  });

  it('a file root against a directory is a conflict at the root: nothing is replaced', async () => {
    const { ws, manager } = sessions;
    const container = await containers.start(docker.images.node);
    await writeIn(container, '/root/notes.txt', 'from the container\n');
    await tree();
    const id = await sessions.create(sessions.spec(ws.alpha, container, '/root/notes.txt'));
    const state = await waitForState(manager, id, (s) => s.successfulCycles > 0 && s.status === 'watching', 60_000);
    expect(state.conflicts.map((conflict) => conflict.root), describeState(state)).toEqual(['']);
    expect(state.conflicts[0]?.alphaChanges[0]?.new?.kind).toBe('directory');
    expect(state.conflicts[0]?.betaChanges[0]?.new?.kind).toBe('file');
    expect(await readIn(container, '/root/notes.txt')).toBe('from the container\n');
    expect(await readFile(path.join(ws.alpha, 'a.txt'), 'utf8')).toBe('a\n');
  });
});
