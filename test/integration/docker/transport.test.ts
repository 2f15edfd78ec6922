import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { MutagenError } from '../../../src/base/errors.js';
import { silentLogger } from '../../../src/base/logger.js';
import type { RemoteProcess } from '../../../src/agent/transport/transport.js';
import { DockerTransport } from '../../../src/agent/transport/docker/transport.js';
import { describeDocker, useContainers, type TestContainer } from '../../helpers/docker.js';

const signal = (): AbortSignal => AbortSignal.timeout(60_000);

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function output(process: RemoteProcess): Promise<{ stdout: string; code: number | null; stderr: string }> {
  const stdout = (await readAll(process.stdout)).toString('utf8');
  const { code } = await process.exit;
  const stderr = process.stderr();
  await process.close();
  return { stdout, code, stderr };
}

function connect(container: TestContainer, user?: string): Promise<DockerTransport> {
  const target = { container: container.name, environment: container.environment, ...(user === undefined ? {} : { user }) };
  return DockerTransport.connect(target, { logger: silentLogger }, signal());
}

async function rejection(promise: Promise<unknown>): Promise<MutagenError> {
  const error: unknown = await promise.then(() => undefined, (caught: unknown) => caught);
  if (!(error instanceof MutagenError)) throw new Error(`expected a MutagenError, got ${String(error)}`);
  return error;
}

