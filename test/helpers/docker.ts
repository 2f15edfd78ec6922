import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { afterAll, afterEach, describe, inject, it } from 'vitest';
import type { DockerTestEnvironment, DockerTestImage } from '../setup/docker.js';

/**
 * Containers for tests against the engine of test/setup/docker.ts (which must be a globalSetup
 * of the project). Containers run with no network, a random name and the test label; every one
 * started through useContainers() is removed (forced) after each test.
 */
export type AvailableDocker = Extract<DockerTestEnvironment, { available: true }>;

export function dockerTestEnvironment(): DockerTestEnvironment {
  return inject('docker');
}

/**
 * describe() when the test engine is available; otherwise a skipped suite whose one test names
 * the reason (the setup itself fails under CI=true, so this never skips silently in CI).
 */
export function describeDocker(name: string, body: (environment: AvailableDocker) => void): void {
  const environment = dockerTestEnvironment();
  if (environment.available) {
    describe(name, () => body(environment));
  } else {
    describe.skip(name, () => {
      it(environment.reason, () => undefined);
    });
  }
}

/** A dockerode client for the test engine (test-side only: sources get theirs from the transport). */
export function testDockerClient(environment: AvailableDocker): Docker {
  return new Docker({ socketPath: environment.dockerHost.slice('unix://'.length), host: undefined, port: undefined, protocol: 'http' });
}

export interface TestContainer {
  readonly name: string;
  readonly id: string;
  readonly container: Docker.Container;
  /** The captured environment a URL for this container would carry. */
  readonly environment: Readonly<Record<string, string>>;
  /** Kills PID 1 at once (no grace period) and waits until the engine reports it stopped. */
  stop(): Promise<void>;
  start(): Promise<void>;
  remove(): Promise<void>;
  /** Runs argv (as root unless `user`) and returns stdout; throws on a non-zero exit. */
  run(argv: readonly string[], options?: { readonly user?: string }): Promise<string>;
  /** A file's bytes (needs `cat` in the image). */
  readFile(path: string): Promise<Buffer>;
}

export interface StartOptions {
  /** The container's default user (`--user`). */
  readonly user?: string;
  /** Bind mounts (`host:container`), e.g. a temp tree shared with the host at the same path. */
  readonly binds?: readonly string[];
}

async function runIn(container: Docker.Container, argv: readonly string[], user: string): Promise<Buffer> {
  const exec = await container.exec({ Cmd: [...argv], User: user, AttachStdout: true, AttachStderr: true, Tty: false });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const stdout: Buffer[] = [];
  let stderr = '';
  for (let offset = 0; offset + 8 <= raw.length;) {
    const length = raw.readUInt32BE(offset + 4);
    const payload = raw.subarray(offset + 8, offset + 8 + length);
    if (raw[offset] === 2) stderr += payload.toString('utf8');
    else stdout.push(payload);
    offset += 8 + length;
  }
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) throw new Error(`${argv.join(' ')} exited ${ExitCode}: ${stderr}${Buffer.concat(stdout).toString('utf8')}`);
  return Buffer.concat(stdout);
}

/** Registers cleanup hooks; call at the top of a describe block. */
export function useContainers(environment: AvailableDocker): { start(image: DockerTestImage, options?: StartOptions): Promise<TestContainer> } {
  const docker = testDockerClient(environment);
  const started: TestContainer[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((container) => container.remove()));
  });
  afterAll(async () => {
    await Promise.all(started.splice(0).map((container) => container.remove()));
  });
  return {
    async start(image, options = {}) {
      const name = `mt-${randomBytes(6).toString('hex')}`;
      const container = await docker.createContainer({
        name,
        Image: image.name,
        Cmd: [...image.keepAlive],
        Labels: { [environment.label]: '1' },
        ...(options.user === undefined ? {} : { User: options.user }),
        HostConfig: { NetworkMode: 'none', ...(options.binds === undefined ? {} : { Binds: [...options.binds] }) },
      });
      const handle: TestContainer = {
        name,
        id: container.id,
        container,
        environment: { DOCKER_HOST: environment.dockerHost },
        stop: async () => {
          await container.stop({ t: 0 }).catch((error: unknown) => {
            if ((error as { statusCode?: number }).statusCode !== 304) throw error;
          });
          await container.wait({ condition: 'not-running' });
        },
        start: async () => { await container.start(); },
        remove: async () => {
          await container.remove({ force: true }).catch((error: unknown) => {
            if ((error as { statusCode?: number }).statusCode !== 404) throw error;
          });
        },
        run: async (argv, runOptions = {}) => (await runIn(container, argv, runOptions.user ?? '0')).toString('utf8'),
        readFile: (file) => runIn(container, ['cat', file], '0'),
      };
      started.push(handle);
      await container.start();
      return handle;
    },
  };
}
