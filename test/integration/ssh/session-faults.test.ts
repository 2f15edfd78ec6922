import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { SessionId, SyncSpec } from '../../../src/model/session.js';
import { describeState, waitForState } from '../../helpers/engine.js';
import { temporaries } from '../../helpers/tree.js';
import { eventually } from '../../helpers/eventually.js';
import { describeWithSshd } from '../../helpers/sshd.js';
import { useSshSessions } from './session-fixture.js';

const MIB = 1024 * 1024;

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Pids of processes that hold a file open whose path contains `fragment` (a staging file). */
async function pidsHolding(fragment: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try { fds = await readdir(`/proc/${name}/fd`); } catch { continue; }
    for (const fd of fds) {
      const target = await readlink(`/proc/${name}/fd/${fd}`).catch(() => '');
      if (target.includes(fragment)) { found.push(Number(name)); break; }
    }
  }
  return found;
}

async function parentOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}


describeWithSshd('sync sessions over SSH under faults', (sshd) => {
  const ssh = useSshSessions(sshd);
  const sshSpec = (betaPath: string): SyncSpec => ssh.spec(betaPath);
  const create = (spec: SyncSpec): Promise<SessionId> => ssh.create(spec);

  /** Kills `victim(agentPid)` while beta's agent is writing `big` into its staging area, then checks recovery. */
  async function interruptTransfer(victim: (agentPid: number) => Promise<number>): Promise<void> {
    const content = randomBytes(64 * MIB);
    await mkdir(ssh.ws.alpha, { recursive: true });
    await writeFile(path.join(ssh.ws.alpha, 'big'), content);
    await writeFile(path.join(ssh.ws.alpha, 'small.txt'), 'small\n');
    const id = await create(sshSpec(ssh.ws.beta));
    const [agent] = await eventually(async () => {
      const pids = await pidsHolding(`${id}-beta`);
      expect(pids.length).toBeGreaterThan(0);
      return pids;
    }, { timeoutMs: 60_000, intervalMs: 5 });
    if (agent === undefined) throw new Error('no agent found');
    process.kill(await victim(agent), 'SIGKILL');
    const failed = await waitForState(ssh.manager, id, (s) => s.lastError !== undefined || s.status === 'disconnected', 60_000);
    expect(failed.lastError ?? failed.status, describeState(failed)).toMatch(/connection|agent|disconnected/);
    const converged = await waitForState(ssh.manager, id, (s) => s.successfulCycles > 0 && s.status === 'watching', 90_000);
    expect(converged.lastError, describeState(converged)).toBeUndefined();
    expect(sha256(await readFile(path.join(ssh.ws.beta, 'big')))).toBe(sha256(content));
    expect(await readFile(path.join(ssh.ws.beta, 'small.txt'), 'utf8')).toBe('small\n');
    expect(sha256(await readFile(path.join(ssh.ws.alpha, 'big')))).toBe(sha256(content));
    expect(await temporaries(ssh.ws.beta)).toEqual([]);
    expect(await temporaries(ssh.ws.alpha)).toEqual([]);
  }

  it('recovers when the remote agent is killed in the middle of a large transfer', async () => {
    await interruptTransfer((agent) => Promise.resolve(agent));
  }, 180_000);

  it('recovers when the SSH connection is cut in the middle of a large transfer', async () => {
    // The agent's parent is sshd's per-connection process: killing it drops the TCP connection.
    await interruptTransfer(async (agent) => {
      const parent = await parentOf(agent);
      expect(await readFile(`/proc/${parent}/cmdline`, 'utf8')).toMatch(/^sshd/);
      return parent;
    });
  }, 180_000);

  it('reports a full remote disk as a problem of that file, syncs the rest and leaves no partial file', async () => {
    const small = ssh.ws.at('tmpfs');
    await mkdir(small);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small], { stdio: 'pipe' });
    } catch (error) {
      if (process.env['CI'] === 'true') throw error;
      return; // not root locally: nothing to mount
    }
    try {
      await mkdir(ssh.ws.alpha, { recursive: true });
      await writeFile(path.join(ssh.ws.alpha, 'big'), randomBytes(4 * MIB));
      await writeFile(path.join(ssh.ws.alpha, 'small.txt'), 'fits\n');
      const id = await create(sshSpec(path.join(small, 'beta')));
      const state = await waitForState(ssh.manager, id, (s) => s.beta.transitionProblems.length > 0, 60_000);
      expect(state.beta.transitionProblems.map((p) => p.path), describeState(state)).toEqual(['big']);
      expect(state.beta.transitionProblems[0]?.error).toMatch(/ENOSPC|no space/i);
      expect(await readFile(path.join(small, 'beta', 'small.txt'), 'utf8')).toBe('fits\n');
      expect((await readdir(path.join(small, 'beta'))).sort()).toEqual(['small.txt']);
      expect(state.lastError).toBeUndefined();
    } finally {
      await ssh.manager.close();
      execFileSync('umount', ['-l', small]);
    }
  }, 120_000);

  it('refuses to create a session whose SSH host does not answer, and saves nothing', async () => {
    await writeFile(ssh.home.config, `Host closed-port\n  HostName 127.0.0.1\n  Port 1\n  User ${sshd.user}\n`, { flag: 'a' });
    const spec = sshSpec('/srv/x');
    await expect(create({ ...spec, beta: { ...spec.beta, host: 'closed-port' } })).rejects.toThrow(/unable to connect to beta: .*(refused|127\.0\.0\.1:1)/);
    const { sessions } = await ssh.manager.list({}, undefined, AbortSignal.timeout(10_000));
    expect(sessions).toEqual([]);
    expect(await readdir(path.join(ssh.ws.data, 'sessions'))).toEqual([]);
  });
});
