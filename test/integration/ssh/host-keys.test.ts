import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { checkHostKey, fingerprint, parseKnownHosts } from '../../../src/agent/transport/ssh/known-hosts.js';
import type { MutagenError } from '../../../src/base/errors.js';
import { describeWithSshd } from '../../helpers/sshd.js';
import { readAll, RecordingPrompter, useSsh } from './fixture.js';

function keyBlob(line: string): Buffer {
  return Buffer.from(line.split(' ')[1] ?? '', 'base64');
}

async function failure(promise: Promise<unknown>): Promise<MutagenError> {
  return promise.then(() => { throw new Error('expected a failure'); }, (error: unknown) => error as MutagenError);
}

describeWithSshd('ssh transport: host keys', (sshd) => {
  const ssh = useSsh(sshd);
  const mainName = `[127.0.0.1]:${sshd.main.port}`;
  const mainPrint = fingerprint(keyBlob(sshd.main.hostKey));

  async function isRecorded(file: string): Promise<boolean> {
    const entries = parseKnownHosts(await readFile(file, 'utf8'), file);
    return checkHostKey(entries, mainName, 'ssh-ed25519', keyBlob(sshd.main.hostKey)).kind === 'match';
  }

  it('refuses an unknown host key without a prompter, showing the fingerprint and what to do', async () => {
    const home = await ssh.home({ knownHosts: '', strictHostKeyChecking: 'ask' });
    const error = await failure(ssh.connect(home));
    expect(error.code).toBe('MUTAGEN_HOST_KEY');
    expect(error.message).toContain(mainPrint);
    expect(error.message).toContain(mainName);
    expect(error.hint).toContain(home.knownHosts);
    expect(error.hint).toContain('StrictHostKeyChecking accept-new');
    expect(await readFile(home.knownHosts, 'utf8')).toBe('');
  });

  it('refuses an unknown key under StrictHostKeyChecking yes even with a prompter', async () => {
    const home = await ssh.home({ knownHosts: '', strictHostKeyChecking: 'yes' });
    const prompter = new RecordingPrompter(() => 'yes');
    const error = await failure(ssh.connect(home, { prompter }));
    expect(error.code).toBe('MUTAGEN_HOST_KEY');
    expect(prompter.prompts).toEqual([]);
  });

  it('asks through the prompter and records the key when the answer is yes', async () => {
    const home = await ssh.home({ knownHosts: '', strictHostKeyChecking: 'ask' });
    const prompter = new RecordingPrompter(() => 'yes');
    const transport = await ssh.connect(home, { prompter });
    expect(prompter.prompts).toHaveLength(1);
    expect(prompter.prompts[0]?.kind).toBe('echo');
    expect(prompter.prompts[0]?.message).toContain(`The authenticity of host '${mainName} (127.0.0.1)' can't be established.`);
    expect(prompter.prompts[0]?.message).toContain(`ED25519 key fingerprint is ${mainPrint}`);
    expect(prompter.prompts[0]?.message).toContain('Are you sure you want to continue connecting (yes/no/[fingerprint])?');
    expect(await isRecorded(home.knownHosts)).toBe(true);
    const child = await ssh.run(transport, ['echo', 'ok']);
    expect((await readAll(child.stdout)).toString()).toBe('ok\n');

    // Known now: a second connection (new pool) asks nothing.
    const again = new RecordingPrompter(() => 'no');
    await ssh.connect(home, { prompter: again, pool: ssh.pool() });
    expect(again.prompts).toEqual([]);
  });

  it('accepts the fingerprint as the answer, and refuses on no', async () => {
    const home = await ssh.home({ knownHosts: '', strictHostKeyChecking: 'ask' });
    const declined = await failure(ssh.connect(home, { prompter: new RecordingPrompter(() => 'no') }));
    expect(declined.code).toBe('MUTAGEN_HOST_KEY');
    expect(await readFile(home.knownHosts, 'utf8')).toBe('');
    const prompter = new RecordingPrompter((message) => (message.startsWith('Please') ? mainPrint : 'maybe'));
    await ssh.connect(home, { prompter, pool: ssh.pool() });
    expect(prompter.prompts.map((prompt) => prompt.message.split('\n')[0])).toEqual([
      `The authenticity of host '${mainName} (127.0.0.1)' can't be established.`,
      "Please type 'yes', 'no' or the fingerprint: ",
    ]);
    expect(await isRecorded(home.knownHosts)).toBe(true);
  });

  it('records a new key under accept-new without asking (hashed when HashKnownHosts is set)', async () => {
    const home = await ssh.home({ knownHosts: '', strictHostKeyChecking: 'accept-new', extraConfig: 'Host *\n  HashKnownHosts yes\n' });
    const prompter = new RecordingPrompter(() => 'no');
    await ssh.connect(home, { prompter });
    expect(prompter.prompts).toEqual([]);
    const text = await readFile(home.knownHosts, 'utf8');
    expect(text).toMatch(/^\|1\|[^|]+\|[^ ]+ ssh-ed25519 [A-Za-z0-9+/=]+\n$/);
    expect(await isRecorded(home.knownHosts)).toBe(true);
  });

  it('refuses a changed key always, loudly, naming the offending line', async () => {
    const wrong = `# comment\n${mainName} ${sshd.jump.hostKey}\n`;
    for (const strict of ['accept-new', 'no', 'ask'] as const) {
      const home = await ssh.home({ knownHosts: wrong, strictHostKeyChecking: strict });
      const error = await failure(ssh.connect(home, { prompter: new RecordingPrompter(() => 'yes'), pool: ssh.pool() }));
      expect(error.code).toBe('MUTAGEN_HOST_KEY');
      expect(error.message).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
      expect(error.message).toContain(`${home.knownHosts}:2`);
      expect(error.message).toContain(mainPrint);
      expect(error.hint).toContain(`ssh-keygen -R '${mainName}'`);
      expect(await readFile(home.knownHosts, 'utf8')).toBe(wrong);
    }
  });

  it('looks keys up under HostKeyAlias', async () => {
    const home = await ssh.home({ knownHosts: `my-alias ${sshd.main.hostKey}\n`, extraConfig: '' });
    // The default entry has no alias: unknown under [127.0.0.1]:port.
    expect((await failure(ssh.connect(home))).code).toBe('MUTAGEN_HOST_KEY');
    const aliased = await ssh.home({
      knownHosts: `my-alias ${sshd.main.hostKey}\n`,
      extraConfig: `Host aliased\n  HostName 127.0.0.1\n  Port ${sshd.main.port}\n  HostKeyAlias my-alias\n  IdentityFile ~/.ssh/id_ed25519\n  IdentityAgent none\n  StrictHostKeyChecking yes\n  UserKnownHostsFile ~/.ssh/known_hosts\n  User ${sshd.user}\n`,
    });
    const transport = await ssh.connect(aliased, { target: { host: 'aliased' }, pool: ssh.pool() });
    expect(transport.description).toBe(`${sshd.user}@aliased:${sshd.main.port}`);
  });
});
