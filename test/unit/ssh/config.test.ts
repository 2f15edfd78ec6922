import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJump, resolveSshConfig, type ResolveOptions } from '../../../src/agent/transport/ssh/config.js';

const homes: string[] = [];
afterEach(async () => {
  await Promise.all(homes.splice(0).map((home) => rm(home, { recursive: true, force: true })));
});

/** A temp HOME with ~/.ssh/config = `config` and extra files (relative to ~/.ssh). */
async function home(config: string, files: Record<string, string> = {}): Promise<string> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'mcf-'));
  homes.push(directory);
  await mkdir(path.join(directory, '.ssh'));
  await writeFile(path.join(directory, '.ssh/config'), config);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(directory, '.ssh', name)), { recursive: true });
    await writeFile(path.join(directory, '.ssh', name), text);
  }
  return directory;
}

function options(directory: string, extra: Partial<ResolveOptions> = {}): ResolveOptions {
  return { home: directory, localUser: 'me', env: {}, systemConfigFile: null, ...extra };
}

describe('resolveSshConfig', () => {
  it('applies defaults when nothing is configured', async () => {
    const directory = await home('');
    const config = await resolveSshConfig({ host: 'example.org' }, options(directory));
    expect(config).toEqual({
      alias: 'example.org', hostname: 'example.org', port: 22, user: 'me',
      identityFiles: ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => path.join(directory, '.ssh', name)),
      identitiesOnly: false, identityAgent: undefined, proxyJump: [], proxyCommand: undefined,
      userKnownHostsFiles: [path.join(directory, '.ssh/known_hosts'), path.join(directory, '.ssh/known_hosts2')],
      globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      hostKeyAlias: undefined, strictHostKeyChecking: 'ask', hashKnownHosts: false,
      connectTimeoutMs: 5000, batchMode: false, keepaliveIntervalMs: 10_000, keepaliveCountMax: 3,
    });
  });

  it('takes the first value, matches patterns with negation, and lets the URL override user and port', async () => {
    const directory = await home([
      'Host web !web.internal',
      '  HostName 10.0.0.5',
      '  User deploy',
      '  Port 2200',
      'Host web*',
      '  User other',
      '  IdentityFile ~/.ssh/web_key',
      '  IdentitiesOnly yes',
      'Host *',
      '  IdentityFile ~/.ssh/all_key',
      '  ConnectTimeout 9',
      '  BatchMode yes',
      '  StrictHostKeyChecking accept-new',
      '',
    ].join('\n'));
    const web = await resolveSshConfig({ host: 'web' }, options(directory));
    expect(web).toMatchObject({ hostname: '10.0.0.5', user: 'deploy', port: 2200, identitiesOnly: true, connectTimeoutMs: 9000, batchMode: true, strictHostKeyChecking: 'accept-new' });
    expect(web.identityFiles).toEqual([path.join(directory, '.ssh/web_key'), path.join(directory, '.ssh/all_key')]);
    const internal = await resolveSshConfig({ host: 'web.internal' }, options(directory));
    expect(internal).toMatchObject({ hostname: 'web.internal', user: 'other', port: 22 });
    const overridden = await resolveSshConfig({ host: 'web', user: 'root', port: 2022 }, options(directory));
    expect(overridden).toMatchObject({ user: 'root', port: 2022, hostname: '10.0.0.5' });
    expect((await resolveSshConfig({ host: 'web', port: 0 }, options(directory))).port).toBe(2200);
  });

  it('expands Include (relative to ~/.ssh, globs, conditional inside Host blocks)', async () => {
    const directory = await home([
      'Include conf.d/*.conf',
      'Host db',
      '  Include db-extra',
      '  User dbuser',
      'Host other',
      '  Include missing-file',
      '',
    ].join('\n'), {
      'conf.d/10-a.conf': 'Host app\n  HostName app.example\n',
      'conf.d/20-b.conf': 'Host app\n  HostName ignored-second\n  Port 2022\n',
      'conf.d/.hidden.conf': 'Host app\n  User hidden\n',
      'db-extra': 'Port 5433\nHost nested\n  User nested-user\n',
    });
    expect(await resolveSshConfig({ host: 'app' }, options(directory))).toMatchObject({ hostname: 'app.example', port: 2022, user: 'me' });
    expect(await resolveSshConfig({ host: 'db' }, options(directory))).toMatchObject({ port: 5433, user: 'dbuser' });
    // The included file's leading lines apply only under `Host db`.
    expect((await resolveSshConfig({ host: 'other' }, options(directory))).port).toBe(22);
  });

  it('expands tokens, ~ and ${VAR}; ProxyJump vs ProxyCommand: first one wins', async () => {
    const directory = await home([
      'Host t',
      '  HostName %h.example.com',
      '  User alice',
      '  Port 2222',
      '  IdentityFile ~/keys/%r@%h:%p-%n-%%',
      '  IdentityFile ${KEYS}/id',
      '  UserKnownHostsFile %d/kh none-is-only-special-alone',
      '  IdentityAgent ~/agent.sock',
      '  ProxyCommand nc %h %p',
      '  ProxyJump ignored',
      'Host j',
      '  ProxyJump bob@hop1:2200,[::1]:22,ssh://carol@hop3',
      '  ProxyCommand ignored',
      'Host none',
      '  ProxyCommand none',
      '  ProxyJump hop',
      '',
    ].join('\n'));
    const config = await resolveSshConfig({ host: 't' }, options(directory, { env: { KEYS: '/keys' } }));
    expect(config.hostname).toBe('t.example.com');
    expect(config.identityFiles).toEqual([path.join(directory, 'keys/alice@t.example.com:2222-t-%'), '/keys/id']);
    expect(config.userKnownHostsFiles).toEqual([path.join(directory, 'kh'), path.join(directory, '.ssh/none-is-only-special-alone')]);
    expect(config.identityAgent).toBe(path.join(directory, 'agent.sock'));
    expect(config.proxyCommand).toBe('nc t.example.com 2222');
    expect(config.proxyJump).toEqual([]);
    const jump = await resolveSshConfig({ host: 'j' }, options(directory));
    expect(jump.proxyCommand).toBeUndefined();
    expect(jump.proxyJump).toEqual([{ host: 'hop1', user: 'bob', port: 2200 }, { host: '::1', port: 22 }, { host: 'hop3', user: 'carol' }]);
    const none = await resolveSshConfig({ host: 'none' }, options(directory));
    expect([none.proxyCommand, none.proxyJump]).toEqual([undefined, []]);
    await expect(resolveSshConfig({ host: 'x' }, options(await home('Host x\n  IdentityFile %z\n')))).rejects.toMatchObject({ code: 'MUTAGEN_TRANSPORT', message: expect.stringContaining('unknown token %z in IdentityFile') });
  });

  it('takes the agent from IdentityAgent, else SSH_AUTH_SOCK; none disables it', async () => {
    const directory = await home('Host off\n  IdentityAgent none\nHost env\n  IdentityAgent SSH_AUTH_SOCK\n');
    const env = { SSH_AUTH_SOCK: '/run/agent.sock' };
    expect((await resolveSshConfig({ host: 'plain' }, options(directory, { env }))).identityAgent).toBe('/run/agent.sock');
    expect((await resolveSshConfig({ host: 'env' }, options(directory, { env }))).identityAgent).toBe('/run/agent.sock');
    expect((await resolveSshConfig({ host: 'off' }, options(directory, { env }))).identityAgent).toBeUndefined();
  });

  it('connect timeout: ConnectTimeout, else MUTAGEN_SSH_CONNECT_TIMEOUT, else 5 s; bad values are errors', async () => {
    const directory = await home('Host slow\n  ConnectTimeout 30\nHost bad\n  Port http\n');
    const env = { MUTAGEN_SSH_CONNECT_TIMEOUT: '12' };
    expect((await resolveSshConfig({ host: 'slow' }, options(directory, { env }))).connectTimeoutMs).toBe(30_000);
    expect((await resolveSshConfig({ host: 'fast' }, options(directory, { env }))).connectTimeoutMs).toBe(12_000);
    await expect(resolveSshConfig({ host: 'bad' }, options(directory))).rejects.toMatchObject({ code: 'MUTAGEN_TRANSPORT', message: 'invalid ssh config: bad Port value "http"' });
  });

  it('reads the system file after the user file', async () => {
    const directory = await home('Host a\n  User from-user\n');
    const system = path.join(directory, 'ssh_config');
    await writeFile(system, 'Host *\n  User from-system\n  Port 2022\n');
    expect(await resolveSshConfig({ host: 'a' }, options(directory, { systemConfigFile: system }))).toMatchObject({ user: 'from-user', port: 2022 });
  });

  it('reports an Include loop', async () => {
    const directory = await home('Include config\n');
    await expect(resolveSshConfig({ host: 'a' }, options(directory))).rejects.toMatchObject({ code: 'MUTAGEN_TRANSPORT', message: expect.stringContaining('nested too deep') });
  });
});

describe('parseJump', () => {
  it('parses the ProxyJump forms', () => {
    expect(parseJump('host')).toEqual({ host: 'host' });
    expect(parseJump('u@h:22')).toEqual({ host: 'h', user: 'u', port: 22 });
    expect(parseJump('ssh://u@[fe80::1]:2200')).toEqual({ host: 'fe80::1', user: 'u', port: 2200 });
    expect(() => parseJump('h:port')).toThrow('bad ProxyJump value');
    expect(() => parseJump('@h')).toThrow('bad ProxyJump value');
  });
});
