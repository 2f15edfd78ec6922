import { execFile } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import type { MutagenError } from '../../../src/base/errors.js';
import { describeWithSshd } from '../../helpers/sshd.js';
import { readAll, RecordingPrompter, useSsh } from './fixture.js';

const execFileAsync = promisify(execFile);

async function failure(promise: Promise<unknown>): Promise<MutagenError> {
  return promise.then(() => { throw new Error('expected a failure'); }, (error: unknown) => error as MutagenError);
}

/** Accepts connections and never says anything (reads and drops what it gets). */
function silentServer(): net.Server {
  return net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.resume();
  });
}

function entry(name: string, lines: readonly string[]): string {
  return [`Host ${name}`, ...lines.map((line) => `  ${line}`), ''].join('\n');
}

describeWithSshd('ssh transport: connection errors', (sshd) => {
  const ssh = useSsh(sshd);
  const servers: net.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('says connection refused with host:port', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const address = closed.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    await new Promise((resolve) => closed.close(resolve));
    const home = await ssh.home();
    const error = await failure(ssh.connect(home, { target: { host: '127.0.0.1', port } }));
    expect(error.code).toBe('MUTAGEN_TRANSPORT');
    expect(error.message).toBe(`unable to connect to 127.0.0.1:${port}: connection refused`);
    expect(error.hint).toContain(`127.0.0.1:${port}`);
  });

  it('times out after ConnectTimeout when the server never answers', async () => {
    const silent = silentServer();
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const home = await ssh.home({ extraConfig: entry('silent', ['HostName 127.0.0.1', `Port ${port}`, 'ConnectTimeout 1']) });
    const started = Date.now();
    const error = await failure(ssh.connect(home, { target: { host: 'silent' } }));
    expect(error.code).toBe('MUTAGEN_TRANSPORT');
    expect(error.message).toContain(`127.0.0.1:${port}: timed out after 1s`);
    expect(Date.now() - started).toBeLessThan(30_000);

    // Without ConnectTimeout, MUTAGEN_SSH_CONNECT_TIMEOUT applies.
    const viaEnv = await ssh.home({ extraConfig: entry('silent', ['HostName 127.0.0.1', `Port ${port}`]) });
    const fromEnv = await failure(ssh.connect(viaEnv, { target: { host: 'silent' }, env: { MUTAGEN_SSH_CONNECT_TIMEOUT: '1' } }));
    expect(fromEnv.message).toContain('timed out after 1s');
  });

  it('reports a wrong user as an authentication failure naming the identities tried', async () => {
    const home = await ssh.home();
    const error = await failure(ssh.connect(home, { target: { host: 'mutagen-test', user: 'mutagen-no-such-user' } }));
    expect(error.code).toBe('MUTAGEN_AUTHENTICATION');
    expect(error.message).toContain(`permission denied for mutagen-no-such-user@127.0.0.1:${sshd.main.port}`);
    expect(error.message).toContain(home.identity);
    expect(error.hint).toContain('authorized');
  });

  it('reports a missing key as an authentication failure', async () => {
    const home = await ssh.home({
      extraConfig: entry('nokey', ['HostName 127.0.0.1', `Port ${sshd.main.port}`, 'IdentityFile ~/.ssh/id_missing', 'IdentityAgent none', 'UserKnownHostsFile ~/.ssh/known_hosts']),
    });
    const error = await failure(ssh.connect(home, { target: { host: 'nokey' } }));
    expect(error.code).toBe('MUTAGEN_AUTHENTICATION');
    expect(error.message).toContain('tried: no usable identities');
  });

  it('unlocks an encrypted key through the prompter, and skips it with a note otherwise', async () => {
    const home = await ssh.home();
    const locked = path.join(home.home, '.ssh/id_locked');
    await copyFile(home.identity, locked);
    await execFileAsync('ssh-keygen', ['-q', '-p', '-f', locked, '-P', '', '-N', 'sesame']);
    const withLocked = await ssh.home({
      extraConfig: entry('locked', ['HostName 127.0.0.1', `Port ${sshd.main.port}`, `IdentityFile ${locked}`, 'IdentityAgent none', 'UserKnownHostsFile ~/.ssh/known_hosts', `User ${sshd.user}`]),
    });
    const skipped = await failure(ssh.connect(withLocked, { target: { host: 'locked' } }));
    expect(skipped.code).toBe('MUTAGEN_AUTHENTICATION');
    expect(skipped.message).toContain(`${locked}: encrypted, skipped`);

    const prompter = new RecordingPrompter((message) => (message.includes('passphrase') ? 'sesame' : ''));
    const transport = await ssh.connect(withLocked, { target: { host: 'locked' }, prompter, pool: ssh.pool() });
    expect(prompter.prompts).toEqual([{ kind: 'secret', message: `Enter passphrase for key '${locked}': ` }]);
    const child = await ssh.run(transport, ['echo', 'unlocked']);
    expect((await readAll(child.stdout)).toString()).toBe('unlocked\n');

    // BatchMode: never asks.
    const batch = await ssh.home({
      extraConfig: entry('locked', ['HostName 127.0.0.1', `Port ${sshd.main.port}`, `IdentityFile ${locked}`, 'IdentityAgent none', 'BatchMode yes', 'UserKnownHostsFile ~/.ssh/known_hosts']),
    });
    const quiet = new RecordingPrompter(() => 'sesame');
    expect((await failure(ssh.connect(batch, { target: { host: 'locked' }, prompter: quiet, pool: ssh.pool() }))).code).toBe('MUTAGEN_AUTHENTICATION');
    expect(quiet.prompts).toEqual([]);
  });

  it('cancels a pending connection when the signal aborts', async () => {
    const silent = silentServer();
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const home = await ssh.home();
    const pool = ssh.pool();
    const { SshTransport } = await import('../../../src/agent/transport/ssh/transport.js');
    const { silentLogger } = await import('../../../src/base/logger.js');
    const controller = new AbortController();
    const pending = SshTransport.connect({ host: '127.0.0.1', port }, { home: home.home, logger: silentLogger, pool, systemConfigFile: null, env: {} }, controller.signal);
    setTimeout(() => controller.abort(), 100);
    const error = await failure(pending);
    expect(error.code).toBe('MUTAGEN_CANCELLED');
    expect(pool.openConnections).toBe(0);
  });
});
