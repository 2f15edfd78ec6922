import { expect, it } from 'vitest';
import { silentLogger } from '../../../src/base/logger.js';
import { DockerTransport } from '../../../src/agent/transport/docker/transport.js';
import { describeDocker, useContainers } from '../../helpers/docker.js';

/** The test engine is reached over a unix socket: a local link (default wire compression none). */
describeDocker('DockerTransport.local against the test engine', (docker) => {
  const containers = useContainers(docker);

  it('is true for an engine on a unix socket', async () => {
    const container = await containers.start(docker.images.node);
    expect(container.environment['DOCKER_HOST']).toMatch(/^unix:\/\//);
    const transport = await DockerTransport.connect({ container: container.name, environment: container.environment }, { logger: silentLogger }, AbortSignal.timeout(60_000));
    try {
      expect(transport.local).toBe(true);
    } finally {
      await transport.close();
    }
  });
});