describeDocker('DockerTransport against a real engine', (docker) => {
  const containers = useContainers(docker);

  it('starts argv as root in /root and round-trips binary stdin to stdout with half-close', async () => {
    const container = await containers.start(docker.images.node);
    const transport = await connect(container);
    expect(transport.user).toEqual({ home: '/root', uid: 0, gid: 0, name: 'root' });
    expect(transport.description).toBe(`docker container ${container.name}`);
    const input = randomBytes(8 * 1024 * 1024);
    const process = await transport.start(['cat'], signal());
    const received = readAll(process.stdout);
    process.stdin.end(input);
    expect(createHash('sha256').update(await received).digest('hex')).toBe(createHash('sha256').update(input).digest('hex'));
    expect(await process.exit).toEqual({ code: 0, signal: null });
    await process.close();
    await transport.close();
    await transport.close();
  });

  it('keeps stderr apart and reports the exit code', async () => {
    const transport = await connect(await containers.start(docker.images.node));
    const result = await output(await transport.start(['sh', '-c', 'pwd; echo oops >&2; exit 3'], signal()));
    expect(result).toEqual({ stdout: '/root\n', code: 3, stderr: 'oops\n' });
  });

  it('reports a missing executable as exit 127 with the engine message on stderr', async () => {
    const transport = await connect(await containers.start(docker.images.nonode));
    const result = await output(await transport.start(['node', '--version'], signal()));
    expect(result.code).toBe(127);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/executable file not found|no such file or directory/);
    const absolute = await output(await transport.start(['/nowhere/agent'], signal()));
    expect(absolute.code).toBe(127);
  });

  it('runs as the URL user with that user\'s home and ids', async () => {
    const container = await containers.start(docker.images.node);
    const transport = await connect(container, 'app');
    expect(transport.user).toEqual({ home: '/home/app', uid: 1000, gid: 1000, name: 'app' });
    const result = await output(await transport.start(['sh', '-c', 'echo "$(id -u) $HOME $(pwd)"'], signal()));
    expect(result.stdout).toBe('1000 /home/app /home/app\n');
    const numeric = await connect(container, '1000');
    expect(numeric.user.home).toBe('/home/app');
  });

  it('fails for a user the container does not know', async () => {
    const container = await containers.start(docker.images.node);
    const error = await rejection(connect(container, 'nobody'));
    expect(error.code).toBe('MUTAGEN_TRANSPORT');
    expect(error.message).toContain('unable to find user nobody');
  });

  it('copies a file atomically with mode and the user\'s ownership, replacing an old one', async () => {
    const container = await containers.start(docker.images.node);
    const transport = await connect(container, 'app');
    for (const size of [0, 300_001]) {
      const content = randomBytes(size);
      const progress: number[] = [];
      const source = { size, open: () => Readable.from([content]) };
      await transport.copy(source, '.agent-upload', { mode: 0o640, onProgress: (bytes) => progress.push(bytes) }, signal());
      expect(await container.run(['stat', '-c', '%u %g %a %s', '/home/app/.agent-upload'])).toBe(`1000 1000 640 ${size}\n`);
      expect((await container.readFile('/home/app/.agent-upload')).equals(content)).toBe(true);
      if (size > 0) expect(progress.at(-1)).toBe(size);
    }
    expect((await container.run(['ls', '-A', '/home/app'])).split('\n').filter((name) => name !== '')).toEqual(['.agent-upload']);
  });

  it('streams a large file (the Node.js runtime upload path) without holding it in memory', async () => {
    const container = await containers.start(docker.images.node);
    const transport = await connect(container, 'app');
    const block = randomBytes(1024 * 1024);
    const blocks = 40;
    const expected = createHash('sha256');
    for (let index = 0; index < blocks; index += 1) expected.update(block);
    const source = { size: block.length * blocks, open: () => Readable.from((function* () { for (let index = 0; index < blocks; index += 1) yield block; })()) };
    await transport.copy(source, 'runtime.gz', { mode: 0o644 }, signal());
    const hash = "process.stdout.write(require('crypto').createHash('sha256').update(require('fs').readFileSync('runtime.gz')).digest('hex'))";
    expect((await output(await transport.start(['node', '-e', hash], signal()))).stdout).toBe(expected.digest('hex'));
  });

  it('rejects a copy into a missing directory and a source of the wrong size', async () => {
    const transport = await connect(await containers.start(docker.images.node));
    const missing = await rejection(transport.copy({ size: 1, open: () => Readable.from([Buffer.from('x')]) }, '/no/such/dir/file', { mode: 0o644 }, signal()));
    expect(missing.code).toBe('MUTAGEN_TRANSPORT');
    expect(missing.message).toContain('/no/such/dir');
    const short = await rejection(transport.copy({ size: 10, open: () => Readable.from([Buffer.from('x')]) }, 'short', { mode: 0o644 }, signal()));
    expect(short.code).toBe('MUTAGEN_TRANSPORT');
  });

  it('works in a container without a shell, env or id (passwd read through the archive API)', async () => {
    const container = await containers.start(docker.images.noshell);
    const root = await connect(container);
    expect(root.user).toEqual({ home: '/root', uid: 0, gid: 0, name: 'root' });
    const transport = await connect(container, 'app');
    expect(transport.user).toEqual({ home: '/home/app', uid: 1000, gid: 1000, name: 'app' });
    const script = 'process.stdout.write(`${process.cwd()} ${process.getuid()} ${process.env.HOME}`)';
    expect(await output(await transport.start(['node', '-e', script], signal()))).toEqual({ stdout: '/home/app 1000 /home/app', code: 0, stderr: '' });
    expect((await output(await transport.start(['sh', '-c', 'true'], signal()))).code).toBe(127);
    // No mv: the copy lands under its final name directly.
    await transport.copy({ size: 5, open: () => Readable.from([Buffer.from('hello')]) }, 'greeting', { mode: 0o600 }, signal());
    const check = "const s = require('fs').statSync('greeting'); process.stdout.write(`${s.uid} ${(s.mode & 0o777).toString(8)} ${require('fs').readFileSync('greeting', 'utf8')}`)";
    expect((await output(await transport.start(['node', '-e', check], signal()))).stdout).toBe('1000 600 hello');
  });

  it('close() ends stdin and drops the connection of a process that ignores it', async () => {
    const transport = await connect(await containers.start(docker.images.node));
    const process = await transport.start(['sleep', '1000'], signal());
    await process.close();
    // The Engine API cannot kill an exec: without a status from the engine the code is null.
    expect(await process.exit).toEqual({ code: null, signal: null });
    await process.close();
    await transport.close();
    await expect(transport.start(['true'], signal())).rejects.toThrow('transport closed');
  });

  it('says when the container does not exist', async () => {
    const error = await rejection(DockerTransport.connect({ container: 'mt-missing-container', environment: { DOCKER_HOST: docker.dockerHost } }, { logger: silentLogger }, signal()));
    expect(error.code).toBe('MUTAGEN_TRANSPORT');
    expect(error.message).toContain('container does not exist');
    expect(error.message).toContain('mt-missing-container');
  });

  it('says when the container is stopped, ends running processes, and connects again once restarted', async () => {
    const container = await containers.start(docker.images.node);
    const transport = await connect(container);
    const running = await transport.start(['cat'], signal());
    running.stdin.write('ping\n');
    // Wait until cat runs: a stop racing the exec start is a different failure (exit 126).
    const echoed = await new Promise<unknown>((resolve) => running.stdout.once('data', resolve));
    expect(String(echoed)).toBe('ping\n');
    await container.stop();
    const ended = await output(running);
    expect(ended.code === null || ended.code >= 128, JSON.stringify(ended)).toBe(true);
    const error = await rejection(connect(container));
    expect(error.code).toBe('MUTAGEN_TRANSPORT');
    expect(error.message).toContain('container not running');
    const startError = await rejection(transport.start(['true'], signal()));
    expect(startError.message).toContain('container not running');
    await container.start();
    const again = await connect(container);
    expect((await output(await again.start(['sh', '-c', 'echo back'], signal()))).stdout).toBe('back\n');
  });

  it('names the engine address when the engine is unreachable', async () => {
    const error = await rejection(DockerTransport.connect({ container: 'any', environment: { DOCKER_HOST: 'unix:///tmp/mt-no-engine.sock' } }, { logger: silentLogger }, signal()));
    expect(error.code).toBe('MUTAGEN_TRANSPORT');
    expect(error.message).toContain('unable to reach the docker engine at unix:///tmp/mt-no-engine.sock');
    expect(error.message).toContain('ENOENT');
  });

  it('honours a captured DOCKER_CONTEXT through DOCKER_CONFIG', async () => {
    const container = await containers.start(docker.images.node);
    const { mkdtemp, mkdir, writeFile, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const { contextDigest } = await import('../../../src/agent/transport/docker/environment.js');
    const config = await mkdtemp(path.join(os.tmpdir(), 'mt-docker-config-'));
    try {
      const meta = path.join(config, 'contexts', 'meta', contextDigest('tests'));
      await mkdir(meta, { recursive: true });
      await writeFile(path.join(meta, 'meta.json'), JSON.stringify({ Name: 'tests', Metadata: {}, Endpoints: { docker: { Host: docker.dockerHost, SkipTLSVerify: false } } }));
      await writeFile(path.join(config, 'config.json'), JSON.stringify({ currentContext: 'tests' }));
      const viaCurrent = await DockerTransport.connect({ container: container.name, environment: { DOCKER_CONFIG: config } }, { logger: silentLogger }, signal());
      expect(viaCurrent.user.home).toBe('/root');
      const unknown = await rejection(DockerTransport.connect({ container: container.name, environment: { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'other' } }, { logger: silentLogger }, signal()));
      expect(unknown.message).toContain('docker context "other" does not exist');
    } finally {
      await rm(config, { recursive: true, force: true });
    }
  });

  it('rejects with MUTAGEN_CANCELLED when aborted', async () => {
    const container = await containers.start(docker.images.node);
    const error = await rejection(DockerTransport.connect({ container: container.name, environment: container.environment }, { logger: silentLogger }, AbortSignal.abort()));
    expect(error.code).toBe('MUTAGEN_CANCELLED');
  });
});
