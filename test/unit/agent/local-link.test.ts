import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineIsLocal, resolveDockerEnvironment } from '../../../src/agent/transport/docker/environment.js';
import { linkIsLocal, localLinkLookup } from '../../../src/agent/transport/local-link.js';
import { isLoopbackHost, resolveSshConfig, sshLinkIsLocal } from '../../../src/agent/transport/ssh/config.js';
import type { EndpointUrl } from '../../../src/model/url.js';
import { useTempDirectories } from '../../helpers/temp.js';

const tempDirectory = useTempDirectories();

/** A temp HOME whose ~/.ssh/config is `config`. */
async function sshHome(config: string): Promise<string> {
  const home = await tempDirectory('mll-');
  await mkdir(path.join(home, '.ssh'));
  await writeFile(path.join(home, '.ssh/config'), config);
  return home;
}

async function sshLocal(host: string, config = ''): Promise<boolean> {
  const home = await sshHome(config);
  return sshLinkIsLocal(await resolveSshConfig({ host }, { home, localUser: 'me', env: {}, systemConfigFile: null }));
}

function sshUrl(host: string): EndpointUrl {
  return { kind: 'sync', protocol: 'ssh', host, path: '~/p' };
}

function dockerUrl(environment: Record<string, string>): EndpointUrl {
  return { kind: 'sync', protocol: 'docker', host: 'web', path: '/p', environment };
}

describe('isLoopbackHost', () => {
  it('accepts localhost, 127.0.0.0/8 and ::1 in any spelling', () => {
    for (const host of ['localhost', 'LocalHost', 'localhost.', '127.0.0.1', '127.5.5.5', '127.255.255.254', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
  });

  it('rejects other addresses and names', () => {
    for (const host of ['10.0.0.1', '128.0.0.1', '0.0.0.0', 'example.org', 'localhost.example.org', 'mylocalhost', '::', '::2', '::ffff:10.0.0.1', 'fe80::1%lo', '127.0.0.1.nip.io', '']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

describe('sshLinkIsLocal (after ~/.ssh/config resolution)', () => {
  it('is local for a loopback host written in the URL', async () => {
    expect(await sshLocal('127.0.0.1')).toBe(true);
    expect(await sshLocal('127.5.5.5')).toBe(true);
    expect(await sshLocal('::1')).toBe(true);
    expect(await sshLocal('localhost')).toBe(true);
  });

  it('is not local for other hosts', async () => {
    expect(await sshLocal('10.0.0.1')).toBe(false);
    expect(await sshLocal('example.org')).toBe(false);
  });

  it('follows HostName: an alias of 127.0.0.1 is local, localhost pointed elsewhere is not', async () => {
    const config = ['Host dev', '  HostName 127.0.0.1', '  Port 2222', 'Host localhost', '  HostName build.example.org', ''].join('\n');
    expect(await sshLocal('dev', config)).toBe(true);
    expect(await sshLocal('localhost', config)).toBe(false);
  });

  it('is not local through ProxyJump or ProxyCommand, even to a loopback HostName', async () => {
    const config = [
      'Host jumped', '  HostName 127.0.0.1', '  ProxyJump bastion.example.org',
      'Host commanded', '  HostName localhost', '  ProxyCommand ssh -W %h:%p bastion.example.org',
      'Host unproxied', '  HostName ::1', '  ProxyJump none',
      '',
    ].join('\n');
    expect(await sshLocal('jumped', config)).toBe(false);
    expect(await sshLocal('commanded', config)).toBe(false);
    expect(await sshLocal('unproxied', config)).toBe(true);
  });
});

describe('engineIsLocal (docker)', () => {
  it('is local for a unix socket engine, not for a tcp one', async () => {
    const home = await tempDirectory('mll-');
    const engine = async (environment: Record<string, string>) => (await resolveDockerEnvironment(environment, { home })).engine;
    expect(engineIsLocal(await engine({}))).toBe(true);
    expect(engineIsLocal(await engine({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }))).toBe(true);
    expect(engineIsLocal(await engine({ DOCKER_HOST: 'tcp://127.0.0.1:2375' }))).toBe(false);
    expect(engineIsLocal(await engine({ DOCKER_HOST: 'tcp://engine.example.org:2376' }))).toBe(false);
  });
});

describe('linkIsLocal / localLinkLookup (what list -l shows, without connecting)', () => {
  it('resolves ssh URLs with the ssh config of home and docker URLs with their captured environment', async () => {
    const home = await sshHome(['Host dev', '  HostName 127.0.0.1', 'Host far', '  HostName 10.0.0.1', ''].join('\n'));
    const options = { home, env: {} };
    expect(await linkIsLocal(sshUrl('dev'), options)).toBe(true);
    expect(await linkIsLocal(sshUrl('far'), options)).toBe(false);
    expect(await linkIsLocal(dockerUrl({}), options)).toBe(true);
    expect(await linkIsLocal(dockerUrl({ DOCKER_HOST: 'tcp://10.0.0.2:2375' }), options)).toBe(false);
    expect(await linkIsLocal({ kind: 'sync', protocol: 'local', path: '/p' }, options)).toBe(true);
  });

  it('counts a link that cannot be resolved as not local', async () => {
    const home = await sshHome('Host broken\n  Port notaport\n');
    expect(await linkIsLocal(sshUrl('broken'), { home, env: {} })).toBe(false);
    expect(await linkIsLocal(dockerUrl({ DOCKER_CONTEXT: 'missing' }), { home, env: {} })).toBe(false);
  });

  it('answers per link (the path does not matter) and false for URLs it was not given', async () => {
    const home = await sshHome('Host dev\n  HostName 127.0.0.1\n');
    const lookup = await localLinkLookup([sshUrl('dev'), sshUrl('far.example.org')], { home, env: {} });
    expect(lookup({ ...sshUrl('dev'), path: '/elsewhere' })).toBe(true);
    expect(lookup(sshUrl('far.example.org'))).toBe(false);
    expect(lookup(sshUrl('localhost'))).toBe(false);
  });
});
