import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { describeWithSshd } from '../../helpers/sshd.js';
import { eventually } from '../../helpers/eventually.js';
import { readAll, useSsh } from './fixture.js';

/** The parent pid from /proc/<pid>/stat (field 4; the name in field 2 may hold spaces). */
async function parentOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

describeWithSshd('ssh transport: dropped connections', (sshd) => {
  const ssh = useSsh(sshd);

  /** The sshd processes serving a session whose shell printed its $PPID, up to the listener. */
  async function servingProcesses(sessionPid: number): Promise<number[]> {
    const serving: number[] = [];
    for (let pid = sessionPid; pid !== sshd.main.pid; pid = await parentOf(pid)) {
      expect(pid).toBeGreaterThan(1);
      serving.push(pid);
    }
    expect(serving.length).toBeGreaterThan(0);
    return serving;
  }

  async function firstLine(stream: NodeJS.ReadableStream): Promise<number> {
    return Number((await new Promise<Buffer>((resolve) => stream.once('data', resolve))).toString().trim());
  }

  it('ends the streams of running commands and reconnects on the next start()', async () => {
    const home = await ssh.home();
    const pool = ssh.pool();
    const transport = await ssh.connect(home, { pool });
    const child = await ssh.run(transport, ['sh', '-c', 'echo $PPID; exec cat']);
    // The sshd processes serving this connection (one for root logins, session + privileged
    // monitor for others). Killing them drops the TCP connection without a goodbye.
    const serving = await servingProcesses(await firstLine(child.stdout));
    const rest = readAll(child.stdout);
    for (const pid of serving) process.kill(pid, 'SIGKILL');
    await rest;
    expect(await child.exit).toEqual({ code: null, signal: null });
    await eventually(() => expect(pool.openConnections).toBe(0));

    const again = await ssh.run(transport, ['echo', 'back']);
    expect((await readAll(again.stdout)).toString()).toBe('back\n');
    expect(pool.connectionsOpened).toBe(2);
    expect(pool.openConnections).toBe(1);
  });

  it('declares a silent server dead after ServerAliveCountMax unanswered keepalives', async () => {
    const home = await ssh.home({ extraConfig: 'Host *\n  ServerAliveInterval 1\n  ServerAliveCountMax 2\n' });
    const pool = ssh.pool();
    const transport = await ssh.connect(home, { pool });
    const child = await ssh.run(transport, ['sh', '-c', 'echo $PPID; exec cat']);
    const serving = await servingProcesses(await firstLine(child.stdout));
    const rest = readAll(child.stdout);
    for (const pid of serving) process.kill(pid, 'SIGSTOP');
    try {
      await rest;
      expect(await child.exit).toEqual({ code: null, signal: null });
      expect(pool.openConnections).toBe(0);
    } finally {
      // SIGKILL ends stopped processes too; one may already be gone (its parent died first).
      for (const pid of serving) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already reaped */ }
      }
    }
  });
});
