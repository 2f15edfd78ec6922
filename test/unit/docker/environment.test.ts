import { mkdir, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import path from 'node:path';
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { contextDigest, dockerodeOptions, resolveDockerEnvironment } from '../../../src/agent/transport/docker/environment.js';
import { useTempDirectories } from '../../helpers/temp.js';

const tempDirectory = useTempDirectories();

async function rejection(promise: Promise<unknown>): Promise<MutagenError> {
  const error: unknown = await promise.then(() => undefined, (caught: unknown) => caught);
  if (!(error instanceof MutagenError)) throw new Error(`expected a MutagenError, got ${String(error)}`);
  return error;
}

async function certificates(directory: string, files = ['ca.pem', 'cert.pem', 'key.pem']): Promise<string> {
  await mkdir(directory, { recursive: true });
  for (const file of files) await writeFile(path.join(directory, file), `${file} contents`);
  return directory;
}

async function context(config: string, name: string, endpoint: Record<string, unknown>): Promise<void> {
  const meta = path.join(config, 'contexts', 'meta', contextDigest(name));
  await mkdir(meta, { recursive: true });
  await writeFile(path.join(meta, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: endpoint } }));
}

describe('resolveDockerEnvironment', () => {
  it('defaults to the local socket when nothing is captured and no config exists', async () => {
    const home = await tempDirectory();
    expect(await resolveDockerEnvironment({}, { home })).toEqual({
      engine: { kind: 'unix', socketPath: '/var/run/docker.sock' },
      context: 'default',
      description: 'unix:///var/run/docker.sock',
    });
  });

  it('treats a captured empty variable like an unset one', async () => {
    const home = await tempDirectory();
    const resolved = await resolveDockerEnvironment({ DOCKER_HOST: '', DOCKER_CONTEXT: '', DOCKER_TLS_VERIFY: '' }, { home });
    expect(resolved.description).toBe('unix:///var/run/docker.sock');
  });

  it('parses unix and tcp hosts with the docker default ports', async () => {
    const home = await tempDirectory();
    const resolve = (host: string) => resolveDockerEnvironment({ DOCKER_HOST: host }, { home }).then((r) => r.engine);
    expect(await resolve('unix:///run/user/1000/docker.sock')).toEqual({ kind: 'unix', socketPath: '/run/user/1000/docker.sock' });
    expect(await resolve('unix://')).toEqual({ kind: 'unix', socketPath: '/var/run/docker.sock' });
    expect(await resolve('tcp://engine.local:1234')).toEqual({ kind: 'tcp', host: 'engine.local', port: 1234 });
    expect(await resolve('tcp://engine.local')).toEqual({ kind: 'tcp', host: 'engine.local', port: 2375 });
    expect(await resolve('engine.local:4243')).toEqual({ kind: 'tcp', host: 'engine.local', port: 4243 });
  });

  it('uses DOCKER_TLS_VERIFY with the certificates of DOCKER_CERT_PATH (port 2376 by default)', async () => {
    const home = await tempDirectory();
    const certs = await certificates(path.join(home, 'certs'));
    const resolved = await resolveDockerEnvironment({ DOCKER_HOST: 'tcp://engine.local', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }, { home });
    expect(resolved.engine).toEqual({
      kind: 'tcp', host: 'engine.local', port: 2376,
      tls: { verify: true, ca: Buffer.from('ca.pem contents'), cert: Buffer.from('cert.pem contents'), key: Buffer.from('key.pem contents') },
    });
    const options = dockerodeOptions(resolved);
    expect(options).toMatchObject({ protocol: 'https', host: 'engine.local', port: 2376, socketPath: undefined });
    expect(options.agent).toBeUndefined();
  });

  it('reads certificates from the config directory when DOCKER_CERT_PATH is not captured', async () => {
    const home = await tempDirectory();
    await certificates(path.join(home, '.docker'));
    const resolved = await resolveDockerEnvironment({ DOCKER_HOST: 'tcp://engine.local:2376', DOCKER_TLS_VERIFY: '1' }, { home });
    expect(resolved.engine.kind === 'tcp' && resolved.engine.tls?.ca?.toString()).toBe('ca.pem contents');
  });

  it('refuses to verify without a CA certificate', async () => {
    const home = await tempDirectory();
    const certs = await certificates(path.join(home, 'certs'), ['cert.pem', 'key.pem']);
    const error = await rejection(resolveDockerEnvironment({ DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }, { home }));
    expect(error.code).toBe('MUTAGEN_TRANSPORT');
    expect(error.message).toContain('no ca.pem');
  });

  it('uses TLS without verification for DOCKER_TLS alone (an agent that accepts any certificate)', async () => {
    const home = await tempDirectory();
    const resolved = await resolveDockerEnvironment({ DOCKER_HOST: 'tcp://h', DOCKER_TLS: '1' }, { home });
    expect(resolved.engine).toEqual({ kind: 'tcp', host: 'h', port: 2376, tls: { verify: false } });
    const options = dockerodeOptions(resolved);
    expect(options.protocol).toBe('https');
    expect(options.agent).toBeInstanceOf(Agent);
    expect(options.agent?.options.rejectUnauthorized).toBe(false);
    options.agent?.destroy();
  });

  it('follows DOCKER_CONTEXT to the context metadata and its TLS directory', async () => {
    const config = await tempDirectory();
    await context(config, 'remote', { Host: 'tcp://10.0.0.5:2376', SkipTLSVerify: false });
    await certificates(path.join(config, 'contexts', 'tls', contextDigest('remote'), 'docker'));
    const resolved = await resolveDockerEnvironment({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'remote' }, { home: '/nonexistent' });
    expect(resolved.context).toBe('remote');
    expect(resolved.description).toBe('tcp://10.0.0.5:2376 (context remote)');
    expect(resolved.engine.kind === 'tcp' && resolved.engine.tls?.verify).toBe(true);
    expect(resolved.engine.kind === 'tcp' && resolved.engine.tls?.cert?.toString()).toBe('cert.pem contents');
  });

  it('uses the current context of config.json, under the home when DOCKER_CONFIG is not captured', async () => {
    const home = await tempDirectory();
    const config = path.join(home, '.docker');
    await context(config, 'colima', { Host: 'unix:///home/u/.colima/docker.sock', SkipTLSVerify: false });
    await writeFile(path.join(config, 'config.json'), JSON.stringify({ auths: {}, currentContext: 'colima' }));
    const resolved = await resolveDockerEnvironment({}, { home });
    expect(resolved.engine).toEqual({ kind: 'unix', socketPath: '/home/u/.colima/docker.sock' });
    expect(resolved.context).toBe('colima');
  });

  it('lets DOCKER_HOST win over DOCKER_CONTEXT, and DOCKER_CONTEXT over config.json', async () => {
    const config = await tempDirectory();
    await context(config, 'a', { Host: 'unix:///a.sock' });
    await context(config, 'b', { Host: 'unix:///b.sock' });
    await writeFile(path.join(config, 'config.json'), JSON.stringify({ currentContext: 'a' }));
    const home = '/nonexistent';
    expect((await resolveDockerEnvironment({ DOCKER_CONFIG: config }, { home })).description).toBe('unix:///a.sock (context a)');
    expect((await resolveDockerEnvironment({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'b' }, { home })).description).toBe('unix:///b.sock (context b)');
    expect((await resolveDockerEnvironment({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'b', DOCKER_HOST: 'unix:///h.sock' }, { home })).description).toBe('unix:///h.sock');
    expect((await resolveDockerEnvironment({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'default' }, { home })).description).toBe('unix:///var/run/docker.sock');
  });

  it('reports unknown contexts, malformed files and unsupported hosts', async () => {
    const config = await tempDirectory();
    const missing = await rejection(resolveDockerEnvironment({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'nope' }, { home: config }));
    expect(missing.message).toBe('docker context "nope" does not exist');
    expect(missing.hint).toContain('docker context ls');
    await writeFile(path.join(config, 'config.json'), '{ not json');
    const malformed = await rejection(resolveDockerEnvironment({ DOCKER_CONFIG: config }, { home: config }));
    expect(malformed.code).toBe('MUTAGEN_TRANSPORT');
    expect(malformed.message).toContain('invalid docker configuration');
    await context(config, 'empty', { SkipTLSVerify: true });
    expect((await rejection(resolveDockerEnvironment({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'empty' }, { home: config }))).message).toContain('has no docker endpoint');
    const ssh = await rejection(resolveDockerEnvironment({ DOCKER_HOST: 'ssh://me@host' }, { home: config }));
    expect(ssh.code).toBe('MUTAGEN_UNSUPPORTED');
    const version = await rejection(resolveDockerEnvironment({ DOCKER_API_VERSION: 'latest' }, { home: config }));
    expect(version.message).toContain('invalid DOCKER_API_VERSION');
  });

  it('passes DOCKER_API_VERSION as the request path version', async () => {
    const resolved = await resolveDockerEnvironment({ DOCKER_API_VERSION: '1.41' }, { home: await tempDirectory() });
    expect(dockerodeOptions(resolved).version).toBe('v1.41');
  });
});

describe('dockerodeOptions', () => {
  it('overrides what docker-modem would take from the daemon\'s own environment', async () => {
    const resolved = await resolveDockerEnvironment({ DOCKER_HOST: 'unix:///captured.sock' }, { home: await tempDirectory() });
    const saved = process.env['DOCKER_HOST'];
    process.env['DOCKER_HOST'] = 'tcp://daemon-env.invalid:2375';
    try {
      const docker = new Docker(dockerodeOptions(resolved));
      expect(Reflect.get(docker.modem, 'socketPath')).toBe('/captured.sock');
      expect(Reflect.get(docker.modem, 'host')).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env['DOCKER_HOST'];
      else process.env['DOCKER_HOST'] = saved;
    }
  });
});
