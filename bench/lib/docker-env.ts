/**
 * A Docker engine and a node-capable image for the benches, from test/setup/docker.ts: it reuses
 * an engine that answers at DOCKER_HOST (or /var/run/docker.sock) or spawns a private dockerd
 * (root), and imports images built from host binaries (no registry). close() undoes only what
 * this run did: a spawned dockerd is stopped (its data root, images included, is deleted); on a
 * reused engine the images this run imported are removed, images that were there are kept.
 */
import Docker from 'dockerode';
import { setup as dockerSetup } from '../../test/setup/docker.js';
import { runGlobalSetup } from './global-setup.js';
import { progress } from './report.js';

const IMAGE_REPOSITORY_PREFIX = 'mutagen-ts-test/';

export interface BenchDocker {
  /** `unix:///…/docker.sock`: DOCKER_HOST for the docker CLI and for mutagen URLs. */
  readonly host: string;
  readonly docker: Docker;
  /** The `node` test image (node + sh + coreutils). */
  readonly image: string;
  readonly reusedEngine: boolean;
  close(): Promise<void>;
}

function client(host: string): Docker {
  return new Docker({ socketPath: host.slice('unix://'.length), host: undefined, port: undefined, protocol: 'http' });
}

async function testImages(docker: Docker): Promise<Set<string>> {
  const images = await docker.listImages().catch(() => []);
  return new Set(images.flatMap((image) => image.RepoTags ?? []).filter((tag) => tag.startsWith(IMAGE_REPOSITORY_PREFIX)));
}

export async function startDocker(): Promise<BenchDocker> {
  const outer = process.env['DOCKER_HOST'] ?? 'unix:///var/run/docker.sock';
  const before = outer.startsWith('unix://') ? await testImages(client(outer)) : new Set<string>();
  const { provided, teardown } = await runGlobalSetup(dockerSetup);
  const environment = provided.docker;
  if (environment === undefined) {
    await teardown();
    throw new Error('test/setup/docker.ts provided no docker environment');
  }
  if (!environment.available) {
    await teardown();
    throw new Error(environment.reason);
  }
  const host = environment.dockerHost;
  const docker = client(host);
  const reusedEngine = host === outer;
  let closed: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    if (!reusedEngine) {
      await teardown();
      return;
    }
    for (const tag of await testImages(docker)) {
      if (before.has(tag)) continue;
      await docker.getImage(tag).remove().then(
        () => progress(`removed image ${tag}`),
        (error: unknown) => progress(`kept image ${tag}: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
  };
  return { host, docker, image: environment.images.node.name, reusedEngine, close: () => (closed ??= close()) };
}
