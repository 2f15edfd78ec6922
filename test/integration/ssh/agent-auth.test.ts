import { execFile, spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import type { MutagenError } from '../../../src/base/errors.js';
import { eventually } from '../../helpers/eventually.js';
import { describeWithSshd } from '../../helpers/sshd.js';
import { useTempDirectories } from '../../helpers/temp.js';
import { readAll, useSsh } from './fixture.js';

const execFileAsync = promisify(execFile);

describeWithSshd('ssh transport: ssh-agent', (sshd) => {
  const ssh = useSsh(sshd);
  const temp = useTempDirectories();
  const agents: number[] = [];
  afterEach(() => {
    for (const pid of agents.splice(0)) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
  });

  /** A private ssh-agent (foreground, stopped by pid) holding the test client key. */
  async function startAgent(): Promise<string> {
    const socket = path.join(await temp('mag-'), 'agent.sock');
    const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    if (child.pid === undefined) throw new Error('unable to start ssh-agent');
    agents.push(child.pid);
    await eventually(() => access(socket));
    await execFileAsync('ssh-add', ['-q', sshd.clientKey], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
    return socket;
  }

  function entry(lines: readonly string[]): string {
    return ['Host via-agent', '  HostName 127.0.0.1', `  Port ${sshd.main.port}`, `  User ${sshd.user}`, '  UserKnownHostsFile ~/.ssh/known_hosts', ...lines.map((line) => `  ${line}`), ''].join('\n');
  }

  it('authenticates with a key held by the agent from SSH_AUTH_SOCK', async () => {
    const socket = await startAgent();
    // Only a non-existent identity file: the agent's key must do it.
    const home = await ssh.home({ extraConfig: entry(['IdentityFile ~/.ssh/id_none']) });
    const transport = await ssh.connect(home, { target: { host: 'via-agent' }, env: { SSH_AUTH_SOCK: socket } });
    const child = await ssh.run(transport, ['echo', 'agent']);
    expect((await readAll(child.stdout)).toString()).toBe('agent\n');
  });

  it('offers only agent keys matching IdentityFile under IdentitiesOnly', async () => {
    const socket = await startAgent();
    const other = path.join(await temp('mok-'), 'other');
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', other]);
    const home = await ssh.home({ extraConfig: entry([`IdentityAgent ${socket}`, `IdentityFile ${other}`, 'IdentitiesOnly yes']) });
    const error = await ssh.connect(home, { target: { host: 'via-agent' } }).then(() => undefined, (caught: unknown) => caught as MutagenError);
    expect(error?.code).toBe('MUTAGEN_AUTHENTICATION');
    expect(error?.message).toContain('agent: 0 of 1 keys offered');
    expect(error?.message).toContain(other);
  });

  it('notes an unreachable agent and goes on with the identity files', async () => {
    const home = await ssh.home({ extraConfig: entry(['IdentityAgent /nonexistent/agent.sock', 'IdentityFile ~/.ssh/id_ed25519']) });
    const transport = await ssh.connect(home, { target: { host: 'via-agent' } });
    const child = await ssh.run(transport, ['echo', 'file']);
    expect((await readAll(child.stdout)).toString()).toBe('file\n');
  });
});
