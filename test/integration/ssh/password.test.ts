import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { errorMessage, isMutagenError, type MutagenError } from '../../../src/base/errors.js';
import { startOwnSshd, type OwnSshd } from '../../setup/sshd.js';
import { describeWithSshd } from '../../helpers/sshd.js';
import { makeTempDirectory } from '../../helpers/temp.js';
import { readAll, RecordingPrompter, useSsh } from './fixture.js';

/**
 * Password and keyboard-interactive logins (issue 5 §3: the CLI is asked, as Mutagen does): a
 * throwaway system user with a random password, and two sshd of our own — one that takes only
 * `password` (checked against /etc/shadow), one that takes only `keyboard-interactive` (PAM).
 * Creating a user needs root; outside CI a non-root run skips with the reason.
 */
const root = process.getuid?.() === 0;

function entry(name: string, port: number, user: string): string {
  return [`Host ${name}`, '  HostName 127.0.0.1', `  Port ${port}`, `  User ${user}`, '  IdentityFile ~/.ssh/none', '  IdentitiesOnly yes', '  IdentityAgent none', ''].join('\n');
}

async function failure(promise: Promise<unknown>): Promise<MutagenError> {
  try {
    await promise;
  } catch (error) {
    if (isMutagenError(error)) return error;
    throw new Error(`expected a MutagenError, got ${errorMessage(error)}`);
  }
  throw new Error('expected a failure');
}

describeWithSshd('ssh transport: password and keyboard-interactive logins', (sshd) => {
  if (!root) {
    // Under CI the suite runs as root: not being root there is a failure, not a skip.
    if (process.env['CI'] === 'true') throw new Error('the password login tests need root (useradd, chpasswd) under CI');
    it.skip('needs root to create a throwaway user with a password');
    return;
  }
  const ssh = useSsh(sshd);
  const user = `mtpw${randomBytes(3).toString('hex')}`;
  const password = randomBytes(12).toString('base64url');
  const servers: OwnSshd[] = [];
  let extraConfig = '';
  let knownHosts = '';
  let directory = '';

  beforeAll(async () => {
    directory = await makeTempDirectory('mtpw-');
    const home = path.join(directory, 'home');
    execFileSync('useradd', ['-M', '-d', home, '-s', '/bin/sh', '-U', user], { stdio: 'pipe' });
    execFileSync('chpasswd', [], { input: `${user}:${password}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
    await mkdir(home);
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    await chown(home, uid, gid);
    const remoteDataDirectory = path.join(home, '.mutagen-ts');
    for (const method of ['password', 'keyboard-interactive'] as const) {
      const started = await startOwnSshd(directory, method, { logLevel: 'VERBOSE', remoteDataDirectory, authentication: method });
      servers.push(started);
      extraConfig += entry(method, started.server.port, user);
      knownHosts += `[127.0.0.1]:${started.server.port} ${started.server.hostKey}\n`;
    }
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    try {
      execFileSync('userdel', [user], { stdio: 'pipe' });
    } catch {
      // never created
    }
    if (directory !== '') await rm(directory, { recursive: true, force: true });
  });

  const answering = (answer: string): RecordingPrompter => new RecordingPrompter(() => answer);
  const homeFor = (): ReturnType<typeof ssh.home> => ssh.home({ extraConfig, knownHosts: `${sshd.knownHosts}${knownHosts}` });

  async function whoami(host: string, prompter: RecordingPrompter): Promise<string> {
    const transport = await ssh.connect(await homeFor(), { target: { host }, prompter, pool: ssh.pool() });
    const child = await ssh.run(transport, ['id', '-un']);
    return (await readAll(child.stdout)).toString('utf8').trim();
  }

  it('asks for the password through the prompter and logs in with it', async () => {
    const prompter = answering(password);
    expect(await whoami('password', prompter)).toBe(user);
    expect(prompter.prompts).toEqual([{ kind: 'secret', message: `${user}@127.0.0.1's password: ` }]);
  });

  it('a wrong password is an authentication failure that says password was tried', async () => {
    const prompter = answering('wrong');
    const error = await failure(whoami('password', prompter));
    expect(error.code).toBe('MUTAGEN_AUTHENTICATION');
    expect(error.message).toContain('password');
    expect(prompter.prompts.length).toBeGreaterThanOrEqual(1);
    expect(prompter.prompts.every((p) => p.kind === 'secret')).toBe(true);
  });

  it('answers keyboard-interactive questions through the prompter, without echo for secrets', async () => {
    const prompter = answering(password);
    expect(await whoami('keyboard-interactive', prompter)).toBe(user);
    expect(prompter.prompts.length).toBe(1);
    expect(prompter.prompts[0]?.kind).toBe('secret');
    expect(prompter.prompts[0]?.message).toMatch(/password/i);
  });

  it('without a prompter (no CLI waiting) it never asks and fails with a clear error', async () => {
    const home = await homeFor();
    const error = await failure(ssh.connect(home, { target: { host: 'password' }, pool: ssh.pool() }));
    expect(error.code).toBe('MUTAGEN_AUTHENTICATION');
    expect(error.message).toMatch(/password|no usable identities/);
  });
});
