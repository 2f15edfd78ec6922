import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it, vi } from 'vitest';
import { describeState, waitForState } from '../../helpers/engine.js';
import { describeWithSshd } from '../../helpers/sshd.js';
import { useSshSessions } from './session-fixture.js';

/**
 * What an SSH beta root that is not a plain existing directory does (sync-semantics §2.1, cli
 * spec §12): a file root syncs that one file, a file against a directory is a conflict at the
 * root with nothing replaced, and a root whose parent is missing is a problem, not a failure.
 */
describeWithSshd('sync roots over SSH', (sshd) => {
  const ssh = useSshSessions(sshd);

  async function flush(id: string): Promise<void> {
    await ssh.manager.flush({ specifications: [id] }, false, AbortSignal.timeout(60_000));
  }

  it('a remote path that is a file syncs that one file, both ways', async () => {
    const remote = ssh.ws.at('remote-notes.txt');
    await writeFile(remote, 'from the remote\n');
    const alpha = ssh.ws.at('notes.txt');
    const id = await ssh.create(ssh.spec(remote, { alpha }));
    const first = await waitForState(ssh.manager, id, (s) => s.successfulCycles > 0 && s.status === 'watching', 60_000);
    expect(first.lastError, describeState(first)).toBeUndefined();
    expect(await readFile(alpha, 'utf8')).toBe('from the remote\n');
    await writeFile(alpha, 'edited on alpha\n');
    await flush(id);
    expect(await readFile(remote, 'utf8')).toBe('edited on alpha\n');
    await writeFile(remote, 'edited on the remote\n');
    await flush(id);
    expect(await readFile(alpha, 'utf8')).toBe('edited on the remote\n');
    const state = await waitForState(ssh.manager, id, (s) => s.status === 'watching');
    expect(state.beta.files, describeState(state)).toBe(1);
    expect(state.conflicts).toEqual([]);
  });

  it('a remote file root against a local directory is a conflict at the root: nothing is replaced', async () => {
    const remote = ssh.ws.at('remote-notes.txt');
    await writeFile(remote, 'from the remote\n');
    await mkdir(path.join(ssh.ws.alpha, 'sub'), { recursive: true });
    await writeFile(path.join(ssh.ws.alpha, 'sub', 'a.txt'), 'a\n');
    const id = await ssh.create(ssh.spec(remote));
    const state = await waitForState(ssh.manager, id, (s) => s.successfulCycles > 0 && s.status === 'watching', 60_000);
    expect(state.conflicts.map((conflict) => conflict.root), describeState(state)).toEqual(['']);
    expect(state.conflicts[0]?.alphaChanges[0]?.new?.kind).toBe('directory');
    expect(state.conflicts[0]?.betaChanges[0]?.new?.kind).toBe('file');
    expect(await readFile(remote, 'utf8')).toBe('from the remote\n');
    expect(await readFile(path.join(ssh.ws.alpha, 'sub', 'a.txt'), 'utf8')).toBe('a\n');
  });

  it('a remote root whose parent is missing is a problem at the root; alpha keeps its files', async () => {
    await mkdir(ssh.ws.alpha, { recursive: true });
    await writeFile(path.join(ssh.ws.alpha, 'a.txt'), 'a\n');
    const remote = ssh.ws.at('missing-parent', 'root');
    const id = await ssh.create(ssh.spec(remote));
    const state = await waitForState(ssh.manager, id, (s) => s.beta.transitionProblems.length > 0, 60_000);
    expect(state.lastError, describeState(state)).toBeUndefined();
    expect(state.beta.transitionProblems.map((problem) => problem.path)).toEqual(['']);
    expect(state.beta.transitionProblems[0]?.error).toBe('unable to walk to transition root: parent path does not exist or has incorrect casing');
    await expect(lstat(path.dirname(remote))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(path.join(ssh.ws.alpha, 'a.txt'), 'utf8')).toBe('a\n');
  });
});

describeWithSshd('terminating a session over SSH', (sshd) => {
  const ssh = useSshSessions(sshd);

  it('removes the scan cache and staging area the agent kept for it on the remote', async () => {
    await mkdir(ssh.ws.alpha, { recursive: true });
    await writeFile(path.join(ssh.ws.alpha, 'a.txt'), 'a\n');
    const id = await ssh.create(ssh.spec(ssh.ws.beta));
    const state = await waitForState(ssh.manager, id, (s) => s.successfulCycles > 0 && s.status === 'watching', 60_000);
    expect(state.lastError, describeState(state)).toBeUndefined();
    const cache = path.join(sshd.remoteDataDirectory, 'caches', `${id}_beta`);
    const staging = path.join(sshd.remoteDataDirectory, 'staging', `${id}-beta`);
    // saved once the cycle is over, while the session waits for changes
    await vi.waitFor(async () => expect((await lstat(cache)).isFile()).toBe(true), { timeout: 10_000 });
    await ssh.manager.terminate({ specifications: [id] }, AbortSignal.timeout(30_000));
    await expect(lstat(cache)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(lstat(staging)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(path.join(ssh.ws.beta, 'a.txt'), 'utf8')).toBe('a\n');
  });
});
